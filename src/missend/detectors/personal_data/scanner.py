"""Runs every recognizer over one text and settles which matches stand.

Python's regex engine pays per position and per pattern, so the work is arranged to try as few
patterns at as few positions as possible:

- patterns sharing a first character class ([0-9] or [A-Z], see `recognizers.lead`) run as one
  regex that jumps straight to such characters and reports, at each start, which members match;
  only the first character is consumed, so every start is tried and overlapping candidates are
  all seen;
- patterns too weak to count without a context word run only in windows around those words
  (or over a whole table whose header names them), and not at all when the text's word set
  shows none of the words;
- the e-mail pattern runs only around '@', and texts without digits skip the rest.

Weak checksum-validated matches can be believed together ("collective" evidence): a column in
which most ten-digit numbers pass the NHS check is a column of NHS numbers, while random ten-digit
numbers pass about one time in eleven. Overlaps go to the highest score, then the longest span.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from missend.detectors.personal_data.categories import words
from missend.detectors.personal_data.context import ContextWords, TextContext
from missend.detectors.personal_data.national import national_recognizers
from missend.detectors.personal_data.recognizers import (
    COLLECTIVE_BOOST,
    DateOfBirth,
    EmailAddress,
    Iban,
    Match,
    NationalInsurance,
    NhsNumber,
    Passport,
    Pattern,
    PaymentCard,
    PhoneNumber,
    Postcode,
    Recognizer,
    SortCodeAccount,
    lead,
)

AT_BEFORE = 70
AT_AFTER = 260
COLLECTIVE_MIN = 3
COLLECTIVE_RATE = 0.6
MAX_MATCHES_PER_PATTERN = 20_000
MAX_CACHED_GATES = 4096
MAX_MATCH = 80
"""No pattern matches more characters than this (the phone run, at most 43, is the longest)."""


def default_recognizers() -> tuple[Recognizer, ...]:
    return (
        NationalInsurance(),
        NhsNumber(),
        Iban(),
        PaymentCard(),
        SortCodeAccount(),
        DateOfBirth(),
        Passport(),
        PhoneNumber(),
        Postcode(),
        EmailAddress(),
        *national_recognizers(),
    )


@dataclass(frozen=True, slots=True)
class ScanResult:
    matches: tuple[Match, ...]
    capped: bool


def _has_digit(text: str) -> bool:
    """Ten substring searches: a tenth of the cost of `re.search("[0-9]")` on text without
    digits, which is most text."""
    return any(map(text.__contains__, "0123456789"))


def at_windows(text: str) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    at = text.find("@")
    while at != -1:
        lo, hi = max(0, at - AT_BEFORE), min(len(text), at + AT_AFTER)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], hi)
        else:
            windows.append((lo, hi))
        at = text.find("@", at + 1)
    return windows


def context_windows(tc: TextContext, rec: Recognizer) -> list[tuple[int, int]]:
    """Where a match could have one of `rec`'s context words in its window: weak formats are
    looked for only there (or everywhere in a table whose header names them)."""
    words_ = rec.context
    if words_ is None:
        return []
    text = tc.text
    if tc.header_names(words_):
        return [(0, len(text))]
    size = len(text)
    return [
        (max(0, start - rec.after - MAX_MATCH), min(size, end + rec.before + MAX_MATCH))
        for start, end in tc.occurrences(words_)
    ]


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


Owners = tuple[Recognizer, ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which patterns run, how, and for which recognizers, given which context words occur."""

    shared: tuple[tuple[re.Pattern[str], tuple[tuple[Pattern, Owners], ...]], ...]
    whole: tuple[tuple[Pattern, Owners], ...]
    near_context: tuple[tuple[re.Pattern[str] | None, Pattern, Owners], ...]
    near_at: tuple[tuple[Pattern, Owners], ...]


