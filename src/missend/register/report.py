"""The draft notification to the supervisory authority, laid out as GDPR Art. 33(3) lists it.

A draft, not a filing: each regulator has its own form, but every form asks these four things, and
a gap is named in the draft rather than left blank so nobody files it unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from missend.register.deadlines import remaining
from missend.register.model import Incident, Risk

MISSING = "[to be completed]"


@dataclass(frozen=True, slots=True)
class ReportDraft:
    reference: str
    organisation: str
    nature: str
    contact: str
    consequences: str
    measures: str
    timing: str
    assessment: str

    def sections(self) -> list[tuple[str, str]]:
        return [
            ("(a) Nature of the personal data breach", self.nature),
            ("(b) Data protection officer or other contact point", self.contact),
            ("(c) Likely consequences of the breach", self.consequences),
            ("(d) Measures taken or proposed", self.measures),
            ("Timing", self.timing),
            ("Risk assessment", self.assessment),
        ]

    def as_text(self) -> str:
        lines = [
            f"Personal data breach notification (GDPR Art. 33) - DRAFT - {self.reference}",
            f"Controller: {self.organisation or MISSING}",
            "",
        ]
        for heading, body in self.sections():
            lines += [heading, "-" * len(heading), body, ""]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, str]:
        return {
            "reference": self.reference,
            "organisation": self.organisation,
            "nature": self.nature,
            "contact": self.contact,
            "consequences": self.consequences,
            "measures": self.measures,
            "timing": self.timing,
            "assessment": self.assessment,
            "text": self.as_text(),
        }


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _nature(incident: Incident) -> str:
    parts = [
        "Confidentiality breach: an e-mail message was sent to recipients who should not have "
        "received the personal data in it."
    ]
    if incident.description:
        parts.append(incident.description)
    message = f'Message: "{incident.subject or "(no subject)"}"'
    if incident.sent_at:
        message += f", sent {_when(incident.sent_at)}"
    if incident.message_id:
        message += f", Message-ID {incident.message_id}"
    parts.append(message + ".")
    parts.append(f"Recipients who received data they should not have: {len(incident.recipients)}.")
    categories = ", ".join(incident.categories) or MISSING
    parts.append(f"Categories of personal data concerned: {categories}.")
    if incident.special_categories:
        parts.append(
            "Special categories of personal data (Art. 9) concerned: "
            f"{', '.join(incident.special_categories)}."
        )
    parts.append(f"Approximate number of data subjects concerned: {incident.people or MISSING}.")
    parts.append(
        f"Approximate number of personal data records concerned: {incident.records or MISSING}."
    )
    return "\n".join(parts)


def _measures(incident: Incident) -> str:
    lines = [incident.measures] if incident.measures else []
    for action in incident.actions:
        who = f" ({action.recipient})" if action.recipient else ""
        text = f": {action.description}" if action.description else ""
        lines.append(f"- {_when(action.taken_at)} {action.kind.replace('_', ' ')}{who}{text}")
    if incident.notify_subjects is True:
        lines.append("- The people affected are being told (Art. 34).")
    elif incident.notify_subjects is False:
        lines.append(
            f"- The people affected are not being told: {incident.subjects_reasoning or MISSING}"
        )
    return "\n".join(lines) or MISSING


def _timing(incident: Incident, at: datetime | None) -> str:
    lines = [
        f"The organisation became aware of the breach on {_when(incident.aware_at)}.",
        f"The 72-hour deadline for notifying the supervisory authority is {_when(incident.deadline_at)}.",
    ]
    if incident.regulator_notified_at:
        lines.append(f"Notified on {_when(incident.regulator_notified_at)}.")
    elif remaining(incident.deadline_at, at).total_seconds() < 0:
        lines.append(
            "This notification is made after the 72-hour deadline; Art. 33(1) requires the "
            f"reasons for the delay: {MISSING}"
        )
    return "\n".join(lines)


def _assessment(incident: Incident) -> str:
    if incident.risk is None:
        return f"Likelihood and severity of the risk to the people affected: {MISSING}"
    verdict = {
        Risk.UNLIKELY: "unlikely to result in a risk to the rights and freedoms of natural persons",
        Risk.RISK: "likely to result in a risk to the rights and freedoms of natural persons",
        Risk.HIGH: "likely to result in a high risk to the rights and freedoms of natural persons",
    }[incident.risk]
    lines = [
        f"Likelihood: {incident.likelihood}; severity: {incident.severity}; the breach is {verdict}."
    ]
    if incident.notify_regulator is not None:
        decision = "notify" if incident.notify_regulator else "not to notify"
        lines.append(
            f"Decision to {decision} the supervisory authority: "
            f"{incident.regulator_reasoning or MISSING}"
        )
    return "\n".join(lines)


def regulator_report(
    incident: Incident, *, organisation: str = "", dpo_contact: str = "", at: datetime | None = None
) -> ReportDraft:
    """The Art. 33(3) draft; the incident's own DPO contact wins over the organisation default."""
    return ReportDraft(
        reference=incident.reference,
        organisation=organisation,
        nature=_nature(incident),
        contact=incident.dpo_contact or dpo_contact or MISSING,
        consequences=incident.consequences or MISSING,
        measures=_measures(incident),
        timing=_timing(incident, at),
        assessment=_assessment(incident),
    )
