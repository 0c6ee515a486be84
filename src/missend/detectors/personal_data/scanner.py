"""Runs every recognizer over one text and settles which matches stand.

Python's regex engine costs the same per character whatever the pattern, so running thirty
patterns over a whole message is slow. Every pattern but the e-mail one needs digits, so the text
is first cut into regions around runs of digits (one pass), and each pattern runs only in the
regions with enough digits for it; the e-mail pattern runs only around '@'. A pattern's longest
stretch of letters or separators between or around digits is shorter than the region margin, so
no match is lost by the cut.

Weak checksum-validated matches can be believed together ("collective" evidence): a column in
which most ten-digit numbers pass the NHS check is a column of NHS numbers, while random ten-digit
numbers pass about one time in eleven. Overlaps go to the highest score, then the longest span.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from missend.detectors.personal_data.categories import words
from missend.detectors.personal_data.context import TextContext
from missend.detectors.personal_data.national import national_recognizers
from missend.detectors.personal_data.recognizers import (
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
)

_DIGITS = re.compile(r"\d+")
MARGIN = 12
AT_BEFORE = 70
AT_AFTER = 260
COLLECTIVE_MIN = 3
COLLECTIVE_RATE = 0.6
COLLECTIVE_BOOST = 0.3
MAX_MATCHES_PER_PATTERN = 20_000


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


@dataclass(slots=True)
class _Region:
    lo: int
    hi: int
    digits: int
    run: int


def digit_regions(text: str) -> list[_Region]:
    """Spans around runs of digits, merged when closer than twice the margin."""
    regions: list[_Region] = []
    size = len(text)
    current: _Region | None = None
    for m in _DIGITS.finditer(text):
        start, end = m.span()
        if current is not None and start - MARGIN <= current.hi:
            current.hi = min(size, end + MARGIN)
            current.digits += end - start
            current.run = max(current.run, end - start)
            continue
        current = _Region(max(0, start - MARGIN), min(size, end + MARGIN), end - start, end - start)
        regions.append(current)
    return regions


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


class Scanner:
    """Stateless between texts, so one instance may serve many threads."""

    def __init__(
        self, recognizers: Sequence[Recognizer] | None = None, min_score: float = 0.5
    ) -> None:
        self.recognizers = tuple(recognizers or default_recognizers())
        self.min_score = min_score
        groups: dict[int, tuple[Pattern, list[Recognizer]]] = {}
        for rec in self.recognizers:
            for pat in rec.patterns:
                groups.setdefault(id(pat), (pat, []))[1].append(rec)
        self._groups = tuple((pat, tuple(owners)) for pat, owners in groups.values())

    def scan(self, text: str, present: set[bytes] | None = None) -> ScanResult:
        """`present` is the text's word set (`categories.words`), if the caller has it."""
        if not text:
            return ScanResult((), False)
        if present is None:
            present = words(text).present
        skip = {
            rec.name
            for rec in self.recognizers
            if rec.needs_context and rec.context is not None and not rec.context.may_occur(present)
        }
        regions = digit_regions(text)
        ats = at_windows(text) if "@" in text else []
        tc = TextContext(text)
        found: list[Match] = []
        candidates: dict[str, int] = {}
        capped = False
        for pat, all_owners in self._groups:
            owners = [rec for rec in all_owners if rec.name not in skip]
            if not owners:
                continue
            if pat.anchor == "at":
                spans = ats
            else:
                spans = [
                    (r.lo, r.hi)
                    for r in regions
                    if r.digits >= pat.min_digits and r.run >= pat.min_run
                ]
            count = 0
            for lo, hi in spans:
                for m in pat.regex.finditer(text, lo, hi):
                    count += 1
                    if count > MAX_MATCHES_PER_PATTERN:
                        capped = True
                        break
                    for rec in owners:
                        if rec.collective:
                            candidates[rec.name] = candidates.get(rec.name, 0) + 1
                        found.extend(rec.find(tc, m, pat))
                if count > MAX_MATCHES_PER_PATTERN:
                    break
        found = _collective(found, candidates)
        kept = [m for m in found if m.score >= self.min_score]
        return ScanResult(tuple(_resolve(kept)), capped)


def _collective(found: list[Match], candidates: dict[str, int]) -> list[Match]:
    if not candidates:
        return found
    valid: dict[str, int] = {}
    for m in found:
        if m.collective:
            valid[m.recognizer] = valid.get(m.recognizer, 0) + 1
    believed = {
        name
        for name, n in valid.items()
        if n >= COLLECTIVE_MIN and n >= COLLECTIVE_RATE * candidates.get(name, n)
    }
    if not believed:
        return found
    out: list[Match] = []
    for m in found:
        if m.recognizer not in believed:
            out.append(m)
            continue
        n, total = valid[m.recognizer], candidates.get(m.recognizer, 0)
        out.append(
            replace(
                m,
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
