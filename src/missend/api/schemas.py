"""The API's wire format: pydantic models at the edge, turned into the core's dataclasses inside."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


def _addresses() -> Any:
    return Field(default_factory=list, max_length=5000)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentIn(Strict):
    filename: str = Field(default="", max_length=255)
    content_type: str = Field(
        default="application/octet-stream",
        max_length=127,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}$",
    )
    content: str = Field(description="The file's bytes, base64-encoded.", max_length=60_000_000)


class DraftIn(Strict):
    """A draft as the mail client holds it before Send."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "Alice Example <alice@example.org>",
                    "to": ["bob@example.net", "carol@example.com", "dan@gmail.com"],
                    "cc": ["eve@example.org"],
                    "subject": "Minutes of Tuesday's meeting",
                    "text": "Hello all,\n\nthe minutes are attached.\n",
                    "attachments": [
                        {
                            "filename": "minutes.txt",
                            "content_type": "text/plain",
                            "content": "TWludXRlcwo=",
                        }
                    ],
                }
            ]
        },
    )

    from_: str = Field(alias="from", min_length=3, max_length=500)
    to: list[str] = _addresses()
    cc: list[str] = _addresses()
    bcc: list[str] = _addresses()
    subject: str = Field(default="", max_length=998)
    text: str | None = Field(default=None, max_length=10_000_000)
    html: str | None = Field(default=None, max_length=10_000_000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=100)
    in_reply_to: str | None = Field(default=None, max_length=998)
    references: list[str] = Field(default_factory=list, max_length=200)
    message_id: str | None = Field(default=None, max_length=998)


class RecipientLists(BaseModel):
    to: list[str]
    cc: list[str]
    bcc: list[str]


class FixOut(BaseModel):
    id: str
    kind: str
    label: str = Field(description='What a button would say, e.g. "Move to Bcc".')
    description: str
    recipients: list[str]
    replacements: dict[str, str]
    parts: list[str]
    result: RecipientLists | None = Field(
        description="The recipient lists after this fix alone; null when it is not about recipients."
    )


class FindingOut(BaseModel):
    detector: str
    action: str
    severity: float
    title: str
    explanation: str
    recipients: list[str]
    parts: list[str]
    fix_id: str | None
    evidence: dict[str, Any]


class CheckOut(BaseModel):
    verdict_id: str
    action: str
    risk: float
    sender: str
    recipients: int
    findings: list[FindingOut]
    fixes: list[FixOut]
    fixed: RecipientLists = Field(
        description="The recipient lists with every recipient fix applied."
    )
    choices: list[str]
    reason_required: bool
    expires_at: datetime


Choice = Literal["sent", "fixed", "sent_anyway", "cancelled"]


class DecisionIn(Strict):
    verdict_id: str = Field(min_length=1, max_length=64)
    decision: Choice
    reason: str | None = Field(default=None, max_length=2000)
    fix_ids: list[str] | None = Field(
        default=None, max_length=100, description="The fixes applied (default: all offered)."
    )
    to: list[str] | None = Field(default=None, max_length=5000)
    cc: list[str] | None = Field(default=None, max_length=5000)
    bcc: list[str] | None = Field(default=None, max_length=5000)


class DecisionOut(BaseModel):
    verdict_id: str
    decision: str
    learned: bool
    incident_id: int | None
    incident_reference: str | None


class HoldOut(BaseModel):
    id: str
    status: str
    reason: str
    sender: str
    recipients: int
    subject: str
    action: str | None
    risk: float | None
    created_at: str
    release_after: str | None
    decided_by: str | None
    source: str


class HoldDetailOut(HoldOut):
    envelope_to: list[str]
    findings: list[dict[str, Any]]
    note: str | None
    last_error: str | None


class ReleaseIn(Strict):
    note: str = Field(default="", max_length=2000)
    reviewed_safe: bool = Field(
        default=False,
        description="An officer checked the message and found it safe: no incident is opened.",
    )


class CancelIn(Strict):
    note: str = Field(default="", max_length=2000)


