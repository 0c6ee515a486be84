"""Raw messages out of mail archives: mbox (plain or gzip), Maildir, .eml files, or folders of them.

A file in a folder is one message if it is named .eml or if it begins like one (a header block
naming a sender, date or message id): MH folders and the Enron corpus keep one message per file
named "1", "2." and so on.

Everything streams: an mbox is split line by line as it is read and no more than one message is held
at a time, so archives far larger than memory can be learned. A message longer than `max_bytes` is
cut just past the limit, which the parser then treats as too large and reads for headers only.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from missend.message.limits import Limits

_GZIP_MAGIC = b"\x1f\x8b"
_SEPARATOR = b"From "
_ESCAPED = re.compile(rb">+From ")
_LINE_PIECE = 1 << 16
_READ = 1 << 20
_MAILDIR_SUBDIRS = ("cur", "new")
_HEAD = 4096
_FIELD = re.compile(rb"[!-9;-~]+:")
_TELLING = frozenset((b"from", b"date", b"message-id", b"received", b"return-path", b"sender"))


class ArchiveError(Exception):
    """An archive or one of its files could not be read."""


@dataclass(frozen=True, slots=True)
class _Source:
    path: Path
    mbox: bool
    compressed: bool


def _open(path: Path, compressed: bool) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if compressed else path.open("rb")


def _sniff(path: Path) -> tuple[bool, bytes]:
    """Whether the file is gzip, and the first bytes of its (decompressed) content."""
    try:
        with path.open("rb") as f:
            compressed = f.read(2) == _GZIP_MAGIC
        with _open(path, compressed) as f:
            return compressed, f.read(_HEAD)
    except (OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{path}: cannot be read ({exc})") from exc


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in _MAILDIR_SUBDIRS)


def _is_eml(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".eml", ".eml.gz"))


def looks_like_message(head: bytes) -> bool:
    """Whether these first bytes of a file are a message's header block: every line up to the
    first blank one (or the end of `head`) a field or its continuation, one of them a field only
    mail has. A README or a CSV fails on its first line."""
    lines = head.splitlines()
    if len(head) == _HEAD and not head.endswith((b"\n", b"\r")):
        lines = lines[:-1]
    telling = False
    for n, line in enumerate(lines):
        if not line.strip():
            return telling and n > 0
        if line[:1] in (b" ", b"\t") and n > 0:
            continue
        field = _FIELD.match(line)
        if field is None:
            return False
        telling = telling or line[: field.end() - 1].lower() in _TELLING
    return telling


def is_mbox(path: Path) -> bool:
    return path.is_file() and _sniff(path)[1].startswith(_SEPARATOR)


def _sources(path: Path, top: bool, visited: set[Path]) -> Iterator[_Source]:
    if path.is_dir():
        real = path.resolve()
        if real in visited:
            return
        visited.add(real)
        if _is_maildir(path):
            yield from _maildir(path, visited)
            return
        for child in sorted(path.iterdir()):
            if not child.name.startswith("."):
                yield from _sources(child, False, visited)
        return
    if not path.is_file():
        if top:
            raise ArchiveError(f"{path}: no such file or folder")
        return
    compressed, head = _sniff(path)
    if head.startswith(_SEPARATOR):
        yield _Source(path, True, compressed)
    elif top or _is_eml(path) or looks_like_message(head):
        yield _Source(path, False, compressed)


def _maildir(path: Path, visited: set[Path]) -> Iterator[_Source]:
    """Messages in cur/ and new/ (tmp/ holds deliveries in progress), then any subfolders.

    Maildir++ keeps its folders as hidden subdirectories (`.Sent`), so those are entered here.
    """
    for sub in _MAILDIR_SUBDIRS:
        for item in sorted((path / sub).iterdir()):
            if item.is_file() and not item.name.startswith("."):
                yield _Source(item, False, _sniff(item)[0])
    for child in sorted(path.iterdir()):
        if child.is_dir() and child.name not in (*_MAILDIR_SUBDIRS, "tmp"):
            yield from _sources(child, False, visited)


def _pieces(stream: io.BufferedIOBase) -> Iterator[tuple[bytes, bool]]:
    """Lines in bounded pieces, each with whether it starts a line."""
    at_start = True
    while piece := stream.readline(_LINE_PIECE):
        yield piece, at_start
        at_start = piece.endswith(b"\n")


def _finish(parts: list[bytes]) -> bytes:
    raw = b"".join(parts)
    if raw.endswith(b"\r\n\r\n"):
        return raw[:-2]
    if raw.endswith(b"\n\n"):
        return raw[:-1]
    return raw


def _mbox(stream: io.BufferedIOBase, max_bytes: int) -> Iterator[bytes]:
    """Split on `From ` separator lines and undo the `>From ` quoting of body lines (mboxrd)."""
    parts: list[bytes] = []
    size = 0
    started = False
    for piece, line_start in _pieces(stream):
        if line_start and piece.startswith(_SEPARATOR):
            if started:
                yield _finish(parts)
            parts, size, started = [], 0, True
            continue
        if not started or size > max_bytes:
            continue
        line = piece[1:] if line_start and _ESCAPED.match(piece) else piece
        parts.append(line)
        size += len(line)
    if started:
        yield _finish(parts)


def iter_archive(
    path: str | Path, max_bytes: int = Limits().max_message_bytes
) -> Iterator[tuple[str, bytes]]:
    """Every message under `path` as (where it came from, its raw bytes), in archive order."""
    for source in _sources(Path(path), True, set()):
        try:
            with _open(source.path, source.compressed) as stream:
                if not source.mbox:
                    yield str(source.path), stream.read(max_bytes + 1)
                    continue
                for index, raw in enumerate(_mbox(stream, max_bytes), 1):
                    yield f"{source.path}#{index}", raw
        except (OSError, EOFError, zlib.error) as exc:
            raise ArchiveError(f"{source.path}: cannot be read ({exc})") from exc


def _count_separators(stream: io.BufferedIOBase) -> int:
    count = 0
    tail = b"\n"
    while chunk := stream.read(_READ):
        data = tail + chunk
        count += data.count(b"\n" + _SEPARATOR)
        tail = data[-len(_SEPARATOR) :]
    return count


def count_messages(path: str | Path) -> int:
    """How many messages `iter_archive` will yield, without parsing any (for a progress bar)."""
    total = 0
    for source in _sources(Path(path), True, set()):
        if not source.mbox:
            total += 1
            continue
        try:
            with _open(source.path, source.compressed) as stream:
                total += _count_separators(stream)
        except (OSError, EOFError, zlib.error) as exc:
            raise ArchiveError(f"{source.path}: cannot be read ({exc})") from exc
    return total
