"""Mail the relay itself must get out: retries, bounces and hold notices, kept in the hold queue.

Once the client has its 250, anything still owed (a recipient the next hop deferred, a bounce for
one it refused, the notice about a held message) is written to the hold queue as a delayed entry
before the reply goes out. The scheduler sends these like any delayed message, so they survive a
crash and any node sharing the store can send them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from email.message import Message as EmailPart
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid
from typing import Any

from missend.config import HoldConfig
from missend.hold.notice import sender_notice
from missend.hold.queue import Held, HoldQueue, Reason, now
from missend.message import Message, parse_message
from missend.smtp.upstream import Delivery, Reply

SOURCE = "smtp"
_ENHANCED = re.compile(r"\A\s*([245]\.\d{1,3}\.\d{1,3})\b")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
HEADERS_LIMIT = 64 * 1024


def generated(kind: str) -> dict[str, Any]:
    """The verdict stored with mail missend wrote itself (it is not checked: it says nothing new)."""
    return {"action": "allow", "risk": 0.0, "findings": [], "generated": kind}


def enqueue(
    queue: HoldQueue,
    raw: bytes,
    mail_from: str,
    rcpt_tos: Sequence[str],
    verdict: dict[str, Any],
    *,
    sender: str = "",
    subject: str = "",
    delay: timedelta = timedelta(0),
) -> Held:
    return queue.hold(
        raw,
        mail_from,
        list(rcpt_tos),
        verdict,
        sender=sender or mail_from or "MAILER-DAEMON",
        subject=subject,
        reason=Reason.DELAY,
        delay=delay,
        source=SOURCE,
    )


def learnable(held: Held) -> Message | None:
    """The sent message to learn from; None for mail missend wrote itself or for the retry of
    recipients deferred after the rest were delivered (learned with the first delivery)."""
    if held.verdict.get("generated") or held.verdict.get("deferred"):
        return None
    return parse_message(held.raw, held.envelope_from or None, list(held.envelope_to))


def status_code(reply: Reply) -> str:
    """The enhanced status code (RFC 3463) of a reply, or the class-only code when it has none."""
    found = _ENHANCED.match(reply.text)
    return found.group(1) if found else f"{reply.code // 100}.0.0"


def original_headers(raw: bytes) -> str:
    end = _HEADER_END.search(raw, 0, HEADERS_LIMIT)
    head = raw[: end.start()] if end else raw[:HEADERS_LIMIT]
    return head.decode("ascii", "replace").replace("\ufffd", "?").replace("\r\n", "\n")


def bounce(
    original: bytes,
    mail_from: str,
    failed: dict[str, Reply],
    *,
    host: str,
    why: str = "the receiving mail server refused it",
) -> bytes:
    """A delivery status notification (RFC 3464) telling the sender who did not get the message."""
    lines = [
        "This is the mail system at " + host + ".",
        "",
        f"Your message could not be delivered to {len(failed)} recipient(s): {why}.",
        "The other recipients (if any) received it. The message was not sent again.",
        "",
    ]
    lines += [f"  <{rcpt}>: {reply.code} {reply.text}" for rcpt, reply in failed.items()]
    report = MIMEMultipart("report", report_type="delivery-status")
    text = "\n".join(lines) + "\n"
    report.attach(MIMEText(text, "plain", "us-ascii" if text.isascii() else "utf-8"))
    fields = EmailPart()
    fields["Reporting-MTA"] = f"dns; {host}"
    fields["Arrival-Date"] = format_datetime(now())
    blocks: list[EmailPart | str] = [fields]
    for rcpt, reply in failed.items():
        block = EmailPart()
        block["Final-Recipient"] = f"rfc822; {rcpt}"
        block["Action"] = "failed"
        block["Status"] = status_code(reply)
        block["Diagnostic-Code"] = f"smtp; {reply.code} {reply.text}"[:900]
        blocks.append(block)
    status = MIMEBase("message", "delivery-status")
    status.set_payload(blocks)
    report.attach(status)
    report.attach(MIMEText(original_headers(original), "rfc822-headers", "us-ascii"))
    report["From"] = f"Mail Delivery System <MAILER-DAEMON@{host}>"
    report["To"] = mail_from
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = format_datetime(now())
    report["Message-ID"] = make_msgid(domain=host)
    report["Auto-Submitted"] = "auto-replied"
    return report.as_bytes()


def bounce_later(
    queue: HoldQueue,
    original: bytes,
    mail_from: str,
    failed: dict[str, Reply],
    *,
    host: str,
    why: str = "the receiving mail server refused it",
) -> Held | None:
    """Queue a bounce; never for a bounce (null sender), which would loop."""
    if not mail_from or not failed:
        return None
    raw = bounce(original, mail_from, failed, host=host, why=why)
    return enqueue(
        queue, raw, "", [mail_from], generated("bounce"), subject="Undelivered Mail", sender=""
    )


def settle(
    queue: HoldQueue,
    delivery: Delivery,
    *,
    data: bytes,
    mail_from: str,
    sender: str,
    subject: str,
    verdict: dict[str, Any],
    host: str,
    retry_in: timedelta,
) -> None:
    """Recipients refused while others took the message: deferred ones are retried, refused bounced."""
    deferred = [rcpt for rcpt, reply in delivery.refused.items() if reply.temporary]
    failed = {rcpt: reply for rcpt, reply in delivery.refused.items() if not reply.temporary}
    if deferred:
        enqueue(
            queue,
            data,
            mail_from,
            deferred,
            {**verdict, "deferred": True},
            sender=sender,
            subject=subject,
            delay=retry_in,
        )
    bounce_later(queue, data, mail_from, failed, host=host)


def notify(queue: HoldQueue, held: Held, config: HoldConfig, secret: bytes) -> Held | None:
    """Queue the notice telling the sender why their message was held and how to let it go.

    It goes to the envelope sender (who submitted the message), not to whatever the From header
    claims, so a forged From cannot have someone else told about the message.
    """
    to = held.envelope_from or held.sender
    if "@" not in to:
        return None
    notice = sender_notice(
        replace(held, sender=to),
        notice_from=config.notice_from,
        secret=secret,
        ttl_seconds=config.token_hours * 3600,
        base_url=config.base_url,
    )
    return enqueue(
        queue,
        notice.as_bytes(),
        "",
        [to],
        generated("notice"),
        subject=str(notice["Subject"]),
        sender="",
    )
