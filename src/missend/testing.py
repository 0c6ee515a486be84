"""Helpers for tests of code built on missend: raw messages and histories in one line each."""

from __future__ import annotations

import random
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


_FIRST = "ann ben cara dan eva finn gia hal ivy jon kai lea max nia oli pia rex sam tia uma".split()
_LAST = "reed moss park lowe hart gray fox cole bell ames ward shaw knox hale dunn cobb".split()
_TOPICS = [
    "gas pipeline capacity nomination schedule",
    "legal contract amendment signature counterparty",
    "budget forecast quarter spreadsheet variance",
    "hiring interview candidate offer onboarding",
    "trading desk position curve volatility",
    "regulatory filing commission tariff hearing",
]


def synthetic_archive(
    sender: str = "pat.lowe@org.example",
    messages: int = 1500,
    seed: int = 0,
    teams: int = 5,
    team_size: int = 6,
) -> list[bytes]:
    """A sender's plausible sent mail: teams that are written to together, each about its topic,
    plus outside partners and the occasional new contact, in date order."""
    rng = random.Random(seed)
    domain = sender.rpartition("@")[2]
    people: list[tuple[list[str], str]] = []
    for t in range(teams):
        org = domain if t % 2 == 0 else f"partner{t}.example"
        members = [
            f"{rng.choice(_FIRST).title()} {rng.choice(_LAST).title()} <{rng.choice(_FIRST)}.{rng.choice(_LAST)}{t}{i}@{org}>"
            for i in range(team_size)
        ]
        people.append((members, _TOPICS[t % len(_TOPICS)]))
    out: list[bytes] = []
    for n in range(messages):
        members, topic = people[rng.randrange(len(people))]
        to = rng.sample(members, rng.randint(1, min(4, len(members))))
        if rng.random() < 0.05:
            to.append(f"new{n}@elsewhere{n % 7}.example")
        words = topic.split()
        body = " ".join(rng.choice(words) for _ in range(30)) + ".\n"
        out.append(
            raw_message(
                sender,
                to,
                subject=f"{words[0]} {n}",
                body=body,
                date=EPOCH + timedelta(hours=3 * n),
                message_id=f"<{seed}.{n}@{domain}>",
            )
        )
    return out
