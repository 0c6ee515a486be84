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
from dataclasses import dataclass
from functools import cached_property

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from missend.detectors.base import CheckContext, Detector, Finding, Fix, FixKind, Settings
from missend.history.model import Contact
from missend.history.terms import cosine, term_counts
from missend.message.model import Recipient
from missend.orgs import org_name, registrable_domain

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
    content_margin: float = 0.15


@dataclass(frozen=True, slots=True)
class _Suspect:
    recipient: Recipient
    severity: float
    reason: str
    title: str
    intended: Contact | None


class _Known:
    """The sender's strong contacts, indexed the ways look-alikes are searched for."""

    def __init__(self, ctx: CheckContext, strong_count: int) -> None:
        self.ctx = ctx
        self.strong = [c for c in ctx.history.contacts.values() if c.count >= strong_count]

    @cached_property
    def emails(self) -> list[str]:
        return [c.email for c in self.strong]

    @cached_property
    def by_name(self) -> dict[str, list[Contact]]:
        out: dict[str, list[Contact]] = {}
        for c in self.strong:
            key = person_key(c.name)
            if " " in key:
                out.setdefault(key, []).append(c)
        return out

    @cached_property
    def by_first(self) -> dict[str, list[Contact]]:
        out: dict[str, list[Contact]] = {}
        for c in self.strong:
            first = _first_name(c)
            if first:
                out.setdefault(first, []).append(c)
        return out


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
        s = self.settings
        assert isinstance(s, MisdirectedSettings)
        if not ctx.history.contacts:
            return ()
        known = _Known(ctx, s.strong_count)
        if not known.strong:
            return ()
        present = {r.email for r in ctx.recipients}
        findings: list[Finding] = []
        for r in ctx.recipients:
            c = ctx.history.contact(r.email)
            if c is not None and c.count >= s.strong_count:
                continue
            suspect = (
                self._lookalike(ctx, known, r, s)
                or self._private_beside_work(ctx, known, r, present, s)
                or self._same_name(known, r, s)
                or self._wrong_namesake(ctx, known, r, present, s)
            )
            if suspect:
                findings.append(self._finding(suspect))
        return findings

    def _lookalike(
        self, ctx: CheckContext, known: _Known, r: Recipient, s: MisdirectedSettings
    ) -> _Suspect | None:
        matches = process.extract(
            r.email, known.emails, scorer=Levenshtein.distance, score_cutoff=s.max_distance, limit=3
        )
        local, domain = r.address.local, r.address.domain
        for email, _distance, index in matches:
            if email == r.email:
                continue
            k = known.strong[index]
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
        for k in known.strong:
            k_local, k_domain = k.email.rpartition("@")[::2]
            if (
                k_local == local
                and registrable_domain(k_domain) != registrable_domain(domain)
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
        local_tokens = set(name_tokens(r.address.local.replace(".", " ").replace("_", " ")))
        r_key = person_key(r.address.name)
        for k in known.strong:
            if ctx.orgs.is_personal(k.email):
                continue
            k_tokens = set(name_tokens(k.name)) if k.name else set()
            if not k_tokens:
                k_tokens = set(name_tokens(k.email.rpartition("@")[0].replace(".", " ")))
            same_person = (r_key and r_key == person_key(k.name) and " " in r_key) or (
                len(k_tokens) >= 2 and k_tokens <= local_tokens
            )
            if not same_person:
                continue
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
        return None

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
        namesakes = [k for k in known.by_first.get(first, ()) if k.email not in present]
        if not namesakes:
            return None
        links = ctx.history.neighbours
        if others and links.get(r.email, set()) & others:
            return None
        draft = term_counts(ctx.message.subject, ctx.message.body_text)
        profiles = ctx.history.profiles

        def fit(email: str) -> tuple[int, float]:
            shared = len(links.get(email, set()) & others)
            content = cosine(draft, profiles.get(email) or Counter()) if len(draft) >= 3 else 0.0
            return shared, content

        r_content = fit(r.email)[1]
        k = max(namesakes, key=lambda c: (fit(c.email), c.count))
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
