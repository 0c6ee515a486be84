"""Who the whole organisation writes to, for the recipients one sender has never written to.

A first message to someone is common and mostly fine, so one sender's history cannot tell a new
colleague from a mistyped one. The organisation's mail can: an address that colleagues write to is
a real correspondent, and an address nobody has used that is one letter off one they use is a typo.
The directory holds only addresses and how many senders wrote to each, from the store's contacts;
with keyed hashes it holds hashes, and then only the counts can be used, not the look-alikes.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

DIRECTORY_NAME = "directory"
"""The directory's key among the engine's models: it is learned, like the model, from the store."""

FAR = 4.0
"""The look-alike distance reported when no known address is close."""
_CUTOFF = 2


class OrgDirectory(Protocol):
    def senders(self, email: str, mine: bool) -> int: ...

    def nearest(self, email: str) -> tuple[float, int]: ...


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class Directory:
    """The addresses the organisation's senders wrote to, with how many senders wrote to each."""

    def __init__(self, counts: dict[str, int], key: Callable[[str], str] | None = None) -> None:
        self.counts = counts
        self.key = key
        """Maps a clear address to the stored form, when the store keeps keyed hashes."""
        self._by_domain: dict[str, list[str]] | None = None
        self._domains: list[str] = []

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Directory:
        """From (sender, recipient) pairs, each sender counted once per recipient."""
        seen: dict[str, set[str]] = defaultdict(set)
        for sender, recipient in pairs:
            seen[recipient].add(sender)
        return cls({address: len(who) for address, who in seen.items()})

    def senders(self, email: str, mine: bool) -> int:
        """How many senders other than this one (who has written to it when `mine`) wrote to it."""
        stored = self.key(email) if self.key is not None else email
        return max(0, self.counts.get(stored, 0) - mine)

    def nearest(self, email: str) -> tuple[float, int]:
        """For an address nobody wrote to: the distance to the closest that somebody did, in the
        same domain (a slip in the name) or at a look-alike domain with the same name, and how
        many senders (this one included) use that one. Hashed addresses have no distances."""
        if self.key is not None:
            return FAR, 0
        if self._by_domain is None:
            by_domain: dict[str, list[str]] = defaultdict(list)
            for address in self.counts:
                local, _, domain = address.rpartition("@")
                by_domain[domain].append(local)
            self._by_domain = dict(by_domain)
            self._domains = list(by_domain)
        names, domains = self._by_domain, self._domains
        return _nearest(
            email, lambda d: names.get(d, []), lambda: domains, lambda a: self.counts.get(a, 0)
        )


@dataclass
class Timeline:
    """The directory as it stood at each moment: for replaying archives without looking ahead.

    Built from every archive's messages; `at(when, sender)` is what the store would have held at
    that time, the sender's own mail left out (their own history says that part).
    """

    firsts: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    """For each address, when each sender first wrote to it, in date order."""

    @classmethod
    def of(cls, sent: Iterable[tuple[datetime, str, str]]) -> Timeline:
        """From (date, sender, recipient) triples."""
        first: dict[str, dict[str, datetime]] = defaultdict(dict)
        for date, sender, recipient in sent:
            when = _aware(date)
            known = first[recipient]
            if sender not in known or when < known[sender]:
                known[sender] = when
        return cls({a: sorted((w, s) for s, w in who.items()) for a, who in first.items()})

    def at(self, when: datetime, sender: str) -> TimedDirectory:
        return TimedDirectory(self, _aware(when), sender)

    def __post_init__(self) -> None:
        self._domains: dict[str, list[tuple[datetime, str]]] = {}
        for address, firsts in self.firsts.items():
            local, _, domain = address.rpartition("@")
            self._domains.setdefault(domain, []).append((firsts[0][0], local))
        for entries in self._domains.values():
            entries.sort()
        self._domain_order = sorted((v[0][0], d) for d, v in self._domains.items())


@dataclass
class TimedDirectory:
    """`Directory`'s answers as of one moment, without one sender's own mail."""

    timeline: Timeline
    when: datetime
    sender: str

    def senders(self, email: str, mine: bool) -> int:
        return sum(
            1 for w, s in self.timeline.firsts.get(email, ()) if w < self.when and s != self.sender
        )

    def nearest(self, email: str) -> tuple[float, int]:
        t = self.timeline

        def domains() -> list[str]:
            cut = bisect.bisect_left(t._domain_order, (self.when, ""))
            return [d for _, d in t._domain_order[:cut]]

        locals_of: dict[str, list[str]] = {}

        def by_domain(domain: str) -> list[str]:
            found = locals_of.get(domain)
            if found is None:
                entries = t._domains.get(domain, [])
                cut = bisect.bisect_left(entries, (self.when, ""))
                found = locals_of[domain] = [local for _, local in entries[:cut]]
            return found

        def count(address: str) -> int:
            return sum(1 for w, _ in t.firsts.get(address, ()) if w < self.when)

        return _nearest(email, by_domain, domains, count)


def _closest(text: str, choices: list[str]) -> tuple[str, float] | None:
    for other, distance, _ in process.extract(
        text, choices, scorer=Levenshtein.distance, score_cutoff=_CUTOFF, limit=2
    ):
        if other != text:
            return other, float(distance)
    return None


def _nearest(
    email: str,
    locals_at: Callable[[str], list[str]],
    domains: Callable[[], list[str]],
    count: Callable[[str], int],
) -> tuple[float, int]:
    local, _, domain = email.rpartition("@")
    if not local:
        return FAR, 0
    best: tuple[float, int] = (FAR, 0)
    found = _closest(local, locals_at(domain))
    if found is not None:
        best = (found[1], count(f"{found[0]}@{domain}"))
    if best[0] > 1:
        other = _closest(domain, domains())
        if other is not None and other[1] < best[0] and local in locals_at(other[0]):
            best = (other[1], count(f"{local}@{other[0]}"))
    return best
