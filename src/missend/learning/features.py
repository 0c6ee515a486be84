"""Features of one (message, recipient) pair, measured against the sender's history before it.

Every feature is relative to this sender's own normal (how often, how recently, with whom, about
what), so one model trained on many senders applies to a sender it has never seen. The same code
computes features for training examples and for live checks, so what was evaluated is what runs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from missend.history.model import MAX_PAIR_RECIPIENTS, Contact, SenderHistory, pair_key
from missend.lazy import lazy
from missend.learning.directory import DIRECTORY_NAME, FAR, OrgDirectory
from missend.learning.quoted import Author, named_share, quoted_author
from missend.message.model import Field, Recipient
from missend.orgs import Organisations, registrable_domain

if TYPE_CHECKING:
    from missend.detectors.base import CheckContext

FEATURES: tuple[str, ...] = (
    "log_count",
    "is_new",
    "log_days_since_last",
    "log_days_known",
    "count_share",
    "n_recipients_log",
    "is_cc_or_bcc",
    "has_others",
    "linked_others_frac",
    "log_max_pair",
    "others_group_frac",
    "content_cos",
    "content_cos_best_other",
    "content_gap",
    "profile_mass_log",
    "domain_contacts_log",
    "domain_messages_log",
    "domain_shared_with_others",
    "domain_linked_to_others",
    "is_personal",
    "is_internal",
    "in_thread",
    "is_reply",
    "lookalike_distance",
    "lookalike_strength_log",
    "same_local_other_domain",
    "same_name_other_address",
    "namesake_fits_others",
    "namesake_content_gap",
    "history_messages_log",
    "history_contacts_log",
    "count_vs_others_min_log",
    "count_vs_others_max_log",
    "content_rank",
    "rule_severity",
    "named_in_text",
    "others_named_frac",
    "address_in_text",
    "in_topic",
    "subject_says_reply",
    "topic_known",
    "domain_lookalike_distance",
    "domain_lookalike_strength_log",
    "name_local_other_domain",
    "confusables_log",
    "confusable_count_gap",
    "confusable_recency_gap",
    "confusable_fits_gap",
    "confusable_content_gap",
    "confusable_topic_gap",
    "confusable_named_gap",
    "confusable_author_gap",
    "text_address_distance",
    "org_senders_log",
    "org_lookalike_distance",
    "org_lookalike_strength_log",
    "org_together_log",
    "quoted_author_known",
    "quoted_author_match",
    "quoted_author_others",
    "sender_pair_novelty",
    "sender_contact_novelty",
)

_SPLIT = re.compile(r"[._\-+]")
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_NO_DATE = 10_000.0
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_TEXT_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class Mentions:
    """The words and addresses of the draft's whole text, quoted thread included.

    A greeting ("Hi Sally,") or the quoted headers of the mail being answered name the people a
    message is for; a recipient added by mistake is rarely named. Used only during the check,
    never stored.
    """

    words: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()
    author: Author | None = None
    """Whose quoted mail the draft answers (`answered_author`); None for a forward, or when it
    quotes nobody or only the sender."""

    @classmethod
    def of(cls, subject: str, body: str, author: Author | None = None) -> Mentions:
        text = f"{subject}\n{body[:_TEXT_LIMIT]}".lower()
        return cls(frozenset(_LETTERS.findall(text)), frozenset(_ADDRESS.findall(text)), author)

    def nearest_address(self, email: str) -> float:
        """Edit distance to the closest other address the text quotes: the reply being written
        names its correspondents, so an address one letter off them is a slip of the keyboard."""
        if not self.addresses:
            return 4.0
        found = process.extractOne(
            email,
            [a for a in self.addresses if a != email],
            scorer=Levenshtein.distance,
            score_cutoff=3,
        )
        return 4.0 if found is None else float(found[1])

    def named(self, email: str, tokens: tuple[str, ...]) -> float:
        """1 for the address itself, else the share of its name's words the text contains
        (two-letter words are too common in running text to count)."""
        return named_share(email, tokens, self.addresses, self.words, shortest=3)


def answered_author(ctx: CheckContext) -> Author | None:
    """Whose quoted mail the draft answers, once per check; None when it quotes nobody, only the
    sender (who follows up their own mail), or is a forward (which passes the mail on to others)."""
    found = ctx.scratch.get("quoted.author", False)
    if found is not False:
        return found if isinstance(found, Author) else None
    author = None if ctx.message.subject_says_forward else quoted_author(ctx.message.body_text)
    sender = ctx.message.sender
    if (
        author is not None
        and sender is not None
        and author.match(sender.email, tokens_of(sender.name, sender.email)) >= 1.0
    ):
        author = None
    ctx.scratch["quoted.author"] = author
    return author


def name_tokens(r: Recipient | Contact) -> tuple[str, ...]:
    """First/last-name-like tokens from the display name, else from the local part."""
    return tokens_of(r.address.name if isinstance(r, Recipient) else r.name, r.email)


def tokens_of(name: str, email: str) -> tuple[str, ...]:
    if name:
        if "," in name:
            last, _, first = name.partition(",")
            name = f"{first} {last}"
        tokens = tuple(t.lower() for t in _LETTERS.findall(name))
        if tokens:
            return tokens
    local = email.rpartition("@")[0]
    return tuple(t for t in (p.lower() for p in _SPLIT.split(local)) if len(t) >= 2 and t.isalpha())


def _days(a: datetime | None, b: datetime | None) -> float:
    if a is None or b is None:
        return _NO_DATE
    try:
        return max(0.0, (a - b).total_seconds() / 86400)
    except TypeError:
        return _NO_DATE


@dataclass
class _Index:
    """Per-history lookups the features need, built once per history state."""

    known: list[Contact]
    known_emails: list[str]
    by_local: dict[str, list[Contact]]
    by_name: dict[tuple[str, ...], list[Contact]]
    by_first: dict[str, list[Contact]]
    by_last: dict[str, list[Contact]]
    by_prefix: dict[str, list[Contact]]
    by_name_local: dict[str, list[Contact]]
    domain_contacts: Counter[str]
    domain_messages: Counter[str]
    idf: dict[int, float]
    idf_unseen: float
    norms: dict[str, float]
    domains: list[str]
    pair_novelty: float
    """Share of this sender's recipient pairs written to together only once: how often their
    mail brings together people who were not grouped before."""
    contact_novelty: float
    """Share of this sender's contacts written to only once."""

    def profile_norm(self, email: str, profile: Counter[int]) -> float:
        norm = self.norms.get(email)
        if norm is None:
            idf = self.idf
            norm = self.norms[email] = (
                math.sqrt(sum((v * idf.get(k, 0.0)) ** 2 for k, v in profile.items())) or 1.0
            )
        return norm


