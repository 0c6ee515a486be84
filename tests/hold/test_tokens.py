"""Notice links: signed, bound to one message and one action, and expiring."""

from __future__ import annotations

import pytest

from missend.hold.tokens import TokenError, sign, verify

SECRET = b"0123456789abcdef0123456789abcdef"


def test_a_token_grants_its_action_on_its_message() -> None:
    grant = verify(SECRET, sign(SECRET, "abc", "release", 60), "release")
    assert grant.hold_id == "abc"


def test_a_token_for_cancel_cannot_release() -> None:
    with pytest.raises(TokenError, match="cancel"):
        verify(SECRET, sign(SECRET, "abc", "cancel", 60), "release")


def test_expired_tokens_are_refused() -> None:
    token = sign(SECRET, "abc", "release", 60, at=1000.0)
    with pytest.raises(TokenError, match="expired"):
        verify(SECRET, token, "release", at=1061.0)


@pytest.mark.parametrize(
    "mangle",
    [lambda t: t[:-2] + "AA", lambda t: "x" + t, lambda t: t.replace(".", ""), lambda t: ""],
)
def test_forged_or_broken_tokens_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TokenError):
        verify(SECRET, mangle(sign(SECRET, "abc", "release", 60)), "release")


def test_another_secret_does_not_verify() -> None:
    with pytest.raises(TokenError, match="signature"):
        verify(b"another secret of enough length", sign(SECRET, "abc", "release", 60))