class ReleaseOut(BaseModel):
    hold: HoldOut
    incident_id: int | None


class LinkOut(BaseModel):
    hold_id: str
    status: str
    message: str


Level = Literal["low", "medium", "high"]


class IncidentFields(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    subject: str | None = Field(default=None, max_length=998)
    message_id: str | None = Field(default=None, max_length=998)
    sent_at: AwareDatetime | None = None
    recipients: list[str] | None = Field(default=None, max_length=100_000)
    affected: list[str] | None = Field(default=None, max_length=100_000)
    categories: list[str] | None = Field(default=None, max_length=100)
    special_categories: list[str] | None = Field(default=None, max_length=100)
    people: int | None = Field(default=None, ge=0, le=2_000_000_000)
    records: int | None = Field(default=None, ge=0, le=2_000_000_000)
    aware_at: AwareDatetime | None = None
    likelihood: Level | None = None
    severity: Level | None = None
    consequences: str | None = Field(default=None, max_length=20_000)
    measures: str | None = Field(default=None, max_length=20_000)
    dpo_contact: str | None = Field(default=None, max_length=500)


class IncidentCreate(IncidentFields):
    verdict_id: str | None = Field(
        default=None, max_length=64, description="Prefill from this verdict's findings."
    )
    hold_id: str | None = Field(
        default=None, max_length=64, description="Prefill from this held message's findings."
    )


class IncidentUpdate(IncidentFields):
    status: Literal["open", "closed"] | None = None
    notify_regulator: bool | None = None
    regulator_reasoning: str | None = Field(default=None, max_length=20_000)
    regulator_notified_at: AwareDatetime | None = None
    notify_subjects: bool | None = None
    subjects_reasoning: str | None = Field(default=None, max_length=20_000)
    subjects_notified_at: AwareDatetime | None = None
    version: int | None = Field(
        default=None, ge=1, description="Refuse the change unless the incident is at this version."
    )


ActionKindName = Literal[
    "recall_request",
    "deletion_request",
    "deletion_confirmed",
    "apology",
    "regulator_notified",
    "subjects_notified",
    "other",
]


class ActionIn(Strict):
    kind: ActionKindName
    description: str = Field(default="", max_length=20_000)
    recipient: str | None = Field(default=None, max_length=320)
    taken_at: AwareDatetime | None = None


class ActionOut(BaseModel):
    id: int
    kind: str
    description: str
    recipient: str | None
    taken_at: str
    recorded_by: str
    recorded_at: str


class IncidentOut(BaseModel):
    id: int
    reference: str
    status: str
    source: str
    title: str
    description: str
    sender: str
    message_id: str | None
    subject: str
    sent_at: str | None
    verdict_id: str | None
    hold_id: str | None
    recipients: list[str]
    affected: list[str]
    categories: list[str]
    special_categories: list[str]
    people: int
    records: int
    aware_at: str
    deadline_at: str
    overdue: bool
    likelihood: str | None
    severity: str | None
    risk: str | None
    consequences: str
    measures: str
    notify_regulator: bool | None
    regulator_reasoning: str
    regulator_notified_at: str | None
    notify_subjects: bool | None
    subjects_reasoning: str
    subjects_notified_at: str | None
    dpo_contact: str
    reported_by: str
    created_at: str
    updated_at: str
    version: int
    actions: list[ActionOut]


class IncidentList(BaseModel):
    incidents: list[IncidentOut]
    total: int


class ReportOut(BaseModel):
    reference: str
    organisation: str
    nature: str
    contact: str
    consequences: str
    measures: str
    timing: str
    assessment: str
    text: str


class TokenCreate(Strict):
    role: Literal["client", "officer", "admin"]
    sender: str | None = Field(default=None, max_length=320)
    label: str = Field(default="", max_length=200)


class TokenOut(BaseModel):
    id: str
    role: str
    sender: str | None
    label: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class TokenIssued(TokenOut):
    token: str = Field(description="Shown once; only its hash is kept.")


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    first_bad: int | None
    reason: str


class Problem(BaseModel):
    detail: str
