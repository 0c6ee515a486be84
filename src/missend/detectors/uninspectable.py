"""Says what could not be inspected, so the policy (not an accident) decides what to do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from missend.detectors.base import CheckContext, Detector, Finding, Fix, FixKind, Settings


@dataclass(frozen=True)
class UninspectableSettings(Settings):
    severity: float = 0.35
    unreadable_attachment_severity: float = 0.5


class Uninspectable(Detector):
    name = "uninspectable"
    summary = "Parts of the message that could not be read and so were not checked."
    settings_class = UninspectableSettings

    def check(self, ctx: CheckContext) -> Sequence[Finding]:
        s = self.settings
        assert isinstance(s, UninspectableSettings)
        defects = ctx.message.defects
        if not defects:
            return ()
        parts = tuple(dict.fromkeys(d.part for d in defects))
        reasons = "; ".join(dict.fromkeys(f"{d.part}: {d.reason}" for d in defects))
        unreadable = [p for p in parts if p.startswith("attachment:")]
        severity = s.unreadable_attachment_severity if unreadable else s.severity
        what = "an attachment" if unreadable and len(parts) == 1 else "parts of this message"
        return (
            Finding(
                detector=self.name,
                severity=severity,
                title="Some of the message could not be checked",
                explanation=(
                    f"missend could not read {what}, so anything in it was not checked "
                    f"for personal data ({reasons[:300]})."
                ),
                fix=Fix(
                    FixKind.REVIEW,
                    "Check the unreadable part yourself, or send it in a readable format.",
                    parts=parts,
                ),
                parts=parts,
                evidence={"defects": [f"{d.part}: {d.reason}" for d in defects][:20]},
            ),
        )
