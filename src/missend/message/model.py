"""The parsed form of one outgoing message.

Everything downstream (detectors, fixes, history) reads this model and never the raw bytes, so a
message is parsed exactly once and every detector sees the same interpretation of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|tr|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|wg|tr|vs)\s*(?:\[\d+\])?\s*:", re.I)
_MIN_TOPIC = 8


class Field(StrEnum):
    """Where a recipient was named: visible to the others (to/cc) or not (bcc, envelope only)."""

    TO = "to"
    CC = "cc"
    BCC = "bcc"
    ENVELOPE = "envelope"


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox: `email` is the comparison key (lower-cased, IDN domain in ASCII form)."""

    email: str
    name: str = ""

    @property
    def local(self) -> str:
        return self.email.rpartition("@")[0]

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    def display(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True, slots=True)
class Recipient:
    address: Address
    field: Field

    @property
    def email(self) -> str:
        return self.address.email

    @property
    def visible(self) -> bool:
        return self.field in (Field.TO, Field.CC)


@dataclass(frozen=True, slots=True)
class Attachment:
    """An attachment with the text we could extract from it, within the configured limits.

    `error` says why content could not be (fully) inspected; `records` counts data rows for
    tabular files so a detector can tell a spreadsheet of many people from a letter.
    """

    filename: str
    content_type: str
    size: int
    text: str = ""
    records: int | None = None
    truncated: bool = False
    error: str | None = None

    @property
    def label(self) -> str:
        return f"attachment:{self.filename or self.content_type}"


@dataclass(frozen=True, slots=True)
class Defect:
    """Something in the message that could not be inspected, and where."""

    part: str
    reason: str


@dataclass(frozen=True, slots=True)
class Message:
    """An outgoing message, parsed once and immutable."""

    from_: tuple[Address, ...] = ()
    sender_header: Address | None = None
    reply_to: tuple[Address, ...] = ()
    recipients: tuple[Recipient, ...] = ()
    envelope_from: str | None = None
    subject: str = ""
    message_id: str | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    date: datetime | None = None
    body_text: str = ""
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[Defect, ...] = ()
    size: int = 0
    headers_only: bool = field(default=False)

    @property
    def sender(self) -> Address | None:
        """Whose history applies: the envelope sender when known, else the first From."""
        if self.envelope_from:
            name = (
                self.from_[0].name
                if self.from_ and self.from_[0].email == self.envelope_from
                else ""
            )
            return Address(self.envelope_from, name)
        if self.from_:
            return self.from_[0]
        return self.sender_header

    @property
    def visible(self) -> tuple[Recipient, ...]:
        return tuple(r for r in self.recipients if r.visible)

    @property
    def hidden(self) -> tuple[Recipient, ...]:
        return tuple(r for r in self.recipients if not r.visible)

    @property
    def recipient_emails(self) -> tuple[str, ...]:
        return tuple(r.email for r in self.recipients)

    @property
    def is_reply(self) -> bool:
        return bool(self.in_reply_to or self.references)

    @property
    def thread_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.in_reply_to + self.references))

    @property
    def topic(self) -> str:
        """The subject without reply and forward prefixes, as "topic:<words>"; "" when too short
        to mean anything. Clients that send no References (and archives that lost them) still
        thread by subject, so history files participants under it too."""
        words = " ".join(_REPLY_PREFIX.sub("", self.subject).lower().split())
        return f"topic:{words}" if len(words) >= _MIN_TOPIC else ""

    @property
    def subject_says_reply(self) -> bool:
        return bool(_REPLY_PREFIX.match(self.subject))

    @property
    def subject_says_forward(self) -> bool:
        """FW:, Fwd:, WG: (German), TR: (French), VS: (Finnish): passing mail on, not answering it."""
        return bool(_FORWARD_PREFIX.match(self.subject))

    @property
    def conversation_ids(self) -> tuple[str, ...]:
        """Every key history files this message's participants under: its id, its thread, its topic."""
        own = (self.message_id,) if self.message_id else ()
        topic = (self.topic,) if self.topic else ()
        return own + self.thread_ids + topic
