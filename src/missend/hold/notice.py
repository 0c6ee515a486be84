"""The e-mail that tells a sender their message was held, why, and how to release or cancel it."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from missend.hold.queue import Held, now
from missend.hold.tokens import sign


def sender_notice(
    held: Held,
    *,
    notice_from: str,
    secret: bytes,
    ttl_seconds: int,
    base_url: str | None = None,
) -> EmailMessage:
    """A plain-text notice; links carry signed tokens when a web address for missend is configured."""
    verdict = held.verdict
    findings = [f for f in verdict.get("findings", []) if f.get("action") not in (None, "allow")]
    lines = [
        f'Your message "{held.subject or "(no subject)"}" to {len(held.envelope_to)} '
        "recipient(s) has not been sent yet.",
        "",
        "missend held it back because:",
        "",
    ]
    for f in findings or verdict.get("findings", []):
        lines.append(f"  * {f.get('explanation', '')}")
        fix = f.get("fix") or {}
        if fix.get("description"):
            lines.append(f"    What to do: {fix['description']}")
        lines.append("")
    release = sign(secret, held.id, "release", ttl_seconds)
    cancel = sign(secret, held.id, "cancel", ttl_seconds)
    if base_url:
        root = base_url.rstrip("/")
        lines += [
            "If you are sure it is right, send it as it is:",
            f"  {root}/v1/holds/release?token={release}",
            "",
            "To stop it for good (then correct and send it again):",
            f"  {root}/v1/holds/cancel?token={cancel}",
        ]
    else:
        lines += [
            "To send it as it is, or to stop it, ask your mail administrator to run:",
            f"  missend hold release {held.id}",
            f"  missend hold cancel {held.id}",
        ]
    hours = max(1, ttl_seconds // 3600)
    lines += ["", f"These links work for {hours} hours. Reference: {held.id}"]
    msg = EmailMessage()
    msg["From"] = notice_from
    msg["To"] = held.sender
    msg["Subject"] = f"Held for a second look: {held.subject or '(no subject)'}"[:200]
    msg["Date"] = format_datetime(now())
    msg["Message-ID"] = make_msgid(domain=notice_from.rpartition("@")[2].strip("<> ") or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Missend-Hold"] = held.id
    msg.set_content("\n".join(lines) + "\n")
    return msg
