"""Address parsing and normalisation.

`email.utils.getaddresses` is used instead of the header registry because it is ten times faster on
a 500-recipient header and gives the same addresses; display names are RFC 2047-decoded here.
Most headers are plain lists of `Name <local@domain>` or `local@domain`, which a regex reads
the same way in a tenth of the time; anything else goes to `getaddresses`.
"""

from __future__ import annotations

import contextlib
import re
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


_WS = "[ \t\r\n]"
_WORD = r"[^\s()<>@,:;\"\[\]\\]++"
_ADDR = f"{_WORD}@{_WORD}"
_MAILBOX = re.compile(
    f"{_WS}*+(?:(?:({_WORD}(?:{_WS}++{_WORD})*+){_WS}*+)?+<({_ADDR})>|({_ADDR})){_WS}*+"
)
"""One mailbox between commas, in the subset of `email._parseaddr`'s grammar where it returns
exactly the words and the address as written (dots included, even doubled as in Enron's
`k..allen@enron.com`): no quotes, comments, groups, routes, escapes or empty items. Its
whitespace is the parser's (space, tab, CR, LF), never Unicode's. Every quantifier is
possessive: no class can match what follows it, so giving characters back never finds another
reading, and the regex reads a typical address three times faster."""


def _plain_pairs(values: list[str]) -> list[tuple[str, str]] | None:
    """`getaddresses(values)` when every item is a plain mailbox, else None."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        for item in value.split(","):
            m = _MAILBOX.fullmatch(item)
            if m is None:
                return None
            name, bracketed, bare = m.groups()
            pairs.append((" ".join((name or "").split()), bracketed) if bracketed else ("", bare))
    return pairs


def parse_addresses(values: list[str]) -> tuple[Address, ...]:
    """Every mailbox in the given header values, groups flattened, duplicates dropped."""
    present = [v for v in values if v]
    if not present:
        return ()
    seen: dict[str, Address] = {}
    pairs = _plain_pairs(present)
    for name, addr in getaddresses(present) if pairs is None else pairs:
        if not addr or "@" not in addr:
            continue
        email = normalize_email(addr)
        if email not in seen:
            shown = " ".join(decode_words(name).split()).strip("'\" ") if name else ""
            seen[email] = Address(email, shown)
    return tuple(seen.values())