class Scanner:
    """Stateless between texts, so one instance may serve many threads."""

    def __init__(
        self, recognizers: Sequence[Recognizer] | None = None, min_score: float = 0.5
    ) -> None:
        self.recognizers = tuple(recognizers or default_recognizers())
        self.min_score = min_score
        groups: dict[int, tuple[Pattern, list[tuple[Recognizer, ContextWords | None]]]] = {}
        for rec in self.recognizers:
            for pat in rec.patterns:
                boost = COLLECTIVE_BOOST if rec.collective else 0.0
                gate = rec.context if pat.score + boost < min_score else None
                groups.setdefault(id(pat), (pat, []))[1].append((rec, gate))
        self._groups = tuple((pat, tuple(owners)) for pat, owners in groups.values())
        gates = {id(g): g for _, owners in self._groups for _, g in owners if g is not None}
        self._gates = tuple(gates.values())
        self._gate_words = frozenset(w for g in self._gates for p in g.phrases for w in p)
        self._plans: dict[tuple[bool, frozenset[int]], _Plan] = {}
        self._lock = threading.Lock()
        self._near_at = any(pat.near_at for pat, _ in self._groups)
        self._actives: dict[frozenset[bytes], frozenset[int]] = {}

    def may_find(self, text: str) -> bool:
        """False when `scan` must find nothing in `text`, which is then not worth splitting
        into words: every pattern that is not looked for around '@' needs a digit."""
        return _has_digit(text) or (self._near_at and "@" in text)

    def scan(self, text: str, present: set[bytes] | None = None) -> ScanResult:
        """`present` is the text's word set (`categories.words`), if the caller has it."""
        digits = _has_digit(text)
        if not (digits or (self._near_at and "@" in text)):
            return ScanResult((), False)
        if present is None:
            present = words(text).present
        tc = TextContext(text, present, self.min_score)
        plan = self._plan(digits, self._active(present))
        state = _State(tc)
        for combined, members in plan.shared:
            _run_combined(text, combined, members, state, 0, len(text))
        work = [(pat, owners, [(0, len(text))]) for pat, owners in plan.whole]
        windows: dict[tuple[int, ...], list[tuple[int, int]]] = {}
        for one_regex, pat, owners in plan.near_context:
            key = tuple(id(rec) for rec in owners)
            spans = windows.get(key)
            if spans is None:
                spans = windows[key] = _merge(w for rec in owners for w in context_windows(tc, rec))
            if one_regex is None:
                work.append((pat, owners, spans))
                continue
            for lo, hi in spans:
                _run_combined(text, one_regex, ((pat, owners),), state, lo, hi)
        if "@" in text:
            ats = at_windows(text)
            work += [(pat, owners, ats) for pat, owners in plan.near_at]
        for pat, owners, spans in work:
            for lo, hi in spans:
                for one in pat.regex.finditer(text, lo, hi):
                    if not state.add(pat, owners, one):
                        break
        if not state.found:
            return ScanResult((), state.capped or tc.exhausted)
        found = _collective(state.found, state.candidates, state.tc)
        kept = [m for m in found if m.score >= self.min_score]
        return ScanResult(tuple(_resolve(kept)), state.capped or tc.exhausted)

    def _active(self, present: set[bytes] | frozenset[bytes]) -> frozenset[int]:
        """The gates whose context words occur. Texts share few combinations of gate words,
        and testing every phrase of every gate costs more than the rest of a short scan."""
        hits = frozenset(present & self._gate_words)
        active = self._actives.get(hits)
        if active is None:
            active = frozenset(
                id(g) for g in self._gates if hits and any(p <= hits for p in g.phrases)
            )
            if len(self._actives) < MAX_CACHED_GATES:
                self._actives[hits] = active
        return active

    def _plan(self, digits: bool, active: frozenset[int]) -> _Plan:
        """Built once per combination of (text has digits, context words present) and kept."""
        key = (digits, active)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        shared: dict[str, list[tuple[Pattern, Owners]]] = {}
        whole: list[tuple[Pattern, Owners]] = []
        near_context: list[tuple[re.Pattern[str] | None, Pattern, Owners]] = []
        near_at: list[tuple[Pattern, Owners]] = []
        for pat, gated in self._groups:
            owners = tuple(rec for rec, gate in gated if gate is None or id(gate) in active)
            if not owners:
                continue
            if pat.near_at:
                near_at.append((pat, owners))
            elif not digits:
                continue
            elif all(gate is not None for _, gate in gated):
                alone = _combine(pat.first, [pat]) if pat.first else None
                near_context.append((alone, pat, owners))
            elif pat.first:
                shared.setdefault(pat.first, []).append((pat, owners))
            else:
                whole.append((pat, owners))
        combined = []
        for first, members in shared.items():
            combined.append((_combine(first, [p for p, _ in members]), tuple(members)))
        plan = _Plan(tuple(combined), tuple(whole), tuple(near_context), tuple(near_at))
        with self._lock:
            self._plans[key] = plan
        return plan


