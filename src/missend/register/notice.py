"""The notice to the people affected (GDPR Art. 34), addressed so nobody sees anyone else.

The addresses go through missend's own fix (`rewrite_recipients`, everyone to Bcc, To becomes
undisclosed-recipients), and the result is parsed again and refused if any address is still
visible: the apology for a Bcc mistake must not repeat it.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from missend.hold.queue import now
from missend.message.parse import parse_message
from missend.register.model import Incident
from missend.rewrite import bcc_change, rewrite_recipients


class NoticeError(ValueError):
    pass


def notice_text(incident: Incident, *, organisation: str, contact: str) -> str:
    who = organisation or "We"
    lines = [
        "Dear recipient,",
        "",
        f"{who} must tell you about a mistake that affects your personal data.",
        "",
        "What happened: "
        + (
            incident.description
            or f'an e-mail message ("{incident.subject or "(no subject)"}") was sent to people '
            "who should not have received it."
        ),
    ]
    if incident.categories:
        lines.append(f"The information concerned: {', '.join(incident.categories)}.")
    if incident.consequences:
        lines += ["", f"What this may mean for you: {incident.consequences}"]
    if incident.measures:
        lines += ["", f"What we have done: {incident.measures}"]
    lines += [
        "",
        "Please be careful with unexpected messages that mention this, and do not reply to or "
        "forward the message you received in error. If you received it, please delete it.",
        "",
        f"If you have questions, contact our data protection officer: {contact or 'see our website'}.",
        "",
        f"Reference: {incident.reference}",
    ]
    return "\n".join(lines) + "\n"


def subjects_notice(
    incident: Incident,
    *,
    notice_from: str,
    organisation: str = "",
    contact: str = "",
    subject: str | None = None,
    body: str | None = None,
) -> bytes:
    """The RFC 5322 notice, every affected address in Bcc only."""
    addresses = list(incident.affected)
    if not addresses:
        raise NoticeError(
            f"{incident.reference} lists nobody affected; add their addresses to 'affected' first"
        )
    msg = EmailMessage()
    msg["From"] = notice_from
    msg["To"] = ", ".join(addresses)
    msg["Subject"] = subject or (
        f"Important information about your personal data ({incident.reference})"
    )
    msg["Date"] = format_datetime(now())
    msg["Message-ID"] = make_msgid(domain=notice_from.rpartition("@")[2].strip("<> ") or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        body
        or notice_text(
            incident,
            organisation=organisation,
            contact=contact or incident.dpo_contact,
        )
    )
    raw = rewrite_recipients(bytes(msg), bcc_change(addresses))
    parsed = parse_message(raw, headers_only=True)
    if parsed.visible:
        raise NoticeError("the notice would show recipients' addresses; it was not generated")
    if {r.email for r in parsed.hidden} != set(addresses):
        raise NoticeError("the notice does not reach exactly the people affected")
    return raw
