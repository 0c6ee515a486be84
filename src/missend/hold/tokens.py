"""Signed, expiring links for sender notices: "release" or "cancel" one held message.

A token is `base64url(payload).base64url(hmac-sha256)`; the payload names the message, the action
and the expiry, so a token cannot be reused for another message or turned into another action.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

ACTIONS = ("release", "cancel", "view")


class TokenError(ValueError):
    """The token is malformed, forged, for another purpose, or expired."""


@dataclass(frozen=True, slots=True)
class Grant:
    hold_id: str
    action: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, b"missend-hold\x00" + payload, hashlib.sha256).digest()


def sign(
    secret: bytes, hold_id: str, action: str, ttl_seconds: int, at: float | None = None
) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if len(secret) < 16:
        raise ValueError("the signing secret must be at least 16 bytes")
    expires = int((at if at is not None else time.time()) + ttl_seconds)
    payload = json.dumps({"h": hold_id, "a": action, "e": expires}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def verify(secret: bytes, token: str, action: str | None = None, at: float | None = None) -> Grant:
    try:
        body, sig = token.split(".", 1)
        payload = _unb64(body)
        given = _unb64(sig)
    except (ValueError, TypeError) as exc:
        raise TokenError("malformed token") from exc
    if not hmac.compare_digest(_mac(secret, payload), given):
        raise TokenError("bad signature")
    try:
        data = json.loads(payload)
        grant = Grant(str(data["h"]), str(data["a"]), int(data["e"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("malformed token") from exc
    if action is not None and grant.action != action:
        raise TokenError(f"token is for {grant.action}, not {action}")
    if grant.expires < (at if at is not None else time.time()):
        raise TokenError("token expired")
    return grant