def _run_combined(
    text: str,
    combined: re.Pattern[str],
    members: tuple[tuple[Pattern, Owners], ...],
    state: _State,
    lo: int,
    hi: int,
) -> None:
    for m in combined.finditer(text, lo, hi):
        start = m.start()
        for (pat, owners), hit in zip(members, m.groups(), strict=True):
            if hit is not None and (one := pat.regex.match(text, start, hi)) is not None:
                state.add(pat, owners, one)


def _combine(first: str, members: list[Pattern]) -> re.Pattern[str]:
    """One regex for patterns sharing a first class: group i is set where member i matches.

    The engine jumps to characters of the class once, instead of once per pattern. Only the
    first character is consumed, so every start is tried: a failed candidate ("1949 4930 3642
    6212" after a date) cannot hide a real one that starts inside it ("4930 3642 6212 9973").
    """
    rests = [p.rest for p in members]
    any_member = "|".join(f"(?:{r})" for r in rests)
    each = "".join(f"(?:(?=({r}))|)" for r in rests)
    return re.compile(f"{lead(first, f'(?={any_member})')}{each}")


class _State:
    """What one scan has found so far, and how much; kept apart so `Scanner` stays stateless."""

    def __init__(self, tc: TextContext) -> None:
        self.tc = tc
        self.found: list[Match] = []
        self.candidates: dict[tuple[str, int], int] = {}
        self.counts: dict[int, int] = {}
        self.capped = False

    def add(self, pat: Pattern, owners: Owners, m: re.Match[str]) -> bool:
        """Hand one match to its recognizers; False once the pattern has matched too often."""
        n = self.counts[id(pat)] = self.counts.get(id(pat), 0) + 1
        if n > MAX_MATCHES_PER_PATTERN:
            self.capped = True
            return False
        for rec in owners:
            if rec.collective:
                column = (rec.name, self.tc.column_index(m.start()))
                self.candidates[column] = self.candidates.get(column, 0) + 1
            self.found.extend(rec.find(self.tc, m, pat))
        return True


def _collective(
    found: list[Match], candidates: dict[tuple[str, int], int], tc: TextContext
) -> list[Match]:
    """Believe weak matches when most candidates of their shape pass; per column in tables."""
    if not candidates:
        return found
    valid: dict[tuple[str, int], int] = {}
    keys: list[tuple[str, int] | None] = []
    for m in found:
        key = (m.recognizer, tc.column_index(m.start)) if m.collective else None
        keys.append(key)
        if key is not None:
            valid[key] = valid.get(key, 0) + 1
    believed = {
        key
        for key, n in valid.items()
        if n >= COLLECTIVE_MIN and n >= COLLECTIVE_RATE * candidates.get(key, n)
    }
    if not believed:
        return found
    out: list[Match] = []
    for m, key in zip(found, keys, strict=True):
        if key not in believed:
            out.append(m)
            continue
        assert key is not None
        n, total = valid[key], candidates.get(key, 0)
        out.append(
            m._replace(
                score=min(1.0, m.score + COLLECTIVE_BOOST),
                reasons=(*m.reasons, f"{n} of {total} numbers of this shape pass the check"),
            )
        )
    return out


def _resolve(matches: list[Match]) -> list[Match]:
    """Among overlapping matches keep the best; clusters are almost always of size one."""
    matches.sort(key=lambda m: (m.start, -m.end))
    out: list[Match] = []
    cluster: list[Match] = []
    cluster_end = -1
    for m in matches:
        if cluster and m.start >= cluster_end:
            out.extend(_best_of(cluster))
            cluster = []
        cluster_end = max(cluster_end, m.end) if cluster else m.end
        cluster.append(m)
    if cluster:
        out.extend(_best_of(cluster))
    return out


def _best_of(cluster: list[Match]) -> list[Match]:
    if len(cluster) == 1:
        return cluster
    chosen: list[Match] = []
    for m in sorted(cluster, key=lambda m: (-m.score, m.start - m.end, m.start)):
        if all(m.end <= c.start or m.start >= c.end for c in chosen):
            chosen.append(m)
    return sorted(chosen, key=lambda m: m.start)
