"""Helpers for tests of code built on missend: raw messages and histories in one line each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from missend.history.model import SenderHistory
from missend.message import Message, parse_message

EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def raw_message(
    sender: str,
    to: Sequence[str] = (),
    *,
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    subject: str = "Hello",
    body: str = "Hello,\n\nA short note.\n",
    date: datetime | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    attachments: Iterable[tuple[str, str, bytes]] = (),
) -> bytes:
    """An RFC 5322 message; `attachments` are (filename, mime type, content) triples."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to) if to else "undisclosed-recipients:;"
    if cc:
        msg["Cc"] = ", ".join(cc)
    if bcc:
        msg["Bcc"] = ", ".join(bcc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or EPOCH)
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    for filename, mime, content in attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)


def message(sender: str, to: Sequence[str] = (), **kwargs: object) -> Message:
    return parse_message(raw_message(sender, to, **kwargs))  # type: ignore[arg-type]


def history(sender: str, sent: Iterable[Message | bytes]) -> SenderHistory:
    """A sender's history learned from the given sent messages, as `missend learn` would."""
    h = SenderHistory(sender)
    for item in sent:
        h.observe(parse_message(item) if isinstance(item, bytes) else item)
    return h


def days_ago(n: float) -> datetime:
    return EPOCH - timedelta(days=n)
