"""The personal-data detector: what identifiers a message carries, about how many people, to whom.

Severity is a judgement about the whole message, not about one match: a phone number in a
signature is normal business mail, five hundred national insurance numbers going to another
organisation is a breach. So each kind has a weight for one value and a weight for volume, and the
result is scaled by where the message goes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from missend.detectors.base import CheckContext, Detector, Finding, Fix, FixKind, Settings
from missend.detectors.personal_data.categories import (
    KINDS,
    SPECIAL_CATEGORIES,
    Words,
    special_terms,
    words,
)
from missend.detectors.personal_data.scanner import Scanner
from missend.message.model import Message

MAX_REASONS = 5


@dataclass(frozen=True)
class PersonalDataSettings(Settings):
    min_score: float = 0.5
    report_from: float = 0.15
    email_list_min: int = 10
    bulk_people: int = 500
    combination_bonus: float = 0.05
    personal_address_bonus: float = 0.1
    internal_factor: float = 0.5
    internal_cap: float = 0.5
    internal_many_people: int = 1000
    internal_many_factor: float = 0.8
    special_floor: float = 0.6
    special_bonus: float = 0.1
    special_min_terms: int = 2
    special_min_people: int = 10
    """Rows of a table with personal data that make its special-category words about people.
    Lists of addresses in a body do not count: forwarded chain mail has both."""


@lru_cache(maxsize=8)
def _scanner(min_score: float) -> Scanner:
    return Scanner(min_score=min_score)


def mask(value: str) -> str:
    """Enough to recognise which value is meant, not enough to use it."""
    if len(value) <= 4:
        return "•" * len(value)
    return value[:2] + "•" * (len(value) - 3) + value[-1]


@dataclass
class Found:
    """What one message holds, by kind and by part; values stay inside this object."""

    values: dict[str, set[str]] = field(default_factory=dict)
    parts: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    records: dict[str, tuple[int, int]] = field(default_factory=dict)
    reasons: dict[str, dict[str, None]] = field(default_factory=dict)
    labels: dict[str, dict[str, None]] = field(default_factory=dict)
    special: dict[str, set[str]] = field(default_factory=dict)
    capped: bool = False

    def drop(self, kind: str) -> None:
        self.values.pop(kind, None)
        for kinds in self.parts.values():
            kinds.pop(kind, None)
        self.parts = {p: k for p, k in self.parts.items() if k}

    def counts(self) -> dict[str, int]:
        """Distinct values per kind; a table column mostly filled with a kind counts its rows."""
        out = {kind: len(values) for kind, values in self.values.items()}
        for part, (rows, present) in self.records.items():
            for kind, values in self.parts.get(part, {}).items():
                if len(values) >= 0.5 * present:
                    out[kind] = max(out[kind], rows)
        return out


def scan_message(message: Message, scanner: Scanner, participants: frozenset[str]) -> Found:
    """What the message's parts hold. Special-category words are looked for only once
    something is found, as they only ever add to a finding; most mail has none to add to."""
    found = Found()
    texts: list[tuple[str, str, int | None]] = [
        ("subject", message.subject, None),
        ("body", message.body_text, None),
    ]
    texts += [(a.label, a.text, a.records) for a in message.attachments]
    read: list[Words | str] = []
    for part, text, records in texts:
        if not text:
            continue
        if not scanner.may_find(text):
            read.append(text)
            continue
        text_words = words(text)
        read.append(text_words)
        result = scanner.scan(text, text_words.present)
        found.capped |= result.capped
        for m in result.matches:
            if m.kind == "email" and m.value in participants:
                continue
            found.values.setdefault(m.kind, set()).add(m.value)
            found.parts.setdefault(part, {}).setdefault(m.kind, set()).add(m.value)
            reasons = found.reasons.setdefault(m.kind, {})
            if len(reasons) < MAX_REASONS:
                reasons.update(dict.fromkeys((m.recognizer, *m.reasons)))
            if m.kind == "national-id":
                found.labels.setdefault(m.kind, {})[m.recognizer] = None
        if records and part in found.parts:
            found.records[part] = (records, max(1, min(records, text.count("\n"))))
    if found.values:
        for w in read:
            special_terms(words(w) if isinstance(w, str) else w, found.special)
    return found


class PersonalData(Detector):
    name = "personal-data"
    summary = "Identifiers about people (NI, NHS, card, bank, passport...) and who receives them."
    settings_class = PersonalDataSettings

    def check(self, ctx: CheckContext) -> Sequence[Finding]:
        s = self.settings
        assert isinstance(s, PersonalDataSettings)
        message = ctx.message
        participants = frozenset(
            [ctx.sender_email, *message.recipient_emails]
            + [a.email for a in (*message.from_, *message.reply_to)]
        )
        found = scan_message(message, _scanner(s.min_score), participants)
        if len(found.values.get("email", ())) < s.email_list_min:
            found.drop("email")
        if not found.values:
            return ()
        counts = found.counts()
        people = max(counts.values())
        kind_scores = {
            kind: KINDS[kind].single + KINDS[kind].bulk * _volume(n, s.bulk_people)
            for kind, n in counts.items()
        }
        strong = [k for k in counts if KINDS[k].identity]
        sensitivity = max(kind_scores.values()) + min(
            0.15, s.combination_bonus * max(0, len(strong) - 1)
        )
        special = sorted(
            c for c, terms in found.special.items() if len(terms) >= s.special_min_terms
        )
        table_rows = max((rows for rows, _ in found.records.values()), default=0)
        if not (strong or table_rows >= s.special_min_people):
            special = []
        external = ctx.external
        personal = [r.email for r in external if ctx.orgs.is_personal(r.email)]
        if external:
            severity = sensitivity
            if personal:
                severity += s.personal_address_bonus
            if special:
                severity = max(severity + s.special_bonus * len(special), s.special_floor)
        else:
            severity = sensitivity + (s.special_bonus * len(special) if special else 0.0)
            if people >= s.internal_many_people:
                severity *= s.internal_many_factor
            else:
                severity = min(severity * s.internal_factor, s.internal_cap)
        severity = min(max(severity, 0.0), 1.0)
        if severity < s.report_from:
            return ()
        return (
            self._finding(found, counts, people, special, severity, ctx, personal, sensitivity),
        )

    def _finding(
        self,
        found: Found,
        counts: dict[str, int],
        people: int,
        special: list[str],
        severity: float,
        ctx: CheckContext,
        personal: list[str],
        sensitivity: float,
    ) -> Finding:
        s = self.settings
        assert isinstance(s, PersonalDataSettings)
        external = ctx.external
        parts = tuple(sorted(found.parts, key=lambda p: _part_order(p, found.parts[p])))
        attachments = tuple(p for p in parts if p.startswith("attachment:"))
        explanation = "This message contains " + _describe_parts(found, parts)
        if external:
            n = len(external)
            explanation += (
                f" and is going to {n} {'person' if n == 1 else 'people'} outside your organisation"
            )
            if personal:
                explanation += (
                    f" ({len(personal)} at a personal e-mail address)"
                    if n > 1
                    else " at a personal e-mail address"
                )
        else:
            explanation += " and is going only to people in your organisation"
        explanation += "."
        if people > 1 and people > max(len(v) for v in found.values.values()):
            explanation += f" The tables attached hold rows about {people} people."
        if special:
            names = _join([SPECIAL_CATEGORIES[c][0] for c in special])
            explanation += (
                f" It also mentions {names}, which data protection law treats as especially"
                " sensitive."
            )
        notable = [k for k in _by_weight(counts) if KINDS[k].identity or counts[k] > 1]
        kinds_text = _join([KINDS[k].plural for k in notable or _by_weight(counts)][:3])
        if attachments:
            names = _join([p.removeprefix("attachment:") for p in attachments])
            fix = Fix(
                FixKind.REMOVE_ATTACHMENT,
                f"Remove {names} unless every recipient needs it; if they do, share it through a"
                " secure, access-controlled channel rather than e-mail.",
                parts=attachments,
            )
        elif external:
            fix = Fix(
                FixKind.REVIEW,
                f"Take the {kinds_text} out of the message, or make sure every recipient outside"
                " your organisation is entitled to see them.",
                parts=parts,
            )
        else:
            fix = Fix(
                FixKind.REVIEW,
                f"Check that everyone receiving this needs the {kinds_text}; remove them if not.",
                parts=parts,
            )
        if external:
            title = (
                f"Personal data about {people} people is going outside your organisation"
                if people > 1
                else "Personal data is going outside your organisation"
            )
        else:
            title = f"Personal data about {people} people" if people > 1 else "Personal data"
        examples = {
            kind: mask(min(values)) for kind, values in found.values.items() if kind != "email"
        }
        return Finding(
            detector=self.name,
            severity=severity,
            title=title,
            explanation=explanation,
            fix=fix,
            recipients=tuple(r.email for r in external),
            parts=parts,
            scores={
                "sensitivity": min(sensitivity, 1.0),
                "volume": _volume(people, s.bulk_people),
                "special_categories": float(len(special)),
                "external": 1.0 if external else 0.0,
            },
            evidence={
                "counts": {k: counts[k] for k in _by_weight(counts)},
                "people": people,
                "parts": {p: {k: len(v) for k, v in found.parts[p].items()} for p in parts},
                "special_categories": special,
                "examples": examples,
                "why": {k: list(v) for k, v in found.reasons.items() if k in counts},
                "external_recipients": len(external),
                "personal_addresses": len(personal),
                "capped": found.capped,
            },
        )


def _volume(n: int, full: int) -> float:
    if n <= 1:
        return 0.0
    return min(1.0, math.log(n) / math.log(max(full, 2)))


def _by_weight(counts: dict[str, int] | dict[str, set[str]]) -> list[str]:
    return sorted(counts, key=lambda k: -KINDS[k].single)


def _part_order(part: str, kinds: dict[str, set[str]]) -> tuple[float, str]:
    return (-max(KINDS[k].single + 0.001 * len(v) for k, v in kinds.items()), part)


def _part_name(part: str) -> str:
    if part == "body":
        return "the message text"
    if part == "subject":
        return "the subject"
    return part.removeprefix("attachment:")


def _describe_parts(found: Found, parts: tuple[str, ...]) -> str:
    """Kinds and counts per part; single contact details are left out when there is more."""
    shown: list[tuple[str, list[str]]] = []
    for part in parts:
        held = found.parts[part]
        notable = [k for k in _by_weight(held) if KINDS[k].identity or len(held[k]) > 1]
        if notable:
            shown.append((part, notable))
    if not shown:
        shown = [(p, _by_weight(found.parts[p])) for p in parts]
    pieces = []
    for part, kinds in shown[:3]:
        labels = []
        for kind in kinds[:4]:
            label = KINDS[kind].label(len(found.parts[part][kind]))
            if kind == "national-id":
                label += f" ({', '.join(found.labels.get(kind, {}))})"
            labels.append(label)
        if len(kinds) > 4:
            labels.append("other personal details")
        pieces.append(f"{_join(labels)} in {_part_name(part)}")
    if len(shown) > 3:
        pieces.append(f"more in {len(shown) - 3} other parts")
    return _join(pieces)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
