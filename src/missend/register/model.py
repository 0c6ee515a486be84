"""An incident as the register keeps it, and the risk assessment that drives the decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from missend.register.deadlines import remaining


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Source(StrEnum):
    """How the register learned of the incident."""

    SENT_ANYWAY = "sent_anyway"
    HOLD_RELEASE = "hold_release"
    REPORT = "report"


class Level(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def score(self) -> int:
        return {Level.LOW: 1, Level.MEDIUM: 2, Level.HIGH: 3}[self]


class Risk(StrEnum):
    """The three outcomes the GDPR distinguishes (Art. 33(1) and 34(1))."""

    UNLIKELY = "unlikely"
    RISK = "risk"
    HIGH = "high"


class ActionKind(StrEnum):
    RECALL_REQUEST = "recall_request"
    DELETION_REQUEST = "deletion_request"
    DELETION_CONFIRMED = "deletion_confirmed"
    APOLOGY = "apology"
    REGULATOR_NOTIFIED = "regulator_notified"
    SUBJECTS_NOTIFIED = "subjects_notified"
    OTHER = "other"


def reference(incident_id: int) -> str:
    """How people name an incident: INC-000012."""
    return f"INC-{incident_id:06d}"


def assess(likelihood: Level | None, severity: Level | None) -> Risk | None:
    """Likelihood x severity on a 3x3 matrix, the way supervisory authorities' guidance reads it."""
    if likelihood is None or severity is None:
        return None
    score = likelihood.score * severity.score
    if score <= 2:
        return Risk.UNLIKELY
    if score >= 6:
        return Risk.HIGH
    return Risk.RISK


@dataclass(frozen=True, slots=True)
class NewIncident:
    """What opening an incident takes; everything else starts empty and is added by updates."""

    title: str
    source: Source
    aware_at: datetime
    description: str = ""
    sender: str = ""
    message_id: str | None = None
    subject: str = ""
    sent_at: datetime | None = None
    verdict_id: str | None = None
    hold_id: str | None = None
    recipients: tuple[str, ...] = ()
    affected: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    special_categories: tuple[str, ...] = ()
    people: int = 0
    records: int = 0
    likelihood: Level | None = None
    severity: Level | None = None
    consequences: str = ""
    measures: str = ""
    dpo_contact: str = ""
    reported_by: str = ""


@dataclass(frozen=True, slots=True)
class IncidentAction:
    id: int
    incident_id: int
    kind: ActionKind
    description: str
    recipient: str | None
    taken_at: datetime
    recorded_by: str
    recorded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": str(self.kind),
            "description": self.description,
            "recipient": self.recipient,
            "taken_at": self.taken_at.isoformat(),
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    status: Status
    source: Source
    title: str
    description: str
    sender: str
    message_id: str | None
    subject: str
    sent_at: datetime | None
    verdict_id: str | None
    hold_id: str | None
    recipients: tuple[str, ...]
    affected: tuple[str, ...]
    categories: tuple[str, ...]
    special_categories: tuple[str, ...]
    people: int
    records: int
    aware_at: datetime
    deadline_at: datetime
    likelihood: Level | None
    severity: Level | None
    consequences: str
    measures: str
    notify_regulator: bool | None
    regulator_reasoning: str
    regulator_notified_at: datetime | None
    notify_subjects: bool | None
    subjects_reasoning: str
    subjects_notified_at: datetime | None
    dpo_contact: str
    reported_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    actions: tuple[IncidentAction, ...] = field(default=())

    @property
    def reference(self) -> str:
        return reference(self.id)

    @property
    def risk(self) -> Risk | None:
        return assess(self.likelihood, self.severity)

    @property
    def regulator_due(self) -> bool:
        """Whether the 72-hour clock still matters: notification needed (or undecided) and not done."""
        return self.regulator_notified_at is None and self.notify_regulator is not False

    def overdue(self, at: datetime | None = None) -> bool:
        return self.regulator_due and remaining(self.deadline_at, at).total_seconds() < 0

    def to_dict(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        risk = self.risk
        return {
            "id": self.id,
            "reference": self.reference,
            "status": str(self.status),
            "source": str(self.source),
            "title": self.title,
            "description": self.description,
            "sender": self.sender,
            "message_id": self.message_id,
            "subject": self.subject,
            "sent_at": when(self.sent_at),
            "verdict_id": self.verdict_id,
            "hold_id": self.hold_id,
            "recipients": list(self.recipients),
            "affected": list(self.affected),
            "categories": list(self.categories),
            "special_categories": list(self.special_categories),
            "people": self.people,
            "records": self.records,
            "aware_at": self.aware_at.isoformat(),
            "deadline_at": self.deadline_at.isoformat(),
            "overdue": self.overdue(),
            "likelihood": str(self.likelihood) if self.likelihood else None,
            "severity": str(self.severity) if self.severity else None,
            "risk": str(risk) if risk else None,
            "consequences": self.consequences,
            "measures": self.measures,
            "notify_regulator": self.notify_regulator,
            "regulator_reasoning": self.regulator_reasoning,
            "regulator_notified_at": when(self.regulator_notified_at),
            "notify_subjects": self.notify_subjects,
            "subjects_reasoning": self.subjects_reasoning,
            "subjects_notified_at": when(self.subjects_notified_at),
            "dpo_contact": self.dpo_contact,
            "reported_by": self.reported_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
            "actions": [a.to_dict() for a in self.actions],
        }
