"""The bounds one attachment is read within: time, inflated bytes and text, shared by every reader.

A nested archive spends from the same budget as its parent, so nesting cannot multiply the limits.
Readers stop by raising: `TextFull` when enough text was collected (not a failure) and
`Unreadable` with a plain reason when the file cannot, or must not, be read further.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from missend.message.limits import Limits


class Unreadable(Exception):
    """The file could not be read; the message is a plain reason shown to the sender."""


class OutOfTime(Unreadable):
    """The time budget ran out; unlike other failures it ends the whole attachment."""


class OverBudget(Unreadable):
    """The archive as a whole unpacks to more than allowed; reading it stops."""


class TextFull(Exception):
    """Enough text was collected; reading stops and what was read is kept."""


def size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    return f"{max(n, 1) / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


class Budget:
    """Collects text, row counts and partial-failure notes while enforcing the limits."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._deadline = clock() + limits.attachment_seconds
        self.inflate_left = limits.max_inflated_bytes
        self._parts: list[str] = []
        self._chars = 0
        self.truncated = False
        self.records: int | None = None
        self.notes: list[str] = []

    def check_time(self) -> None:
        """Stop when time is up: quietly if the text is already full (only counting rows)."""
        if self._clock() > self._deadline:
            if self.full:
                raise TextFull
            raise OutOfTime(
                f"took longer than {self.limits.attachment_seconds:g} s to read, "
                "so only part of it was checked"
            )

    def add(self, text: str) -> None:
        if not text:
            return
        room = self.limits.max_text_chars - self._chars
        if len(text) >= room:
            self._parts.append(text[:room])
            self._chars += room
            self.truncated = True
            raise TextFull
        self._parts.append(text)
        self._chars += len(text)

    def offer(self, text: str) -> None:
        """Add text if there is room; row readers keep counting records after the text is full."""
        if not self.full:
            with contextlib.suppress(TextFull):
                self.add(text)

    @property
    def full(self) -> bool:
        return self._chars >= self.limits.max_text_chars

    def add_records(self, n: int) -> None:
        self.records = (self.records or 0) + n

    def inflate(self, n: int) -> None:
        """Charge `n` unpacked bytes; past the limit the archive is treated as a zip bomb."""
        self.inflate_left -= n
        if self.inflate_left < 0:
            raise self.over_budget()

    def over_budget(self) -> OverBudget:
        return OverBudget(
            f"unpacks to more than {size_text(self.limits.max_inflated_bytes)} in all "
            "(a possible zip bomb), so only part of it was checked"
        )

    def note(self, reason: str) -> None:
        if reason not in self.notes:
            self.notes.append(reason)

    @property
    def text(self) -> str:
        return "".join(self._parts)
