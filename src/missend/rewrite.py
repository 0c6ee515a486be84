"""Apply recipient fixes to the raw message, touching nothing but the address headers.

The stdlib generator would re-serialise the whole message (re-folding headers, re-encoding parts),
which can break signatures and changes what the sender wrote. Here the header block is split into
fields byte-for-byte and only To, Cc and Bcc are rebuilt; every other byte stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr

from missend.message.addresses import normalize_email, parse_addresses
from missend.message.model import Address

_ADDRESS_FIELDS = ("to", "cc", "bcc")
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")
UNDISCLOSED = "undisclosed-recipients:;"


@dataclass(frozen=True, slots=True)
class RecipientChange:
    """What to do to the visible recipients: move some to Bcc, remove some, replace some."""

    to_bcc: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()
    replace: Mapping[str, str] | None = None

    def is_empty(self) -> bool:
        return not (self.to_bcc or self.remove or self.replace)


def _split(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    """Header fields (each with its folded lines and line ending), the separator, and the body."""
    match = _END_OF_HEADERS.search(raw)
    if match:
        head, sep, body = raw[: match.start()], raw[match.start() : match.end()], raw[match.end() :]
    else:
        head, sep, body = raw, b"", b""
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    return fields, sep, body


def _name(field: bytes) -> str:
    return field.split(b":", 1)[0].strip().decode("ascii", "replace").lower()


def _value(field: bytes) -> str:
    return field.split(b":", 1)[1].decode("utf-8", "surrogateescape") if b":" in field else ""


def _format(address: Address) -> str:
    if not address.name:
        return address.email
    if address.name.isascii():
        return formataddr((address.name, address.email))
    return formataddr((Header(address.name, "utf-8").encode(), address.email))


def _fold(name: str, items: list[str], newline: bytes) -> bytes:
    """One header field, folded between addresses so no line exceeds 78 characters."""
    lines: list[str] = []
    line = f"{name}:"
    for i, item in enumerate(items):
        piece = f" {item}{',' if i < len(items) - 1 else ''}"
        if len(line) + len(piece) > 78 and line.strip() != f"{name}:":
            lines.append(line)
            line = piece
        else:
            line += piece
    lines.append(line)
    return newline.join(s.encode("utf-8", "surrogateescape") for s in lines) + newline


def rewrite_recipients(raw: bytes, change: RecipientChange, *, bcc_header: bool = True) -> bytes:
    """The message with the change applied to its address headers.

    With `bcc_header` (a draft the sender will send) moved recipients are listed in a Bcc field;
    without it (a message already in transit, whose envelope still carries them) they are only
    removed from the visible headers.
    """
    if change.is_empty():
        return raw
    fields, sep, body = _split(raw)
    newline = (
        b"\r\n" if (fields and fields[0].endswith(b"\r\n")) or sep.startswith(b"\r\n") else b"\n"
    )
    replace = {normalize_email(k): v for k, v in (change.replace or {}).items()}
    remove = {normalize_email(e) for e in change.remove}
    to_bcc = {normalize_email(e) for e in change.to_bcc}

    lists: dict[str, list[Address]] = {"to": [], "cc": [], "bcc": []}
    seen: set[str] = set()
    for field in fields:
        kind = _name(field)
        if kind not in _ADDRESS_FIELDS:
            continue
        for parsed in parse_addresses([_value(field)]):
            address = parsed
            if parsed.email in replace:
                address = Address(normalize_email(replace[parsed.email]), "")
            email = address.email
            if email in remove or email in seen:
                continue
            seen.add(email)
            target = "bcc" if email in to_bcc else kind
            lists[target].append(address)

    rebuilt_to = [UNDISCLOSED] if not lists["to"] else [_format(a) for a in lists["to"]]
    rebuilt: dict[str, bytes] = {
        "to": _fold("To", rebuilt_to, newline),
        "cc": _fold("Cc", [_format(a) for a in lists["cc"]], newline) if lists["cc"] else b"",
        "bcc": (
            _fold("Bcc", [_format(a) for a in lists["bcc"]], newline)
            if lists["bcc"] and bcc_header
            else b""
        ),
    }
    out: list[bytes] = []
    placed: set[str] = set()
    for field in fields:
        kind = _name(field)
        if kind not in _ADDRESS_FIELDS:
            out.append(field)
            continue
        if kind not in placed:
            placed.add(kind)
            out.append(rebuilt[kind])
    anchor = next((i for i, f in enumerate(out) if _name(f) == "to"), None)
    for kind in ("cc", "bcc", "to"):
        if kind not in placed and rebuilt[kind]:
            if anchor is None:
                out.append(rebuilt[kind])
            else:
                anchor += 1
                out.insert(anchor, rebuilt[kind])
    if out and not out[-1].endswith(b"\n"):
        out[-1] += newline
    head = b"".join(out)
    if not sep:
        return head
    return (head + sep[len(newline) :] if head.endswith(newline) else head + sep) + body


def bcc_change(recipients: Iterable[str]) -> RecipientChange:
    return RecipientChange(to_bcc=frozenset(recipients))
