"""What the history knows about one sender: their contacts and who they write to together.

This is the read model detectors use. It is filled either by `observe` (learning from messages) or
by a store loading a sender's rows; either way the engine only ever sees this object.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from missend.history.terms import term_counts, trim
from missend.message.model import Message

MAX_PAIR_RECIPIENTS = 50
MAX_THREAD_PARTICIPANTS = 100
MAX_PROFILE_RECIPIENTS = 20


@dataclass(slots=True)
class Contact:
    email: str
    name: str = ""
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def thread_key(message_id: str) -> str:
    """The kept form of a message id: its SHA-256, so no identifier is held in clear."""
    return hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()


def set_key(emails: list[str] | tuple[str, ...] | frozenset[str]) -> str:
    return hashlib.sha256("\n".join(sorted(emails)).encode()).hexdigest()[:32]


def earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    try:
        return min(a, b)
    except TypeError:
        return a


def latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    try:
        return max(a, b)
    except TypeError:
        return b


@dataclass(slots=True)
class SenderHistory:
    """One sender's normal. Empty for a sender the history has never seen."""

    sender: str
    message_count: int = 0
    contacts: dict[str, Contact] = field(default_factory=dict)
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    neighbours: dict[str, set[str]] = field(default_factory=dict)
    recipient_sets: Counter[str] = field(default_factory=Counter)
    threads: dict[str, frozenset[str]] = field(default_factory=dict)
    """Participants of each thread, keyed by `thread_key` of a message id in it."""
    profiles: dict[str, Counter[int]] = field(default_factory=dict)
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Indexes detectors build from this history; dropped whenever the history changes."""

    def contact(self, email: str) -> Contact | None:
        return self.contacts.get(email)

    def together(self, a: str, b: str) -> int:
        return self.pairs.get(pair_key(a, b), 0)

    def add_pair(self, a: str, b: str, count: int = 1) -> None:
        self.derived.clear()
        self.pairs[pair_key(a, b)] += count
        self.neighbours.setdefault(a, set()).add(b)
        self.neighbours.setdefault(b, set()).add(a)

    def thread_participants(self, message_ids: tuple[str, ...]) -> frozenset[str]:
        found: set[str] = set()
        for mid in message_ids:
            found |= self.threads.get(thread_key(mid), frozenset())
        return frozenset(found)

    def observe(self, message: Message) -> None:
        """Learn from one message this sender sent."""
        sender = self.sender
        emails = [e for e in dict.fromkeys(message.recipient_emails) if e != sender]
        if not emails:
            return
        when = message.date
        self.message_count += 1
        self.derived.clear()
        names = {r.email: r.address.name for r in message.recipients}
        for email in emails:
            c = self.contacts.get(email)
            if c is None:
                c = self.contacts[email] = Contact(email)
            c.count += 1
            c.first_seen = earliest(c.first_seen, when)
            c.last_seen = latest(c.last_seen, when)
            if names.get(email):
                c.name = names[email]
        if len(emails) <= MAX_PAIR_RECIPIENTS:
            for a, b in combinations(emails, 2):
                self.add_pair(a, b)
        else:
            self.recipient_sets[set_key(emails)] += 1
        if len(emails) < MAX_THREAD_PARTICIPANTS:
            ids = message.conversation_ids
            participants = frozenset(emails) | {sender}
            for key in map(thread_key, ids):
                self.threads[key] = self.threads.get(key, frozenset()) | participants
        if len(emails) <= MAX_PROFILE_RECIPIENTS:
            terms = term_counts(message.subject, message.body_text)
            if terms:
                for email in emails:
                    profile = self.profiles.get(email)
                    if profile is None:
                        profile = self.profiles[email] = Counter()
                    profile.update(terms)
                    if len(profile) > 400:
                        self.profiles[email] = trim(profile)
