"""The detector extension point: a named class with one `check` that returns findings.

A detector reads a `CheckContext` (the message, the sender's history, who is internal) and says
what it found in words the sender understands, with the exact fix. It knows nothing of actions:
the policy turns findings into a decision.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar

from missend.history.model import SenderHistory
from missend.history.terms import term_counts
from missend.lazy import lazy
from missend.message.model import Message, Recipient
from missend.orgs import Organisations


class FixKind(StrEnum):
    MOVE_TO_BCC = "move-to-bcc"
    REMOVE_RECIPIENTS = "remove-recipients"
    REPLACE_RECIPIENT = "replace-recipient"
    REMOVE_ATTACHMENT = "remove-attachment"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class Fix:
    """One action that removes the risk; `recipients` and `replacements` make it mechanical."""

    kind: FixKind
    description: str
    recipients: tuple[str, ...] = ()
    replacements: Mapping[str, str] = field(default_factory=dict)
    parts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "description": self.description,
            "recipients": list(self.recipients),
            "replacements": dict(self.replacements),
            "parts": list(self.parts),
        }


@dataclass(frozen=True, slots=True)
class Finding:
    detector: str
    severity: float
    title: str
    explanation: str
    fix: Fix | None = None
    recipients: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "severity": round(self.severity, 3),
            "title": self.title,
            "explanation": self.explanation,
            "fix": self.fix.to_dict() if self.fix else None,
            "recipients": list(self.recipients),
            "parts": list(self.parts),
            "scores": {k: round(v, 3) for k, v in self.scores.items()},
            "evidence": dict(self.evidence),
        }


class CheckContext:
    """What a detector may read, with derived facts computed once and shared."""

    def __init__(
        self,
        message: Message,
        history: SenderHistory,
        orgs: Organisations,
        models: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.history = history
        self.models: Mapping[str, Any] = models or {}
        """Trained models by name (e.g. "misdirect"); a detector without its model uses rules."""
        self.scratch: dict[str, Any] = {}
        """Per-check values a detector computes once for all recipients (keys prefixed by name)."""
        sender = message.sender
        self.sender_email = sender.email if sender else ""
        if not orgs.internal and self.sender_email:
            orgs = orgs.with_internal([self.sender_email.rpartition("@")[2]])
        self.orgs = orgs

    @lazy
    def recipients(self) -> tuple[Recipient, ...]:
        return tuple(r for r in self.message.recipients if r.email != self.sender_email)

    @lazy
    def external(self) -> tuple[Recipient, ...]:
        return tuple(r for r in self.recipients if not self.orgs.is_internal(r.email))

    @lazy
    def external_visible(self) -> tuple[Recipient, ...]:
        return tuple(r for r in self.external if r.visible)

    @lazy
    def terms(self) -> Counter[int]:
        """The draft's hashed words, as history profiles count them."""
        return term_counts(self.message.subject, self.message.body_text)

    @lazy
    def thread_participants(self) -> frozenset[str]:
        return self.history.thread_participants(self.message.thread_ids)


@dataclass(frozen=True)
class Settings:
    """Base for a detector's tunables; subclasses add fields with defaults, set from the policy."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str) -> Settings:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - {k.replace("_", "-") for k in known} - set(known))
        if unknown:
            raise ValueError(f"{where}: unknown setting(s) {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            default = getattr(cls(), name)
            if isinstance(default, bool) != isinstance(value, bool) or not isinstance(
                value, type(default) if not isinstance(default, float) else (int, float)
            ):
                raise ValueError(f"{where}.{key}: expected {type(default).__name__}, got {value!r}")
            kwargs[name] = float(value) if isinstance(default, float) else value
        return cls(**kwargs)


class Detector(ABC):
    """Subclass, set `name`, and implement `check`. Register the class with a `Registry`."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    settings_class: ClassVar[type[Settings]] = Settings

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or self.settings_class()

    @abstractmethod
    def check(self, ctx: CheckContext) -> Sequence[Finding]:
        """Every finding for this message; an empty sequence when all is well."""
