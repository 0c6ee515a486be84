"""Plain text, CSV/TSV and HTML attachments.

Text is decoded incrementally from the bytes so a large file is never held twice as a string;
CSV rows are counted past the text limit so `records` stays right for a large export.
"""

from __future__ import annotations

import codecs
import csv
import io

from missend.message.readers.budget import Budget, TextFull, Unreadable
from missend.message.text import html_to_text

_SNIFF = 64 * 1024
_DELIMITERS = (",", ";", "\t", "|")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def encoding_of(payload: bytes) -> str:
    """UTF-8 (or a BOM's encoding) when the start decodes as such, else Windows-1252."""
    for bom, name in _BOMS:
        if payload.startswith(bom):
            return name
    try:
        codecs.getincrementaldecoder("utf-8")().decode(payload[:_SNIFF], final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def looks_binary(payload: bytes) -> bool:
    """NUL bytes in the start of a file that has no UTF-16 mark mean it is not text."""
    head = payload[:8192]
    if any(head.startswith(bom) for bom, _ in _BOMS[1:]):
        return False
    return b"\x00" in head


def looks_textual(payload: bytes) -> bool:
    """For files of unknown type: valid UTF-8 and almost all printable, so worth reading."""
    head = payload[:8192]
    if not head or looks_binary(head):
        return False
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    return printable >= 0.95 * len(text)


def _stream(payload: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.BytesIO(payload), encoding=encoding_of(payload), errors="replace", newline=""
    )


def _require_text(payload: bytes, what: str) -> None:
    if looks_binary(payload):
        raise Unreadable(f"is labelled as {what} but holds binary data")


def read_text(payload: bytes, budget: Budget) -> None:
    _require_text(payload, "text")
    stream = _stream(payload)
    while chunk := stream.read(256 * 1024):
        budget.check_time()
        budget.add(chunk)


def read_html(payload: bytes, budget: Budget) -> None:
    _require_text(payload, "HTML")
    cap = budget.limits.max_text_chars * 4
    markup = _stream(payload).read(cap + 1)
    if len(markup) > cap:
        budget.truncated = True
    budget.add(html_to_text(markup[:cap]))


def _delimiter(first_line: str, tsv: bool) -> str:
    if tsv:
        return "\t"
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(payload: bytes, budget: Budget, tsv: bool = False) -> None:
    _require_text(payload, "CSV")
    stream = _stream(payload)
    first = stream.readline()[:_SNIFF]
    stream.seek(0)
    max_rows = budget.limits.max_rows
    rows = 0
    try:
        for row in csv.reader(stream, delimiter=_delimiter(first, tsv)):
            if rows % 1000 == 0:
                budget.check_time()
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            if rows > max_rows:
                budget.note(f"only the first {max_rows} rows were checked")
                rows -= 1
                break
            budget.offer("\t".join(row) + "\n")
    except csv.Error as exc:
        budget.note(f"malformed CSV ({str(exc)[:80]})")
    except TextFull:
        pass
    finally:
        budget.add_records(max(rows - 1, 0))


def decode_text(payload: bytes, declared: str | None) -> tuple[str, str | None]:
    """Text of a body part, and a plain reason when it may have been misread.

    A wrong label is common and harmless when the bytes are valid UTF-8 or Windows-1252, so
    those are tried before giving up; a reason is given only when the words may be garbled.
    """
    if declared:
        try:
            return payload.decode(declared), None
        except LookupError:
            if payload.isascii():
                return payload.decode("ascii"), None
        except UnicodeDecodeError:
            pass
    if looks_binary(payload):
        return "", "text part holds binary data, not text"
    for bom, name in _BOMS:
        if payload.startswith(bom):
            return payload.decode(name, errors="replace"), None
    for fallback in ("utf-8", "cp1252"):
        try:
            text = payload.decode(fallback)
        except UnicodeDecodeError:
            continue
        if declared and fallback == "cp1252" and not _known(declared):
            return text, f"text in an unknown character set ({declared[:40]}) may be misread"
        return text, None
    return payload.decode("utf-8", errors="replace"), "text has bytes that could not be decoded"


def _known(charset: str) -> bool:
    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return True
