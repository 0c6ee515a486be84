"""Text extraction from attachments, bounded in size and time.

Each reader returns the text it could get and says why when it could not get all of it; a reader
never raises to its caller, because an unreadable attachment is a finding, not a crash.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from missend.message.limits import Limits
from missend.message.text import html_to_text


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str = ""
    records: int | None = None
    truncated: bool = False
    error: str | None = None


def _decode(payload: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return payload.decode(encoding)
        except UnicodeDecodeError:
            continue
    return payload.decode("latin-1")


def _csv(payload: bytes, limits: Limits) -> Extracted:
    text = _decode(payload[: limits.max_text_chars * 2])
    rows = 0
    out: list[str] = []
    size = 0
    try:
        for row in csv.reader(io.StringIO(text)):
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            line = "\t".join(row)
            size += len(line) + 1
            if size > limits.max_text_chars or rows > limits.max_rows:
                return Extracted("\n".join(out), max(rows - 2, 0), truncated=True)
            out.append(line)
    except csv.Error as exc:
        return Extracted("\n".join(out), max(rows - 1, 0), error=f"malformed CSV ({exc})")
    return Extracted("\n".join(out), max(rows - 1, 0))


def extract(filename: str, content_type: str, payload: bytes, limits: Limits) -> Extracted:
    """The text of one attachment; the file type is judged by name first, then by MIME type."""
    name = filename.lower()
    ctype = content_type.lower()
    try:
        if name.endswith((".csv", ".tsv")) or ctype in ("text/csv", "text/tab-separated-values"):
            return _csv(payload, limits)
        if name.endswith((".htm", ".html")) or ctype == "text/html":
            text = html_to_text(_decode(payload))
            return Extracted(
                text[: limits.max_text_chars], truncated=len(text) > limits.max_text_chars
            )
        if name.endswith((".txt", ".text", ".log", ".eml")) or ctype.startswith("text/"):
            text = _decode(payload)
            return Extracted(
                text[: limits.max_text_chars], truncated=len(text) > limits.max_text_chars
            )
    except (MemoryError, RecursionError, ValueError) as exc:
        return Extracted(error=f"could not read ({type(exc).__name__})")
    return Extracted(error="file type not inspected")
