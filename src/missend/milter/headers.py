"""The message as the MTA handed it over, and the header edits that turn it into what was decided.

A milter never sends the message back: it names header changes (by field name and occurrence), and
the MTA applies them to its own copy. So the decided bytes are compared field by field with what the
MTA passed, and only the address fields that differ become `chgheader`/`addheader` calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ADDRESS_FIELDS = ("to", "cc", "bcc")
VERDICT_HEADER = "X-Missend-Verdict"


@dataclass(frozen=True, slots=True)
class HeaderEdit:
    """One milter header action: `index` 0 adds a field; otherwise it changes that occurrence
    (1-based, counted among fields of this name), and an empty value deletes it."""

    name: str
    index: int
    value: str


def rebuild(headers: Iterable[tuple[str, bytes]], body: bytes) -> bytes:
    """Header fields as received (folded values keep their line breaks) plus the body, CRLF ends."""
    lines = [
        name.encode("ascii", "replace")
        + b": "
        + value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        + b"\r\n"
        for name, value in headers
    ]
    return b"".join(lines) + b"\r\n" + body


def split_fields(raw: bytes) -> list[tuple[str, bytes]]:
    """(name, folded value) for each header field, up to the first empty line."""
    fields: list[tuple[str, bytes]] = []
    for line in raw.splitlines():
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\n" + line)
            continue
        label, sep, rest = line.partition(b":")
        if sep:
            fields.append((label.strip().decode("ascii", "replace"), rest.lstrip(b" \t")))
    return fields


def milter_value(value: bytes) -> str:
    """A field value as a milter passes it: folded with a bare LF (the MTA adds the CR)."""
    return value.replace(b"\r", b"").decode("utf-8", "replace")


def _unfolded(value: bytes) -> bytes:
    return b" ".join(value.replace(b"\r", b"").replace(b"\n", b" ").split())


def _by_name(fields: Sequence[tuple[str, bytes]], names: Iterable[str]) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {n: [] for n in names}
    for name, value in fields:
        key = name.lower()
        if key in found:
            found[key].append(value)
    return found


def _spelling(fields: Sequence[tuple[str, bytes]], key: str, default: str) -> str:
    return next((name for name, _ in fields if name.lower() == key), default)


def address_edits(received: Sequence[tuple[str, bytes]], decided: bytes) -> list[HeaderEdit]:
    """The edits that make the received To/Cc/Bcc fields read as in the decided message.

    Changes come first, then deletions from the last occurrence up, so earlier indexes stay valid
    whether or not the MTA renumbers after a deletion.
    """
    before = _by_name(received, ADDRESS_FIELDS)
    after_fields = split_fields(decided)
    after = _by_name(after_fields, ADDRESS_FIELDS)
    edits: list[HeaderEdit] = []
    deletions: list[HeaderEdit] = []
    for key in ADDRESS_FIELDS:
        old, new = before[key], after[key]
        if [_unfolded(v) for v in old] == [_unfolded(v) for v in new]:
            continue
        name = _spelling(received, key, _spelling(after_fields, key, key.capitalize()))
        for i, value in enumerate(new):
            edits.append(HeaderEdit(name, i + 1 if i < len(old) else 0, milter_value(value)))
        deletions.extend(HeaderEdit(name, i, "") for i in range(len(old), len(new), -1))
    return edits + deletions


def verdict_edits(received: Sequence[tuple[str, bytes]], value: str) -> list[HeaderEdit]:
    """Replace any verdict header the client wrote (it must not vouch for itself) with ours."""
    count = sum(1 for name, _ in received if name.lower() == VERDICT_HEADER.lower())
    edits = [HeaderEdit(VERDICT_HEADER, i, "") for i in range(count, 0, -1)]
    edits.append(HeaderEdit(VERDICT_HEADER, 0, value))
    return edits
