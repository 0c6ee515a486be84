"""Who the whole organisation writes to, for the recipients one sender has never written to.

A first message to someone is common and mostly fine, so one sender's history cannot tell a new
colleague from a mistyped one. The organisation's mail can: an address that colleagues write to is
a real correspondent, and an address nobody has used that is one letter off one they use is a typo.
Colleagues' mail also says who belongs together: a recipient others have written to along with the
draft's other recipients fits the message even when this sender never grouped them.
The directory holds only addresses, how many senders wrote to each, and how many wrote to each pair
of addresses in one message, from the store's contacts and pairs; with keyed hashes it holds
hashes, and the look-alikes are found by hashing each address one keystroke away and looking it
up, as the rules do for the sender's own contacts.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from typing import TYPE_CHECKING, Protocol

import numpy as np

from missend.history.model import MAX_PAIR_RECIPIENTS, pair_key

if TYPE_CHECKING:
    from missend.privacy.pseudonym import AddressKeys

DIRECTORY_NAME = "directory"
"""The directory's key among the engine's models: it is learned, like the model, from the store."""

FAR = 4.0
"""The look-alike distance reported when no known address is one keystroke away."""
_KEYS = "abcdefghijklmnopqrstuvwxyz0123456789._-"


Sent = tuple[datetime, str, Sequence[str]]
"""One message as the directory sees it: when, who sent it, to whom."""


class OrgDirectory(Protocol):
    def senders(self, email: str, mine: bool) -> int: ...

    def nearest(self, email: str) -> tuple[float, int]: ...

    def together(
        self, emails: Sequence[str], mine: Callable[[str, str], bool]
    ) -> dict[tuple[str, str], int]: ...


def grouped(sender: str, recipients: Sequence[str]) -> list[str]:
    """The recipients a sender's history pairs up, as `SenderHistory.observe` does: none for a
    message to more than `MAX_PAIR_RECIPIENTS`, where being together says little."""
    emails = [e for e in dict.fromkeys(recipients) if e != sender]
    return emails if len(emails) <= MAX_PAIR_RECIPIENTS else []


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


_MASK = (1 << 64) - 1


def _address_digest(address: str) -> int:
    data = address.encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def _pair_digest(x: int, y: int) -> int:
    """One 64-bit value for two address digests, whichever comes first."""
    low, high = (x, y) if x <= y else (y, x)
    return (((low * 0x9E3779B97F4A7C15) & _MASK) ^ high) * 0xBF58476D1CE4E5B9 & _MASK


class PairCounts:
    """How many senders wrote to each pair of addresses at once, in 12 bytes a pair.

    An organisation's pairs outnumber its addresses many times over (361,085 pairs for 163,777
    contacts in a generated store of 5,000 senders), and every gateway process holds them: as a
    dict of address tuples that store took 94 MB, here 4 MB. Each pair is a 64-bit digest of its
    two addresses in one sorted array, its count in another; two pairs sharing a digest (about one
    in 50 million for 500,000 pairs) would only add their counts.
    """

    def __init__(self, digests: np.ndarray, counts: np.ndarray) -> None:
        self._digests = digests
        self._counts = counts

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, int]]) -> PairCounts:
        digests, counts = array("Q"), array("I")
        seen: dict[str, int] = {}
        for a, b, n in rows:
            x = seen.get(a)
            if x is None:
                x = seen[a] = _address_digest(a)
            y = seen.get(b)
            if y is None:
                y = seen[b] = _address_digest(b)
            digests.append(_pair_digest(x, y))
            counts.append(min(n, 0xFFFFFFFF))
        found, where = np.unique(np.frombuffer(digests, dtype=np.uint64), return_inverse=True)
        summed = np.bincount(where, weights=np.frombuffer(counts, dtype=np.uint32))
        return cls(found, summed.astype(np.uint32))

    def __len__(self) -> int:
        return len(self._digests)

    def get(self, a: str, b: str) -> int:
        return self.lookup([_pair_digest(_address_digest(a), _address_digest(b))])[0]

    def lookup(self, digests: Sequence[int]) -> list[int]:
        """The counts of many pairs (by `_pair_digest`) in one search: a check asks for every
        pair of its recipients at once."""
        size = len(self._digests)
        if not size or not digests:
            return [0] * len(digests)
        wanted = np.array(digests, dtype=np.uint64)
        at = np.minimum(self._digests.searchsorted(wanted), size - 1)
        found = self._digests[at] == wanted
        counts: list[int] = np.where(found, self._counts[at], 0).tolist()
        return counts


class Directory:
    """The addresses the organisation's senders wrote to, with how many senders wrote to each."""

    def __init__(
        self,
        counts: dict[str, int],
        keys: AddressKeys | None = None,
        pairs: PairCounts | None = None,
    ) -> None:
        self.counts = counts
        self.keys = keys
        """The store's keys, when it keeps keyed hashes of addresses."""
        self.pairs = pairs or PairCounts.of(())
        """How many senders wrote to both addresses of each pair at once."""
        self._domains: set[str] | None = None
        """The domains of the addresses, or their tags when hashed."""

    @classmethod
    def of(cls, sent: Iterable[tuple[str, Sequence[str]]]) -> Directory:
        """From (sender, recipients) of each message, each sender counted once per address and
        once per pair."""
        seen: dict[str, set[str]] = defaultdict(set)
        together: dict[tuple[str, str], set[str]] = defaultdict(set)
        for sender, recipients in sent:
            for recipient in recipients:
                if recipient != sender:
                    seen[recipient].add(sender)
            for a, b in combinations(grouped(sender, recipients), 2):
                together[pair_key(a, b)].add(sender)
        return cls(
            {address: len(who) for address, who in seen.items()},
            pairs=PairCounts.of((a, b, len(who)) for (a, b), who in together.items()),
        )

    def _stored(self, email: str) -> str:
        return self.keys.address(email) if self.keys is not None else email

    def senders(self, email: str, mine: bool) -> int:
        """How many senders other than this one (who has written to it when `mine`) wrote to it."""
        return max(0, self.counts.get(self._stored(email), 0) - mine)

    def together(
        self, emails: Sequence[str], mine: Callable[[str, str], bool]
    ) -> dict[tuple[str, str], int]:
        """For each pair of `emails` (`pair_key` order), how many senders other than this one (who
        has written to both at once when `mine`) wrote to both in one message."""
        digests = [_address_digest(self._stored(e)) for e in emails]
        pairs = list(combinations(range(len(emails)), 2))
        counts = self.pairs.lookup([_pair_digest(digests[i], digests[j]) for i, j in pairs])
        return {
            pair_key(emails[i], emails[j]): max(0, n - mine(emails[i], emails[j]))
            for (i, j), n in zip(pairs, counts, strict=True)
        }

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
    pairs: dict[tuple[str, str], list[tuple[datetime, str]]] = field(default_factory=dict)
    """For each pair of addresses, when each sender first wrote to both at once, in date order."""

    @classmethod
    def of(cls, sent: Iterable[Sent]) -> Timeline:
        """From (date, sender, recipients) of each message."""
        first: dict[str, dict[str, datetime]] = defaultdict(dict)
        together: dict[tuple[str, str], dict[str, datetime]] = defaultdict(dict)

        def note(known: dict[str, datetime], sender: str, when: datetime) -> None:
            if sender not in known or when < known[sender]:
                known[sender] = when

        for date, sender, recipients in sent:
            when = _aware(date)
            for recipient in recipients:
                if recipient != sender:
                    note(first[recipient], sender, when)
            for a, b in combinations(grouped(sender, recipients), 2):
                note(together[pair_key(a, b)], sender, when)
        return cls(
            {a: sorted((w, s) for s, w in who.items()) for a, who in first.items()},
            {p: sorted((w, s) for s, w in who.items()) for p, who in together.items()},
        )

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
        return self._others(self.timeline.firsts.get(email, ()))

    def together(
        self, emails: Sequence[str], mine: Callable[[str, str], bool]
    ) -> dict[tuple[str, str], int]:
        pairs = self.timeline.pairs
        return {
            key: self._others(pairs.get(key, ()))
            for key in (pair_key(a, b) for a, b in combinations(emails, 2))
        }

    def _others(self, firsts: Iterable[tuple[datetime, str]]) -> int:
        return sum(1 for w, s in firsts if w < self.when and s != self.sender)

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
