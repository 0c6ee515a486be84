"""Zip access that a hostile archive cannot use to exhaust memory or time.

Before `zipfile` builds its member list, the end-of-central-directory record is read to refuse
archives with absurd member counts. Each member is checked against its declared size and
compression ratio, then read in bounded chunks that are counted as they come, so a header that
lies about the size stops at the budget instead of at the end of memory.
"""

from __future__ import annotations

import io
import lzma
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

from missend.message.readers.budget import Budget, Unreadable, size_text

MAX_ENTRIES = 20_000
CHUNK = 64 * 1024
RATIO_FLOOR = 1024 * 1024
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)


def is_zip(head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", _EOCD))


def _entry_count(payload: bytes) -> int | None:
    """Members the archive declares, from the (zip64) end record; None when there is none."""
    pos = payload.rfind(_EOCD, max(0, len(payload) - 22 - 65535))
    if pos < 0 or pos + 22 > len(payload):
        return None
    entries = struct.unpack_from("<H", payload, pos + 10)[0]
    if entries != 0xFFFF:
        return int(entries)
    locator = pos - 20
    if locator < 0 or payload[locator : locator + 4] != _EOCD64_LOCATOR:
        return None
    offset = struct.unpack_from("<Q", payload, locator + 8)[0]
    if offset + 56 > len(payload) or payload[offset : offset + 4] != _EOCD64:
        return None
    return int(struct.unpack_from("<Q", payload, offset + 32)[0])


class BoundedStream(io.RawIOBase):
    """A member's bytes, counted against the budget and its declared size as they are read."""

    def __init__(self, raw: IO[bytes], info: zipfile.ZipInfo, budget: Budget) -> None:
        super().__init__()
        self._raw = raw
        self._left = info.file_size
        self._budget = budget
        self._name = info.filename

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        self._budget.check_time()
        want = CHUNK if size is None or size < 0 else min(size, CHUNK)
        try:
            data = self._raw.read(want)
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as exc:
            raise Unreadable(f"is damaged ({_plain(exc)})") from exc
        self._left -= len(data)
        if self._left < 0:
            raise Unreadable(
                f"{self._name} holds more data than its header says (damaged or a zip bomb)"
            )
        self._budget.inflate(len(data))
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


class SafeZip:
    """An archive opened from bytes, with members read only through the budget."""

    def __init__(self, payload: bytes, budget: Budget) -> None:
        self.budget = budget
        count = _entry_count(payload)
        if count is not None and count > MAX_ENTRIES:
            raise Unreadable(f"holds {count} files, too many to inspect")
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(payload))
            self.members = [i for i in self._zip.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, struct.error, ValueError) as exc:
            raise Unreadable(f"is damaged or incomplete ({_plain(exc)})") from exc
        self._by_name = {i.filename: i for i in self.members}

    def get(self, name: str) -> zipfile.ZipInfo | None:
        return self._by_name.get(name)

    def check(self, info: zipfile.ZipInfo, reading: bool = True) -> None:
        """Refuse a member when its header alone shows it is unsafe; `reading` also checks budget."""
        if info.flag_bits & 0x1:
            raise Unreadable("is password-protected")
        if info.compress_type not in _METHODS:
            raise Unreadable("uses a compression method that cannot be read")
        limits = self.budget.limits
        if info.file_size > limits.max_inflated_bytes:
            raise Unreadable(
                f"unpacks to {size_text(info.file_size)}, more than the "
                f"{size_text(limits.max_inflated_bytes)} allowed (a possible zip bomb)"
            )
        if reading and info.file_size > self.budget.inflate_left:
            raise self.budget.over_budget()
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > limits.max_compression_ratio:
            raise Unreadable(
                f"is compressed {ratio:.0f} times over (a possible zip bomb), so it was not opened"
            )

    def stream(self, info: zipfile.ZipInfo) -> BoundedStream:
        self.check(info)
        try:
            return BoundedStream(self._zip.open(info), info, self.budget)
        except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError) as exc:
            raise Unreadable(f"is damaged ({_plain(exc)})") from exc

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """The whole member, for formats that need random access; size was checked first."""
        with self.stream(info) as stream:
            return b"".join(iter(lambda: stream.read(CHUNK), b""))

    def __iter__(self) -> Iterator[zipfile.ZipInfo]:
        return iter(self.members)


def _plain(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]
