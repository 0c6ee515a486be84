"""Who the whole organisation writes to, for the recipients one sender has never written to.

A first message to someone is common and mostly fine, so one sender's history cannot tell a new
colleague from a mistyped one. The organisation's mail can: an address that colleagues write to is
a real correspondent, and an address nobody has used that is one letter off one they use is a typo.
The directory holds only addresses and how many senders wrote to each, from the store's contacts;
with keyed hashes it holds hashes, and the look-alikes are found by hashing each address one
keystroke away and looking it up, as the rules do for the sender's own contacts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from missend.privacy.pseudonym import AddressKeys

DIRECTORY_NAME = "directory"
"""The directory's key among the engine's models: it is learned, like the model, from the store."""

FAR = 4.0
"""The look-alike distance reported when no known address is one keystroke away."""
_KEYS = "abcdefghijklmnopqrstuvwxyz0123456789._-"


class OrgDirectory(Protocol):
    def senders(self, email: str, mine: bool) -> int: ...

    def nearest(self, email: str) -> tuple[float, int]: ...


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class Directory:
    """The addresses the organisation's senders wrote to, with how many senders wrote to each."""

    def __init__(self, counts: dict[str, int], keys: AddressKeys | None = None) -> None:
        self.counts = counts
        self.keys = keys
        """The store's keys, when it keeps keyed hashes of addresses."""
        self._domains: set[str] | None = None
        """The domains of the addresses, or their tags when hashed."""

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Directory:
        """From (sender, recipient) pairs, each sender counted once per recipient."""
        seen: dict[str, set[str]] = defaultdict(set)
        for sender, recipient in pairs:
            seen[recipient].add(sender)
        return cls({address: len(who) for address, who in seen.items()})

    def senders(self, email: str, mine: bool) -> int:
        """How many senders other than this one (who has written to it when `mine`) wrote to it."""
        stored = self.keys.address(email) if self.keys is not None else email
        return max(0, self.counts.get(stored, 0) - mine)

    def nearest(self, email: str) -> tuple[float, int]:
        """For an address nobody wrote to: 1 when one keystroke (a letter missed, added, changed
        or two swapped) in the name or the domain makes one somebody did, and how many senders
        (this one included) use it; else `FAR`. Generating the few hundred neighbours costs the
        same however large the organisation. With keyed hashes each neighbour is hashed and
        looked up, and a domain counts as known when its tag is."""
        if self._domains is None:
            self._domains = {a.rpartition("@")[2] for a in self.counts}
        domains, counts, keys = self._domains, self.counts, self.keys
        if keys is None:
            return _nearest(email, lambda a: counts.get(a, 0), domains.__contains__)
        tags: dict[str, str] = {}

        def tag(domain: str) -> str:
            found = tags.get(domain)
            if found is None:
                found = tags[domain] = keys.domain_tag(domain)
            return found

        def count(address: str) -> int:
            return counts.get(f"{keys.mac(address)}@{tag(address.rpartition('@')[2])}", 0)

        return _nearest(email, count, lambda domain: tag(domain) in domains)


@dataclass
class Timeline:
    """The directory as it stood at each moment: for replaying archives without looking ahead.

    Built from every archive's messages; `at(when, sender)` is what the store would have held at
    that time, the sender's own mail left out of the counts (their own history says that part).
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

    def __post_init__(self) -> None:
        self._domain_since: dict[str, datetime] = {}
        for address, firsts in self.firsts.items():
            domain = address.rpartition("@")[2]
            since = self._domain_since.get(domain)
            if since is None or firsts[0][0] < since:
                self._domain_since[domain] = firsts[0][0]

    def at(self, when: datetime, sender: str) -> TimedDirectory:
        return TimedDirectory(self, _aware(when), sender)


@dataclass
class TimedDirectory:
    """`Directory`'s answers as of one moment, without one sender's own mail in the counts."""

    timeline: Timeline
    when: datetime
    sender: str

    def senders(self, email: str, mine: bool) -> int:
        return sum(
            1 for w, s in self.timeline.firsts.get(email, ()) if w < self.when and s != self.sender
        )

    def nearest(self, email: str) -> tuple[float, int]:
        t = self.timeline

        def count(address: str) -> int:
            return sum(1 for w, _ in t.firsts.get(address, ()) if w < self.when)

        def known_domain(domain: str) -> bool:
            since = t._domain_since.get(domain)
            return since is not None and since < self.when

        return _nearest(email, count, known_domain)


def _one_keystroke(text: str) -> Iterator[str]:
    """Every string one slip away: a key missed, added, pressed for another, or two swapped."""
    for i in range(len(text) + 1):
        head, tail = text[:i], text[i:]
        for key in _KEYS:
            yield head + key + tail
        if tail:
            yield head + tail[1:]
            for key in _KEYS:
                if key != tail[0]:
                    yield head + key + tail[1:]
            if len(tail) > 1:
                yield head + tail[1] + tail[0] + tail[2:]


def _nearest(
    email: str, count: Callable[[str], int], known_domain: Callable[[str], bool]
) -> tuple[float, int]:
    local, _, domain = email.rpartition("@")
    if not local or not domain:
        return FAR, 0
    best = max((count(f"{other}@{domain}") for other in _one_keystroke(local)), default=0)
    if not best:
        best = max(
            (
                count(f"{local}@{other}")
                for other in _one_keystroke(domain)
                if other != domain and known_domain(other)
            ),
            default=0,
        )
    return (1.0, best) if best else (FAR, 0)
