"""The engine: message + history snapshot + policy in, verdict out. Pure and side-effect free."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from missend.detectors import default_registry
from missend.detectors.base import CheckContext, Finding, Fix, FixKind
from missend.detectors.registry import Registry
from missend.history.model import SenderHistory
from missend.message.model import Message
from missend.orgs import Organisations
from missend.policy import Policy, PolicyError
from missend.verdict import Action, Decided, Verdict, worst

log = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        policy: Policy | None = None,
        registry: Registry | None = None,
        models: Mapping[str, Any] | None = None,
    ) -> None:
        self.policy = policy or Policy()
        self.models = dict(models or {})
        registry = registry or default_registry()
        try:
            self.detectors = registry.create(self.policy.detectors, self.policy.enabled)
        except ValueError as exc:
            raise PolicyError(str(exc)) from exc
        self.orgs = Organisations(self.policy.internal_domains)

    def check(self, message: Message, history: SenderHistory | None = None) -> Verdict:
        sender = message.sender.email if message.sender else ""
        ctx = CheckContext(message, history or SenderHistory(sender), self.orgs, self.models)
        findings: list[Finding] = []
        for detector in self.detectors:
            try:
                findings.extend(detector.check(ctx))
            except Exception as exc:  # one broken detector must not stop the others or the mail
                log.exception("detector %s failed", detector.name)
                findings.append(_failed(detector.name, exc))
        if not findings:
            return Verdict(
                risk=0.0,
                action=Action.ALLOW,
                findings=(),
                sender=sender,
                message_id=message.message_id,
                recipients=len(ctx.recipients),
            )
        decided = tuple(
            Decided(f, self.policy.action_for(f.detector, f.severity))
            for f in sorted(findings, key=lambda f: -f.severity)
        )
        risk = 1.0 - math.prod(1.0 - min(max(f.severity, 0.0), 1.0) for f in findings)
        return Verdict(
            risk=risk,
            action=worst([d.action for d in decided]),
            findings=decided,
            sender=sender,
            message_id=message.message_id,
            recipients=len(ctx.recipients),
        )


def _failed(name: str, exc: Exception) -> Finding:
    return Finding(
        detector="uninspectable",
        severity=0.5,
        title=f"The {name} check could not run",
        explanation=(
            f"missend could not complete its {name} check on this message "
            f"({type(exc).__name__}), so it may hide a risk that was not seen."
        ),
        fix=Fix(FixKind.REVIEW, "Have someone look at the message before it is sent."),
        evidence={"detector": name, "error": type(exc).__name__},
    )
