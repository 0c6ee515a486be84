"""A recipient who does not fit the sender's history: probably not the person meant.

Writing to someone new is normal (about a quarter of real messages include a first contact), so a
first contact alone never warns. What warns is a new or rare address that looks like a stronger
contact (a typo, a sibling domain, the same name at another address, a private address beside the
same person's work address), or one picked instead of a same-named contact who fits the others.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from typing import TYPE_CHECKING

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from missend.detectors.base import CheckContext, Detector, Finding, Fix, FixKind, Settings
from missend.history.model import Contact, SenderHistory
from missend.history.terms import cosine, squares
from missend.learning.features import answered_author, feature_matrix
from missend.learning.features import name_tokens as person_tokens
from missend.message.model import Recipient
from missend.orgs import Organisations, org_name, registrable_domain

if TYPE_CHECKING:
    from missend.learning.model import MisdirectModel

_NOTE_FLOOR = 0.2
_TOKEN = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def name_tokens(text: str) -> tuple[str, ...]:
    return tuple(t.lower() for t in _TOKEN.findall(text))


def person_key(contact_name: str) -> str:
    """Order-free form of a display name, so "Reed, Tom" and "Tom Reed" match."""
    return " ".join(sorted(name_tokens(contact_name)))


@dataclass(frozen=True)
class MisdirectedSettings(Settings):
    strong_count: int = 2
    max_distance: int = 2
    typo_severity: float = 0.85
    sibling_severity: float = 0.7
    local_typo_severity: float = 0.6
    same_name_severity: float = 0.65
    private_address_severity: float = 0.6
    wrong_namesake_severity: float = 0.6
    answered_namesake_severity: float = 0.7
    content_margin: float = 0.15
    max_full_checks: int = 50
    """Above this many recipients only domain slips are looked for (a broadcast's risk is exposure)."""


@dataclass(frozen=True, slots=True)
class _Suspect:
    recipient: Recipient
    severity: float
    reason: str
    title: str
    intended: Contact | None


class _Known:
    """The sender's strong contacts, indexed the ways look-alikes are searched for.

    Built once per history state and kept in `history.derived`, so a check costs lookups, not
    a pass over every contact.
    """

    def __init__(self, history: SenderHistory, strong_count: int, orgs: Organisations) -> None:
        self.strong = [c for c in history.contacts.values() if c.count >= strong_count]
        self.emails = [c.email for c in self.strong]
        self.by_name: dict[str, list[Contact]] = {}
        self.by_first: dict[str, list[Contact]] = {}
        self.by_local: dict[str, list[Contact]] = {}
        self.by_name_pair: dict[tuple[str, str], list[Contact]] = {}
        for c in self.strong:
            key = person_key(c.name)
            if " " in key:
                self.by_name.setdefault(key, []).append(c)
            first = _first_name(c)
            if first:
                self.by_first.setdefault(first, []).append(c)
            self.by_local.setdefault(c.email.rpartition("@")[0], []).append(c)
            if not orgs.is_personal(c.email):
                tokens = name_tokens(c.name) or _local_tokens(c.email.rpartition("@")[0])
                for pair in combinations(sorted(set(tokens)), 2):
                    self.by_name_pair.setdefault(pair, []).append(c)
        for contacts in self.by_first.values():
            contacts.sort(key=lambda c: -c.count)
        self.first_emails = {f: {c.email: c for c in cs} for f, cs in self.by_first.items()}
        self.profiles = history.profiles
        self._squares: dict[str, int] = {}

    def profile_squares(self, email: str) -> int:
        """A profile's sum of squares, for cosines against it; profiles change only with the
        history state this index belongs to."""
        found = self._squares.get(email)
        if found is None:
            found = self._squares[email] = squares(self.profiles.get(email) or Counter())
        return found

    def near(self, email: str, max_distance: int, everyone: bool = True) -> list[Contact]:
        """Strong contacts within `max_distance` edits, nearest first. With `everyone` False (a
        message to very many people) only a slip in the domain is looked for: one exact lookup
        instead of a pass over every contact for each of hundreds of recipients."""
        local = email.rpartition("@")[0]
        if everyone:
            found = process.extract(
                email, self.emails, scorer=Levenshtein.distance, score_cutoff=max_distance, limit=4
            )
            return [self.strong[i] for e, _, i in found if e != email][:3]
        return [c for c in self.by_local.get(local, ()) if c.email != email][:3]

    @classmethod
    def of(cls, ctx: CheckContext, strong_count: int) -> _Known:
        key = f"misdirected.known.{strong_count}"
        known = ctx.history.derived.get(key)
        if not isinstance(known, cls):
            known = ctx.history.derived[key] = cls(ctx.history, strong_count, ctx.orgs)
        return known


def _local_tokens(local: str) -> tuple[str, ...]:
    return name_tokens(re.sub(r"[._-]", " ", local))


def _first_name(c: Contact | Recipient) -> str:
    name = c.address.name if isinstance(c, Recipient) else c.name
    if name:
        tokens = name_tokens(name.split(",", 1)[1] if "," in name else name)
        return tokens[0] if tokens else ""
    local = c.email.rpartition("@")[0] if isinstance(c, Contact) else c.address.local
    tokens = name_tokens(re.split(r"[._-]", local)[0])
    return tokens[0] if tokens and len(tokens[0]) > 2 else ""


def _who(c: Contact) -> str:
    return f"{c.name} <{c.email}>" if c.name else c.email


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


class MisdirectedRecipient(Detector):
    name = "misdirected-recipient"
    summary = "A recipient who looks like a slip for someone the sender usually writes to."
    settings_class = MisdirectedSettings

    def check(self, ctx: CheckContext) -> Sequence[Finding]:
        model = ctx.models.get("misdirect")
        rules = self.rule_findings(ctx)
        s = self.settings
        assert isinstance(s, MisdirectedSettings)
        if model is None or len(ctx.recipients) > s.max_full_checks:
            return rules
        return self._scored(ctx, model, rules)

    def _scored(
        self, ctx: CheckContext, model: MisdirectModel, rules: Sequence[Finding]
    ) -> Sequence[Finding]:
        """The model decides; the rules, which know the likely intended contact, explain."""
        by_recipient = {f.recipients[0]: f for f in rules}
        recipients, x = feature_matrix(
            ctx, ctx.recipients, {k: f.severity for k, f in by_recipient.items()}
        )
        scores, kinds = model.judge(x)
        findings: list[Finding] = []
        for i, r in enumerate(recipients):
            severity = model.severity(float(scores[i]))
            if severity < _NOTE_FLOOR:
                continue
            evidence = {"model_score": round(float(scores[i]), 4), "resembles": kinds[i]}
            rule = by_recipient.get(r.email)
            if rule is not None:
                findings.append(
                    replace(
                        rule,
                        severity=severity,
                        scores={r.email: severity},
                        evidence={**rule.evidence, **evidence},
                    )
                )
            else:
                findings.append(self._unusual(ctx, r, severity, kinds[i], evidence))
        return findings

    def _unusual(
        self,
        ctx: CheckContext,
        r: Recipient,
        severity: float,
        kind: str,
        evidence: dict[str, object],
    ) -> Finding:
        c = ctx.history.contact(r.email)
        others = [x.email for x in ctx.recipients if x.email != r.email]
        if c is None:
            history = f"You have never written to {r.email} before"
        else:
            history = f"You have written to {r.email} {_times(c.count)}"
        if others and not (ctx.history.neighbours.get(r.email, set()) & set(others)):
            history += ", and never together with the other recipients"
        elif not others and c is not None:
            history += ", but not about things like this"
        return Finding(
            detector=self.name,
            severity=severity,
            title=f"{r.email} may not be meant for this message",
            explanation=f"{history}. This looks like how mis-sends usually happen ({kind.replace('-', ' ')}).",
            fix=Fix(
                FixKind.REMOVE_RECIPIENTS,
                f"Check {r.email} and remove it if it was not meant.",
                recipients=(r.email,),
            ),
            recipients=(r.email,),
            scores={r.email: severity},
            evidence={**evidence, "field": str(r.field)},
        )

    def rule_findings(self, ctx: CheckContext) -> Sequence[Finding]:
        """What the hand-written rules see: look-alikes, private addresses, the wrong namesake."""
        s = self.settings
        assert isinstance(s, MisdirectedSettings)
        if not ctx.history.contacts:
            return ()
        known = _Known.of(ctx, s.strong_count)
        if not known.strong:
            return ()
        present = {r.email for r in ctx.recipients}
        full = len(present) <= s.max_full_checks
        findings: list[Finding] = []
        answered = self._answered(ctx, known, present) if full else None
        for r in ctx.recipients:
            c = ctx.history.contact(r.email)
            by_answer = self._namesake_of(r, answered, s) if answered is not None else None
            if by_answer is not None:
                findings.append(self._finding(by_answer))
                continue
            if c is not None and c.count >= s.strong_count:
                continue
            suspect = (
                self._lookalike(ctx, known, r, s)
                or self._private_beside_work(ctx, known, r, present, s)
                or self._same_name(known, r, s)
                or (full and self._wrong_namesake(ctx, known, r, present, s))
            )
            if suspect:
                findings.append(self._finding(suspect))
        return findings

    @staticmethod
    def _answered(ctx: CheckContext, known: _Known, present: set[str]) -> Contact | None:
        """The known contact whose quoted mail the draft answers, when no recipient is them:
        by the address the attribution shows, else by two of its name words (among contacts
        written to more than once, at work addresses, which the rule pass indexes anyway)."""
        author = answered_author(ctx)
        if author is None:
            return None
        if any(author.match(r.email, person_tokens(r)) >= 1.0 for r in ctx.recipients):
            return None
        for address in sorted(author.addresses):
            c = ctx.history.contact(address)
            if c is not None and address not in present:
                return c
        words = sorted(w for w in author.words if len(w) >= 2)[:12]
        found = [
            c
            for pair in combinations(words, 2)
            for c in known.by_name_pair.get(pair, ())
            if c.email not in present
        ]
        return max(found, key=lambda c: c.count) if found else None

    @staticmethod
    def _namesake_of(r: Recipient, answered: Contact, s: MisdirectedSettings) -> _Suspect | None:
        """A recipient sharing a first name, a last name or the first letters of the address of
        the person the draft answers, without being them: the address book's other pick."""
        mine, theirs = person_tokens(r), person_tokens(answered)
        named = bool(mine and theirs)
        if named and set(mine) == set(theirs):
            return None  # the same person at another address: the other checks judge that
        if named and mine[0] == theirs[0] and len(mine[0]) > 2:
            shared = mine[0].title()
        elif named and mine[-1] == theirs[-1] and len(mine[-1]) > 2:
            shared = mine[-1].title()
        elif r.email[:3] == answered.email[:3] and r.email[3:4] != "@":
            shared = ""
        else:
            return None
        who = answered.name or answered.email
        return _Suspect(
            r,
            s.answered_namesake_severity,
            f"This message answers the mail from {who} quoted in it, but it goes to {r.email}, "
            f"not to {answered.email}."
            + (f" Did you pick the wrong {shared}?" if shared else " Did you pick the wrong name?"),
            f"{r.email} may not be the {who} you are answering",
            answered,
        )

    def _lookalike(
        self, ctx: CheckContext, known: _Known, r: Recipient, s: MisdirectedSettings
    ) -> _Suspect | None:
        local, domain = r.address.local, r.address.domain
        for k in known.near(r.email, s.max_distance, len(ctx.recipients) <= s.max_full_checks):
            email = k.email
            k_local, k_domain = email.rpartition("@")[::2]
            if k_local == local and registrable_domain(k_domain) != registrable_domain(domain):
                return _Suspect(
                    r,
                    s.typo_severity,
                    f"You have never written to {r.email} before, but you have written to "
                    f"{_who(k)} {_times(k.count)}. The domain {domain} differs from {k_domain} by a "
                    "typing slip.",
                    f"{r.email} looks like a typo of {k.email}",
                    k,
                )
            if (
                k_domain == domain
                and ctx.history.contact(r.email) is None
                and Levenshtein.distance(local, k_local) <= (1 if len(local) < 10 else 2)
            ):
                return _Suspect(
                    r,
                    s.local_typo_severity,
                    f"You have never written to {r.email} before, but you have written to "
                    f"{_who(k)} {_times(k.count)}, whose address differs by one or two letters.",
                    f"{r.email} looks like a typo of {k.email}",
                    k,
                )
        for k in known.by_local.get(local, ()):
            k_domain = k.email.rpartition("@")[2]
            if (
                registrable_domain(k_domain) != registrable_domain(domain)
                and org_name(k_domain) == org_name(domain)
                and not ctx.orgs.is_personal(r.email)
            ):
                return _Suspect(
                    r,
                    s.sibling_severity,
                    f"You have never written to {r.email} before, but you have written to "
                    f"{_who(k)} {_times(k.count)}. {domain} is a different domain from {k_domain}, "
                    "though the names look alike.",
                    f"{r.email} may be the wrong domain for {k.email}",
                    k,
                )
        return None

    def _private_beside_work(
        self,
        ctx: CheckContext,
        known: _Known,
        r: Recipient,
        present: set[str],
        s: MisdirectedSettings,
    ) -> _Suspect | None:
        if not ctx.orgs.is_personal(r.email):
            return None
        tokens = set(_local_tokens(r.address.local)) | set(name_tokens(r.address.name))
        candidates: list[Contact] = []
        for pair in combinations(sorted(tokens), 2):
            candidates.extend(known.by_name_pair.get(pair, ()))
        if not candidates:
            return None
        k = max(candidates, key=lambda c: (c.email in present, c.count))
        both = k.email in present
        who = k.name or k.email
        return _Suspect(
            r,
            s.private_address_severity + (0.1 if both else 0.0),
            f"{r.email} looks like {who}'s private address; you have always written to "
            f"the work address {k.email} ({_times(k.count)})"
            + (", which is also on this message." if both else "."),
            f"{r.email} looks like a private address of {who}",
            None if both else k,
        )

    def _same_name(self, known: _Known, r: Recipient, s: MisdirectedSettings) -> _Suspect | None:
        key = person_key(r.address.name)
        if " " not in key:
            return None
        for k in known.by_name.get(key, ()):
            if k.email != r.email:
                return _Suspect(
                    r,
                    s.same_name_severity,
                    f"You usually write to {r.address.name} at {k.email} ({_times(k.count)}); "
                    f"this message goes to a different address, {r.email}, that you have "
                    "rarely or never used.",
                    f"{r.address.name} at an unusual address",
                    k,
                )
        return None

    def _wrong_namesake(
        self,
        ctx: CheckContext,
        known: _Known,
        r: Recipient,
        present: set[str],
        s: MisdirectedSettings,
    ) -> _Suspect | None:
        first = _first_name(r)
        if not first:
            return None
        others = present - {r.email}
        all_namesakes = known.by_first.get(first, ())
        if not all_namesakes or (len(all_namesakes) == 1 and all_namesakes[0].email in present):
            return None
        links = ctx.history.neighbours
        if others and links.get(r.email, set()) & others:
            return None
        draft = ctx.terms
        draft_squares = squares(draft)
        profiles = ctx.history.profiles

        fits: dict[str, tuple[int, float]] = {}

        def fit(email: str) -> tuple[int, float]:
            found = fits.get(email)
            if found is None:
                shared = len(links.get(email, set()) & others)
                profile = profiles.get(email)
                content = (
                    cosine(draft, profile, draft_squares, known.profile_squares(email))
                    if profile and len(draft) >= 3
                    else 0.0
                )
                found = fits[email] = (shared, content)
            return found

        r_content = fit(r.email)[1]
        shortlist = self._shortlist(ctx, known, first, others, present)
        if not shortlist:
            return None
        k = max(shortlist, key=lambda c: (fit(c.email), c.count))
        k_shared, k_content = fit(k.email)
        by_company = k_shared > 0
        by_content = k_content - r_content >= s.content_margin
        strong_content = k_content - r_content >= 2 * s.content_margin
        if not ((by_company and by_content) or strong_content):
            return None
        reasons = []
        if by_company:
            reasons.append(f"{_who(k)} usually is on messages with the other recipients")
        if by_content:
            reasons.append(f"what you write here is what you usually write to {_who(k)}")
        never = (
            "has never been on a message with the other recipients"
            if others
            else "rarely gets messages like this"
        )
        return _Suspect(
            r,
            s.wrong_namesake_severity if others else s.wrong_namesake_severity - 0.1,
            f"{r.email} {never}, but {' and '.join(reasons)}. Did you pick the wrong "
            f"{first.title()}?",
            f"{r.email} may be the wrong {first.title()}",
            k,
        )

    @staticmethod
    def _shortlist(
        ctx: CheckContext, known: _Known, first: str, others: set[str], present: set[str]
    ) -> list[Contact]:
        """The few same-named contacts worth comparing: those who usually go with the others,
        else the most written-to; scoring every namesake would cost a pass over the history."""
        by_email = known.first_emails.get(first, {})
        links = ctx.history.neighbours
        counts = ctx.scratch.get("misdirected.neighbour_counts")
        if not isinstance(counts, Counter):
            counts = Counter(n for o in present for n in links.get(o, ()))
            ctx.scratch["misdirected.neighbour_counts"] = counts
        mine = links.get(next(iter(present - others), ""), set())
        small, large = (by_email, counts) if len(by_email) <= len(counts) else (counts, by_email)
        linked: Counter[str] = Counter(
            {
                e: counts[e] - (e in mine)
                for e in small
                if e in large and counts[e] - (e in mine) > 0
            }
        )
        picked = [by_email[e] for e, _ in linked.most_common(5) if e not in present]
        if not picked:
            picked = [c for c in known.by_first.get(first, ())[:6] if c.email not in present][:5]
        return picked

    def _finding(self, suspect: _Suspect) -> Finding:
        r, k = suspect.recipient, suspect.intended
        if k is not None:
            fix = Fix(
                FixKind.REPLACE_RECIPIENT,
                f"Replace {r.email} with {k.email}.",
                recipients=(r.email,),
                replacements={r.email: k.email},
            )
        else:
            fix = Fix(FixKind.REMOVE_RECIPIENTS, f"Remove {r.email}.", recipients=(r.email,))
        return Finding(
            detector=self.name,
            severity=suspect.severity,
            title=suspect.title,
            explanation=suspect.reason,
            fix=fix,
            recipients=(r.email,),
            scores={r.email: suspect.severity},
            evidence={"intended": k.email if k else None, "field": str(r.field)},
        )