def name_locals(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The local parts people make of their own name for a private mailbox."""
    if len(tokens) < 2:
        return ()
    first, last = tokens[0], tokens[-1]
    return (
        f"{first}.{last}",
        f"{first}{last}",
        f"{first}_{last}",
        f"{first[0]}{last}",
        f"{first[0]}.{last}",
        f"{last}{first[0]}",
        f"{last}.{first}",
        f"{last}{first}",
    )


_DIGITS = re.compile(r"\d+$")


def index(history: SenderHistory) -> _Index:
    key = "learning.index"
    found = history.derived.get(key)
    if isinstance(found, _Index):
        return found
    known = list(history.contacts.values())
    by_local: dict[str, list[Contact]] = {}
    by_name: dict[tuple[str, ...], list[Contact]] = {}
    by_first: dict[str, list[Contact]] = {}
    by_last: dict[str, list[Contact]] = {}
    by_prefix: dict[str, list[Contact]] = {}
    by_name_local: dict[str, list[Contact]] = {}
    for c in known:
        by_local.setdefault(c.email.rpartition("@")[0], []).append(c)
        tokens = name_tokens(c)
        if len(tokens) >= 2:
            by_name.setdefault(tuple(sorted(tokens)), []).append(c)
        if tokens and len(tokens[0]) > 2:
            by_first.setdefault(tokens[0], []).append(c)
        if len(tokens) >= 2 and len(tokens[-1]) > 2:
            by_last.setdefault(tokens[-1], []).append(c)
        if len(c.email) > 4 and c.email[3] != "@":
            by_prefix.setdefault(c.email[:3], []).append(c)
        for local in name_locals(tokens):
            by_name_local.setdefault(local, []).append(c)
    domain_contacts: Counter[str] = Counter()
    domain_messages: Counter[str] = Counter()
    for c in history.contacts.values():
        d = registrable_domain(c.email.rpartition("@")[2])
        domain_contacts[d] += 1
        domain_messages[d] += c.count
    spread: Counter[int] = Counter()
    for profile in history.profiles.values():
        spread.update(profile.keys())
    total = len(history.profiles)
    idf = {k: math.log((1 + total) / (1 + n)) + 1.0 for k, n in spread.items()}
    built = _Index(
        known,
        [c.email for c in known],
        by_local,
        by_name,
        by_first,
        by_last,
        by_prefix,
        by_name_local,
        domain_contacts,
        domain_messages,
        idf,
        math.log(1 + total) + 1.0,
        {},
        list(domain_contacts),
        _share_once(history.pairs.values()),
        _share_once(c.count for c in known),
    )
    history.derived[key] = built
    return built


def _share_once(counts: Iterable[int]) -> float:
    seen = once = 0
    for n in counts:
        seen += 1
        once += n == 1
    return once / seen if seen else 0.0


class MessageFeatures:
    """Features for every recipient of one message; shared work is done once per message."""

    def __init__(
        self,
        history: SenderHistory,
        recipients: tuple[Recipient, ...],
        orgs: Organisations,
        terms: Counter[int],
        when: datetime | None,
        thread: frozenset[str],
        is_reply: bool,
        rule_scores: Mapping[str, float] | None = None,
        mentions: Mentions | None = None,
        topic: frozenset[str] | None = None,
        subject_says_reply: bool = False,
        directory: OrgDirectory | None = None,
    ) -> None:
        self.h = history
        self.recipients = recipients
        self.orgs = orgs
        self.terms = terms
        self.when = when
        self.thread = thread
        self.is_reply = is_reply
        self.rule_scores = rule_scores or {}
        self.mentions = mentions or Mentions()
        self.topic = topic
        """Who got earlier mail on this subject; None when the subject is too short to tell."""
        self.subject_says_reply = subject_says_reply
        self.directory = directory
        self.emails = [r.email for r in recipients]
        self.index = index(history)

    @lazy
    def weighted_terms(self) -> tuple[dict[int, float], float]:
        idf = self.index.idf
        vec = {k: v * idf.get(k, self.index.idf_unseen) for k, v in self.terms.items()}
        return vec, math.sqrt(sum(v * v for v in vec.values()))

    def similarity(self, email: str) -> float:
        """Cosine of the draft and the contact's profile, words weighted by how rare they are
        among this sender's contacts (a word everyone gets says nothing about who should)."""
        profile = self.h.profiles.get(email)
        vec, norm = self.weighted_terms
        if not profile or not norm or len(self.terms) < 3:
            return 0.0
        idf = self.index.idf
        dot = sum(w * profile.get(k, 0) * idf.get(k, 0.0) for k, w in vec.items())
        if not dot:
            return 0.0
        return dot / (norm * self.index.profile_norm(email, profile))

    @lazy
    def content(self) -> dict[str, float]:
        return {e: self.similarity(e) for e in self.emails}

    @lazy
    def tokens(self) -> list[tuple[str, ...]]:
        """Each recipient's name words, the address book's name standing in for a bare address."""
        out = []
        for r in self.recipients:
            c = self.h.contacts.get(r.email)
            tokens = name_tokens(c) if c is not None and c.name and not r.address.name else ()
            out.append(tokens or name_tokens(r))
        return out

    @lazy
    def named(self) -> list[float]:
        return [self.mentions.named(e, t) for e, t in zip(self.emails, self.tokens, strict=True)]

    @lazy
    def authored(self) -> list[float]:
        author = self.mentions.author
        if author is None:
            return [0.0] * len(self.emails)
        return [author.match(e, t) for e, t in zip(self.emails, self.tokens, strict=True)]

    @lazy
    def domains(self) -> list[str]:
        return [registrable_domain(e.rpartition("@")[2]) for e in self.emails]

    def vector(self, i: int) -> list[float]:
        h, r, e = self.h, self.recipients[i], self.emails[i]
        others = [x for j, x in enumerate(self.emails) if j != i]
        n = len(self.emails)
        c = h.contacts.get(e)
        count = c.count if c else 0
        links = h.neighbours.get(e, set())
        linked = sum(1 for o in others if o in links)
        max_pair = max((h.together(e, o) for o in others if o in links), default=0)
        group_pairs = 0
        group_total = 0
        if len(others) >= 2:
            for a_i, a in enumerate(others[:12]):
                a_links = h.neighbours.get(a, set())
                for b in others[a_i + 1 : 12]:
                    group_total += 1
                    group_pairs += b in a_links
        content = self.content
        mine = content.get(e, 0.0)
        other_counts = [h.contacts[o].count if o in h.contacts else 0 for o in others]
        best_other = max((content.get(o, 0.0) for o in others), default=0.0)
        profile = h.profiles.get(e)
        domain = self.domains[i]
        other_domains = {d for j, d in enumerate(self.domains) if j != i}
        domain_linked = 0.0
        if others:
            same_domain_contacts = [
                o for o in links if o.endswith("@" + domain) or o.endswith("." + domain)
            ]
            domain_linked = float(bool(same_domain_contacts))
        idx = self.index
        distance, strength = self._lookalike(e, c)
        local = e.rpartition("@")[0]
        same_local = any(
            registrable_domain(k.email.rpartition("@")[2]) != domain
            for k in idx.by_local.get(local, ())
            if k.email != e
        )
        tokens = name_tokens(r)
        same_name = len(tokens) >= 2 and any(
            k.email != e for k in idx.by_name.get(tuple(sorted(tokens)), ())
        )
        namesake_fits, namesake_gap = self._namesake(tokens, e, others, mine)
        domain_distance, domain_strength = self._domain_lookalike(domain)
        confusion = self._confusion(i, tokens, others, c, linked)
        bare_local = _DIGITS.sub("", local)
        name_local = any(
            registrable_domain(k.email.rpartition("@")[2]) != domain
            for k in idx.by_name_local.get(bare_local, ())
            if k.email != e
        )
        return [
            math.log1p(count),
            float(count == 0),
            math.log1p(_days(self.when, c.last_seen) if c else _NO_DATE),
            math.log1p(_days(self.when, c.first_seen) if c else 0.0),
            count / h.message_count if h.message_count else 0.0,
            math.log1p(n),
            float(r.field in (Field.CC, Field.BCC)),
            float(bool(others)),
            linked / len(others) if others else 0.0,
            math.log1p(max_pair),
            group_pairs / group_total if group_total else 0.0,
            mine,
            best_other,
            best_other - mine,
            math.log1p(sum(profile.values())) if profile else 0.0,
            math.log1p(idx.domain_contacts.get(domain, 0)),
            math.log1p(idx.domain_messages.get(domain, 0)),
            float(domain in other_domains),
            domain_linked,
            float(self.orgs.is_personal(e)),
            float(self.orgs.is_internal(e)),
            float(e in self.thread),
            float(self.is_reply),
            distance,
            strength,
            float(same_local),
            float(same_name),
            namesake_fits,
            namesake_gap,
            math.log1p(h.message_count),
            math.log1p(len(h.contacts)),
            math.log1p(count) - math.log1p(min(other_counts)) if other_counts else 0.0,
            math.log1p(count) - math.log1p(max(other_counts)) if other_counts else 0.0,
            sum(1 for o in others if content.get(o, 0.0) > mine) / len(others) if others else 0.0,
            self.rule_scores.get(e, 0.0),
            self.named[i],
            sum(v for j, v in enumerate(self.named) if j != i) / len(others) if others else 0.0,
            float(e in self.mentions.addresses),
            float(self.topic is not None and e in self.topic),
            float(self.subject_says_reply),
            float(bool(self.topic)),
            domain_distance,
            domain_strength,
            float(name_local),
            *confusion,
            self.mentions.nearest_address(e),
            *self._organisation(e, c),
            self._org_together(e, others),
            float(self.mentions.author is not None),
            self.authored[i],
            max((v for j, v in enumerate(self.authored) if j != i), default=0.0),
            idx.pair_novelty,
            idx.contact_novelty,
        ]

    def _organisation(self, email: str, c: Contact | None) -> tuple[float, float, float]:
        """How many colleagues write to this address; for one nobody writes to, whether one
        keystroke makes one they do (a typo of a correspondent the sender has not written to)."""
        if self.directory is None:
            return 0.0, FAR, 0.0
        others = self.directory.senders(email, c is not None)
        if others or c is not None:
            return math.log1p(others), FAR, 0.0
        distance, strength = self.directory.nearest(email)
        return 0.0, distance, math.log1p(strength)

    @lazy
    def org_pairs(self) -> dict[tuple[str, str], int]:
        if self.directory is None:
            return {}
        together = self.h.together
        return self.directory.together(
            self.emails[:MAX_PAIR_RECIPIENTS], lambda a, b: together(a, b) > 0
        )

    def _org_together(self, email: str, others: list[str]) -> float:
        """The most colleagues who wrote to this address and one of the others in one message:
        a recipient the organisation groups with the rest, though this sender never has."""
        pairs = self.org_pairs
        if not pairs or not others:
            return 0.0
        return math.log1p(max(pairs.get(pair_key(email, o), 0) for o in others))

    def _lookalike(self, email: str, c: Contact | None) -> tuple[float, float]:
        """Edit distance to the nearest other contact, and how strong that contact is.

        Every known address counts, even one written to once: a typo of a first-time
        correspondent's address is as wrong as one of a friend's."""
        if c is not None and c.count >= 5:
            return 6.0, 0.0
        found = process.extract(
            email, self.index.known_emails, scorer=Levenshtein.distance, score_cutoff=4, limit=3
        )
        best_dist, best_count = 6.0, 0
        for other, dist, j in found:
            if other == email:
                continue
            k = self.index.known[j]
            if dist < best_dist or (dist == best_dist and k.count > best_count):
                best_dist, best_count = float(dist), k.count
        return best_dist, math.log1p(best_count)

    def _confusion(
        self,
        i: int,
        tokens: tuple[str, ...],
        others: list[str],
        c: Contact | None,
        linked: int,
    ) -> tuple[float, ...]:
        """How this recipient compares with the contacts an address book would offer beside it
        (same first name, same last name, same first letters): a pick of the wrong one of them
        shows as another fitting the rest of the message better."""
        e = self.emails[i]
        idx = self.index
        pool: dict[str, Contact] = {}
        if tokens and len(tokens[0]) > 2:
            pool.update((k.email, k) for k in idx.by_first.get(tokens[0], ()))
        if len(tokens) >= 2 and len(tokens[-1]) > 2:
            pool.update((k.email, k) for k in idx.by_last.get(tokens[-1], ()))
        pool.update((k.email, k) for k in idx.by_prefix.get(e[:3], ()))
        for email in (e, *others):
            pool.pop(email, None)
        if not pool:
            return (0.0,) * 8
        rivals = sorted(pool.values(), key=lambda k: -k.count)[:8]
        count = c.count if c else 0
        mine_days = math.log1p(_days(self.when, c.last_seen) if c else _NO_DATE)
        rival_days = min(math.log1p(_days(self.when, k.last_seen)) for k in rivals)
        fits_gap = 0.0
        if others:
            mine_fit = linked / len(others)
            links = self.h.neighbours
            best_fit = max(
                sum(1 for o in others if o in links.get(k.email, ())) / len(others) for k in rivals
            )
            fits_gap = best_fit - mine_fit
        content_gap = 0.0
        if len(self.terms) >= 3:
            content_gap = max(self.similarity(k.email) for k in rivals) - self.content.get(e, 0.0)
        topic_gap = 0.0
        if self.topic is not None:
            topic_gap = float(any(k.email in self.topic for k in rivals)) - float(e in self.topic)
        named_gap = (
            max(self.mentions.named(k.email, name_tokens(k)) for k in rivals) - self.named[i]
        )
        author = self.mentions.author
        author_gap = 0.0
        if author is not None:
            author_gap = (
                max(author.match(k.email, name_tokens(k)) for k in rivals) - self.authored[i]
            )
        return (
            math.log1p(len(pool)),
            math.log1p(rivals[0].count) - math.log1p(count),
            mine_days - rival_days,
            fits_gap,
            content_gap,
            topic_gap,
            named_gap,
            author_gap,
        )

    def _domain_lookalike(self, domain: str) -> tuple[float, float]:
        """For a domain never written to: edit distance to the nearest one that was, and how
        much mail went there ("enron.co" beside "enron.com")."""
        idx = self.index
        if idx.domain_contacts.get(domain, 0):
            return 4.0, 0.0
        found = process.extractOne(domain, idx.domains, scorer=Levenshtein.distance, score_cutoff=3)
        if found is None:
            return 4.0, 0.0
        other, dist, _ = found
        return float(dist), math.log1p(idx.domain_messages.get(other, 0))

    def _namesake(
        self, tokens: tuple[str, ...], email: str, others: list[str], mine: float
    ) -> tuple[float, float]:
        if not tokens or len(tokens[0]) <= 2:
            return 0.0, 0.0
        namesakes = [
            k
            for k in self.index.by_first.get(tokens[0], ())
            if k.email != email and k.email not in others
        ]
        if not namesakes:
            return 0.0, 0.0
        links = self.h.neighbours
        fits = 0.0
        if others:
            fits = float(any(links.get(k.email, set()) & set(others) for k in namesakes[:50]))
        gap = 0.0
        if len(self.terms) >= 3:
            best = max(
                (self.similarity(k.email) for k in sorted(namesakes, key=lambda k: -k.count)[:5]),
                default=0.0,
            )
            gap = best - mine
        return fits, gap


def feature_matrix(
    ctx: CheckContext, recipients: tuple[Recipient, ...], rule_scores: Mapping[str, float]
) -> tuple[tuple[Recipient, ...], np.ndarray]:
    """One row per recipient (the sender excluded), exactly as training computed them."""
    recipients = tuple(r for r in recipients if r.email != ctx.sender_email)
    mf = MessageFeatures(
        ctx.history,
        recipients,
        ctx.orgs,
        ctx.terms,
        ctx.message.date,
        ctx.thread_participants,
        ctx.message.is_reply,
        rule_scores,
        Mentions.of(ctx.message.subject, ctx.message.body_text, answered_author(ctx)),
        ctx.history.thread_participants((topic,)) if (topic := ctx.message.topic) else None,
        ctx.message.subject_says_reply,
        ctx.models.get(DIRECTORY_NAME),
    )
    return recipients, np.array(
        [mf.vector(i) for i in range(len(recipients))], dtype=np.float32
    ).reshape(len(recipients), len(FEATURES))
