"""The engine's answer: how risky, what to do, and why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from missend.detectors.base import Finding, Fix


class Action(StrEnum):
    """Ordered from least to most intrusive; a verdict takes the worst of its findings."""

    ALLOW = "allow"
    WARN = "warn"
    FIX = "fix"
    HOLD = "hold"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def exit_code(self) -> int:
        return {Action.ALLOW: 0, Action.WARN: 1}.get(self, 2)


_RANK = {a: i for i, a in enumerate(Action)}


def worst(actions: list[Action]) -> Action:
    return max(actions, key=lambda a: a.rank, default=Action.ALLOW)


@dataclass(frozen=True, slots=True)
class Decided:
    """A finding with the action the policy gave it."""

    finding: Finding
    action: Action


@dataclass(frozen=True, slots=True)
class Verdict:
    risk: float
    action: Action
    findings: tuple[Decided, ...]
    sender: str = ""
    message_id: str | None = None
    recipients: int = 0

    @property
    def fixes(self) -> tuple[Fix, ...]:
        seen: list[Fix] = []
        for d in self.findings:
            if d.finding.fix and d.finding.fix not in seen:
                seen.append(d.finding.fix)
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "risk": round(self.risk, 3),
            "action": str(self.action),
            "sender": self.sender,
            "message_id": self.message_id,
            "recipients": self.recipients,
            "findings": [{**d.finding.to_dict(), "action": str(d.action)} for d in self.findings],
            "fixes": [f.to_dict() for f in self.fixes],
        }
