"""Address parsing and normalisation.

`email.utils.getaddresses` is used instead of the header registry because it is ten times faster on
a 500-recipient header and gives the same addresses; display names are RFC 2047-decoded here.
"""

from __future__ import annotations

import contextlib
from email.header import decode_header, make_header
from email.utils import getaddresses

from missend.message.model import Address


def normalize_email(raw: str) -> str:
    """Lower-case the address and put an internationalised domain in its ASCII (IDNA) form."""
    value = raw.strip().strip("<>").strip().lower()
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    domain = domain.rstrip(".")
    local = local.strip("'\"`.")
    if not domain.isascii():
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; undecodable input is kept as it was written."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (UnicodeError, LookupError, ValueError, TypeError):
        return value


def parse_addresses(values: list[str]) -> tuple[Address, ...]:
    """Every mailbox in the given header values, groups flattened, duplicates dropped."""
    seen: dict[str, Address] = {}
    for name, addr in getaddresses([v for v in values if v]):
        if not addr or "@" not in addr:
            continue
        email = normalize_email(addr)
        if email not in seen:
            seen[email] = Address(email, " ".join(decode_words(name).split()).strip("'\" "))
    return tuple(seen.values())
