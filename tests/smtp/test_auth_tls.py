"""Who may relay: STARTTLS, then AUTH against a file of scrypt hashes; passwords never in clear."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from missend.config import Config, ConfigError, SmtpConfig
from missend.history.store import Store
from missend.smtp.auth import Authenticator, hash_password, load_users, verify_password
from missend.smtp.server import Relay
from missend.smtp.testing import SinkServer, crlf
from missend.testing import raw_message

GOV = "team@agency.example.gov.uk"
COLLEAGUE = "colleague@agency.example.gov.uk"
StartRelay = Callable[..., Any]


def secure_config(certificate: Any, tmp_path: Path, **smtp: Any) -> Config:
    users = tmp_path / "users"
    users.write_text(f"# relay users\nscanner:{hash_password('correct horse')}\n")
    return replace(
        Config(),
        smtp=SmtpConfig(
            tls_cert=certificate.cert, tls_key=certificate.key, auth_file=str(users), **smtp
        ),
    )


def test_a_hash_verifies_only_its_own_password() -> None:
    stored = hash_password("s3cret", n=2**10)
    assert verify_password(b"s3cret", stored)
    assert not verify_password(b"s3cret ", stored)
    assert stored != hash_password("s3cret", n=2**10)  # salted


def test_a_remembered_login_still_refuses_a_wrong_password() -> None:
    auth = Authenticator({"u": hash_password("right", n=2**10)})
    assert auth.check("u", b"right")
    assert auth.check("u", b"right")
    assert not auth.check("u", b"wrong")
    assert not auth.check("nobody", b"right")


def test_a_malformed_user_file_stops_start_up_naming_the_line(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text(f"a:{hash_password('x', n=2**10)}\nb:plaintext-password\n")
    with pytest.raises(ConfigError, match=r"users:2: expected user:\$scrypt"):
        load_users(users)


def test_login_after_starttls_lets_the_client_send(
    start_relay: StartRelay, sink: SinkServer, certificate: Any, tmp_path: Path
) -> None:
    relay = start_relay(secure_config(certificate, tmp_path, require_auth=True))
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as c:
        c.ehlo()
        assert c.has_extn("starttls")
        assert not c.has_extn("auth")  # no passwords over a plain connection
        c.starttls(context=certificate.client_context())
        c.ehlo()
        assert "PLAIN" in c.esmtp_features["auth"].upper()
        assert c.login("scanner", "correct horse")[0] == 235
        c.sendmail(GOV, [COLLEAGUE], crlf(raw_message(GOV, [COLLEAGUE])))
    assert len(sink.messages) == 1


def test_without_login_or_with_a_wrong_password_nothing_is_relayed(
    start_relay: StartRelay, sink: SinkServer, certificate: Any, tmp_path: Path
) -> None:
    relay = start_relay(secure_config(certificate, tmp_path, require_auth=True))
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as c:
        c.starttls(context=certificate.client_context())
        c.ehlo()
        assert c.mail(GOV)[0] == 530
        with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            c.login("scanner", "wrong horse")
        assert wrong.value.smtp_code == 535
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as c:
        c.ehlo()
        assert c.docmd("AUTH", "PLAIN AHNjYW5uZXIAY29ycmVjdCBob3JzZQ==")[0] == 538
    assert sink.messages == []


def test_required_tls_refuses_mail_before_starttls(
    start_relay: StartRelay, sink: SinkServer, certificate: Any, tmp_path: Path
) -> None:
    config = replace(
        Config(),
        smtp=SmtpConfig(tls_cert=certificate.cert, tls_key=certificate.key, require_tls=True),
    )
    relay = start_relay(config)
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as c:
        c.ehlo()
        assert c.mail(GOV)[0] == 530
        c.starttls(context=certificate.client_context())
        c.ehlo()
        c.sendmail(GOV, [COLLEAGUE], crlf(raw_message(GOV, [COLLEAGUE])))
    assert len(sink.messages) == 1


def test_a_user_file_without_tls_stops_start_up(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text(f"a:{hash_password('x', n=2**10)}\n")
    config = replace(Config(), smtp=SmtpConfig(auth_file=str(users)))
    with (
        Store.open(f"sqlite:///{tmp_path / 's.db'}") as store,
        pytest.raises(ConfigError, match="only travel over TLS"),
    ):
        Relay(config, store)
