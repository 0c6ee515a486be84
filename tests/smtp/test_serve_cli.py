"""`missend serve smtp` refuses to start on a bad configuration and says what is wrong."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from missend.cli.app import app
from missend.smtp.auth import verify_password

runner = CliRunner()


def serve(tmp_path: Path, *args: str) -> tuple[int, str]:
    db = f"sqlite:///{tmp_path / 'relay.db'}"
    result = runner.invoke(app, ["serve", "smtp", "--db", db, *args])
    return result.exit_code, result.output


def test_an_unknown_setting_stops_start_up_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "missend.toml"
    config.write_text("[smtp]\nmax_recipents = 10\n")
    code, out = serve(tmp_path, "--config", str(config))
    assert code == 3
    assert "smtp.max_recipents: unknown setting" in out


def test_a_policy_file_is_accepted_as_the_configuration(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[actions.exposed-recipients]\nhigh = "blok"\n')
    code, out = serve(tmp_path, "--policy", str(policy))
    assert code == 3
    assert "blok" in out


def test_bad_addresses_and_passwords_without_tls_stop_start_up(tmp_path: Path) -> None:
    assert serve(tmp_path, "--listen", "127.0.0.1:smtp")[1].count("is not HOST:PORT") == 1
    assert "port out of range" in serve(tmp_path, "--upstream", "127.0.0.1:70000")[1]
    users = tmp_path / "users"
    users.write_text("")
    config = tmp_path / "auth.toml"
    config.write_text(f'[smtp]\nauth_file = "{users}"\n')
    code, out = serve(tmp_path, "--config", str(config))
    assert code == 3
    assert "passwords only travel over TLS" in out


def test_a_port_already_taken_is_reported(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out = serve(tmp_path, "--listen", f"127.0.0.1:{port}")
    assert code == 3
    assert "cannot listen on" in out


def test_smtp_password_prints_a_line_for_the_user_file() -> None:
    result = runner.invoke(app, ["serve", "smtp-password", "scanner"], input="pw1\npw1\n")
    assert result.exit_code == 0
    line = result.output.strip().splitlines()[-1]
    user, _, stored = line.partition(":")
    assert user == "scanner"
    assert verify_password(b"pw1", stored)
