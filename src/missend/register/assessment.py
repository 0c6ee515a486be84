"""What a verdict already tells the register: who got what, how many people, which data.

The findings that stopped (or should have stopped) a message are the best first draft of an
incident: the exposed addresses, the misdirected recipient and the one intended, the categories
and counts of personal data. The officer corrects the draft; nothing here is final.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from missend.detectors.personal_data.categories import KINDS, SPECIAL_CATEGORIES
from missend.register.model import Level

CONTACT_DETAILS = "contact details (e-mail addresses)"
_IDENTITY = frozenset(k.key for k in KINDS.values() if k.identity)
_NOT_ACTED = ("allow", None)


@dataclass(frozen=True, slots=True)
class Prefill:
    title: str
    recipients: tuple[str, ...]
    affected: tuple[str, ...]
    categories: tuple[str, ...]
    special_categories: tuple[str, ...]
    people: int
    records: int
    likelihood: Level
    severity: Level
    consequences: str


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def prefill(verdict: Mapping[str, Any], *, only_acted: bool = True) -> Prefill:
    """The incident draft from a verdict (`Verdict.to_dict()` form, as stored with holds)."""
    findings: Sequence[Mapping[str, Any]] = [
        f
        for f in verdict.get("findings") or ()
        if isinstance(f, Mapping) and not (only_acted and f.get("action") in _NOT_ACTED)
    ]
    recipients: list[str] = []
    affected: list[str] = []
    categories: list[str] = []
    special: list[str] = []
    identity = False
    people = records = 0
    titles: list[str] = []
    for f in findings:
        detector = f.get("detector")
        evidence = _mapping(f.get("evidence"))
        found = [r for r in f.get("recipients") or () if isinstance(r, str)]
        if detector == "exposed-recipients":
            recipients += found
            affected += found
            categories.append(CONTACT_DETAILS)
            people = max(people, len(found))
            records = max(records, len(found))
        elif detector == "misdirected-recipient":
            recipients += found
            intended = evidence.get("intended")
            if isinstance(intended, str):
                affected.append(intended)
            people = max(people, 1)
        elif detector == "personal-data":
            recipients += found
            counts = _mapping(evidence.get("counts"))
            for key in counts:
                kind = KINDS.get(str(key))
                if kind is not None:
                    categories.append(kind.plural)
                    identity = identity or kind.identity
            for key in evidence.get("special_categories") or ():
                label = SPECIAL_CATEGORIES.get(str(key))
                special.append(label[0] if label else str(key))
            people = max(people, _int(evidence.get("people")))
            records = max(records, sum(_int(v) for v in counts.values()))
        elif detector == "wrong-attachment":
            recipients += found
            categories += [str(c) for c in evidence.get("columns") or ()]
            rows = _int(evidence.get("records"))
            people = max(people, rows)
            records = max(records, rows)
        else:
            continue
        if isinstance(f.get("title"), str):
            titles.append(f["title"])
    severity = (
        Level.HIGH
        if special or identity
        else Level.MEDIUM
        if people >= 10 or len(set(categories) - {CONTACT_DETAILS}) > 0
        else Level.LOW
    )
    likelihood = (
        Level.HIGH if people >= 100 or special else Level.MEDIUM if recipients else Level.LOW
    )
    return Prefill(
        title=(titles[0] if titles else "Message sent to people who should not have received it"),
        recipients=_unique(recipients),
        affected=_unique(affected),
        categories=_unique(categories),
        special_categories=_unique(special),
        people=people,
        records=records,
        likelihood=likelihood,
        severity=severity,
        consequences=_consequences(categories, special, identity),
    )


def _consequences(categories: Sequence[str], special: Sequence[str], identity: bool) -> str:
    lines: list[str] = []
    if CONTACT_DETAILS in categories:
        lines.append(
            "Recipients learned each other's e-mail addresses and that each is in contact with "
            "the organisation; this can reveal their relationship with it and exposes them to "
            "unwanted contact, phishing and spam."
        )
    if identity:
        lines.append(
            "Identity or financial numbers were disclosed, which can be used for identity theft "
            "or fraud."
        )
    if special:
        lines.append(
            f"Special category data ({', '.join(special)}) was disclosed, which can cause "
            "discrimination, distress or reputational harm."
        )
    others = [c for c in categories if c != CONTACT_DETAILS]
    if others and not identity:
        lines.append(
            "Personal details were disclosed to people with no right to them, a loss of "
            "confidentiality for the people concerned."
        )
    return " ".join(lines)
