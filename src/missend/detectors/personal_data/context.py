"""Context words near a match, or in the header of the column it sits in.

A bare 9-digit number means nothing; "Passport no: 123456789" or a column headed "Passport" does.
Windows are a fixed number of characters, so looking for context costs the same for any text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from missend.detectors.personal_data.categories import word_regex
from missend.detectors.personal_data.categories import words as tokens

MAX_HEADER_CHARS = 10_000
MAX_HEADER_CELLS = 500
MAX_LINE_LOOKBACK = 20_000


class ContextWords:
    """Words that make a weak match believable, matched whole and case-insensitively."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = tuple(words)
        self.regex: re.Pattern[str] = word_regex(self.words)
        self.phrases = tuple(frozenset(tokens(w).tokens) for w in self.words)
        self.prefixes = tuple(sorted({w.lower().split(" ", 1)[0] for w in self.words}))

    def may_occur(self, present: set[bytes] | frozenset[bytes]) -> bool:
        """False when no context word can be in a text with these words; cheap to ask."""
        return any(phrase <= present for phrase in self.phrases)

    def spans(self, text: str, lower: str | None) -> list[tuple[int, int]]:
        """Where the words occur. With the lower-cased text, plain substring search finds the
        candidates and the regex only confirms them, which is far cheaper than a full pass."""
        if lower is None:
            return [m.span() for m in self.regex.finditer(text)]
        found: dict[int, int] = {}
        for prefix in self.prefixes:
            at = lower.find(prefix)
            while at != -1:
                if at not in found and (m := self.regex.match(text, at)) is not None:
                    found[at] = m.end()
                at = lower.find(prefix, at + 1)
        return sorted(found.items())

    def first(self, text: str, start: int = 0, end: int | None = None) -> str | None:
        m = self.regex.search(text, start, len(text) if end is None else end)
        return " ".join(m.group().lower().split()) if m else None


class TextContext:
    """One text being scanned, with its table header when it looks like a table.

    Tables (tab-separated, as the attachment reader writes CSV) get two rules: context is looked
    for only on the match's own row, and a column header counts as context for its whole column.
    """

    def __init__(
        self,
        text: str,
        present: set[bytes] | frozenset[bytes] = frozenset(),
        min_score: float = 0.5,
    ) -> None:
        self.text = text
        self.present = present
        self.min_score = min_score
        self._lower: str | None = None
        self._windows: dict[int, list[tuple[int, int]]] = {}
        self._may: dict[int, bool] = {}
        newline = text.find("\n", 0, MAX_HEADER_CHARS)
        header = text[:newline] if newline != -1 else ""
        self.tabular = "\t" in header
        self.header_end = newline
        self.cells = header.split("\t", MAX_HEADER_CELLS)[:MAX_HEADER_CELLS] if self.tabular else []
        self._column_cache: dict[tuple[int, int], str | None] = {}
        self._spent: dict[str, int] = {}
        self.exhausted = False
        """Some expensive check ran out of its allowance: the counts are lower bounds."""
        self.memo: dict[tuple[str, str], tuple[tuple[int, int, str], ...]] = {}

    def spend(self, what: str, limit: int) -> bool:
        """Take one unit of an expensive step's allowance for this text; False once used up."""
        used = self._spent.get(what, 0)
        if used >= limit:
            self.exhausted = True
            return False
        self._spent[what] = used + 1
        return True

    @property
    def lower(self) -> str | None:
        """The text lower-cased, or None where that would move characters (a few non-ASCII
        letters lower-case to two characters)."""
        if self._lower is None:
            self._lower = self.text.lower()
        return self._lower if len(self._lower) == len(self.text) else None

    def may_occur(self, words: ContextWords) -> bool:
        """`words.may_occur` for this text, asked once per text."""
        key = id(words)
        known = self._may.get(key)
        if known is None:
            known = self._may[key] = words.may_occur(self.present)
        return known

    def header_names(self, words: ContextWords) -> bool:
        """Whether a table header cell is one of `words`, asked once per text."""
        key = -id(words)
        known = self._may.get(key)
        if known is None:
            known = self._may[key] = any(words.first(cell) for cell in self.cells)
        return known

    def occurrences(self, words: ContextWords) -> list[tuple[int, int]]:
        """Spans of `words` in the text, computed once per text."""
        key = id(words)
        if key not in self._windows:
            self._windows[key] = words.spans(self.text, self.lower)
        return self._windows[key]

    def near(
        self, words: ContextWords, start: int, end: int, before: int, after: int
    ) -> str | None:
        text = self.text
        lo = max(0, start - before)
        hi = min(len(text), end + after)
        if self.tabular:
            lo = text.rfind("\n", lo, start) + 1 or lo
            newline = text.find("\n", end, hi)
            if newline != -1:
                hi = newline
        return words.first(text, lo, hi)

    def column_index(self, start: int) -> int:
        """Which column of a table `start` is in; -1 outside tables (and in the header row)."""
        if not self.tabular or start <= self.header_end:
            return -1
        text = self.text
        line = text.rfind("\n", max(0, start - MAX_LINE_LOOKBACK), start)
        if line == -1:
            return -1
        return text.count("\t", line + 1, start)

    def column(self, words: ContextWords, start: int) -> str | None:
        """The header word of the column `start` is in, if that header is a context word."""
        index = self.column_index(start)
        if not 0 <= index < len(self.cells):
            return None
        key = (id(words), index)
        if key not in self._column_cache:
            self._column_cache[key] = words.first(self.cells[index])
        return self._column_cache[key]
