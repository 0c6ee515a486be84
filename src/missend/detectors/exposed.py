"""Bcc omission: outsiders who would learn each other's addresses and have no reason to.

Counting recipients is what mail clients do, and it is wrong both ways: 300 colleagues in To is
fine, 12 members of the public in To is a breach. What matters is how many unrelated parties are
exposed to each other. Recipients belong to one party when they share an organisation, have been
written to together before, or are already in the same thread; a private address is its own party.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from missend.detectors.base import CheckContext, Detector, Finding, Fix, FixKind, Settings
from missend.message.model import Recipient

_REPLY_SUBJECT = re.compile(r"^\s*(re|aw|sv|vs|antw|odp|rif|r)\s*(\[\d+\])?\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class ExposedSettings(Settings):
    personal_weight: float = 1.0
    organisation_weight: float = 0.35
    free_parties: float = 1.5
    scale: float = 4.0
    reply_discount: float = 0.5


class _Parties:
    """Union-find over recipient addresses."""

    def __init__(self, emails: list[str]) -> None:
        self.parent = {e: e for e in emails}

    def find(self, e: str) -> str:
        root = e
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[e] != root:
            self.parent[e], e = root, self.parent[e]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra

    def groups(self) -> list[list[str]]:
        out: dict[str, list[str]] = {}
        for e in self.parent:
            out.setdefault(self.find(e), []).append(e)
        return list(out.values())


def _is_reply(ctx: CheckContext) -> bool:
    return ctx.message.is_reply or bool(_REPLY_SUBJECT.match(ctx.message.subject))


class ExposedRecipients(Detector):
    name = "exposed-recipients"
    summary = (
        "Visible recipients outside the organisation who do not know each other (Bcc omission)."
    )
    settings_class = ExposedSettings

    def parties(self, ctx: CheckContext, visible: Sequence[Recipient]) -> list[list[str]]:
        emails = [r.email for r in visible]
        members = set(emails)
        uf = _Parties(emails)
        by_org: dict[str, str] = {}
        for email in emails:
            org = ctx.orgs.org_of(email)
            if org in by_org:
                uf.union(by_org[org], email)
            else:
                by_org[org] = email
        links = ctx.history.neighbours
        for email in emails:
            known = links.get(email)
            if known:
                for other in known & members:
                    uf.union(email, other)
        thread = [e for e in emails if e in ctx.thread_participants]
        for other in thread[1:]:
            uf.union(thread[0], other)
        return uf.groups()

    def check(self, ctx: CheckContext) -> Sequence[Finding]:
        s = self.settings
        assert isinstance(s, ExposedSettings)
        visible = ctx.external_visible
        if len(visible) < 2:
            return ()
        groups = self.parties(ctx, visible)
        if len(groups) < 2:
            return ()
        private = [g for g in groups if all(ctx.orgs.is_personal(e) for e in g)]
        organisations = len(groups) - len(private)
        private_people = sum(len(g) for g in private)
        units = s.personal_weight * len(private) + s.organisation_weight * organisations
        reply = _is_reply(ctx)
        if reply:
            units *= s.reply_discount
        severity = 1.0 - math.exp(-max(0.0, units - s.free_parties) / s.scale)
        if severity <= 0.0:
            return ()
        emails = tuple(r.email for r in visible)
        return (
            Finding(
                detector=self.name,
                severity=severity,
                title=f"{len(emails)} outside recipients can see each other's addresses",
                explanation=self._explain(len(emails), len(groups), private_people, organisations),
                fix=Fix(
                    FixKind.MOVE_TO_BCC,
                    f"Move the {len(emails)} outside recipients to Bcc, so that nobody sees who "
                    "else received the message.",
                    recipients=emails,
                ),
                recipients=emails,
                evidence={
                    "visible_external": len(emails),
                    "parties": len(groups),
                    "private_addresses": private_people,
                    "organisations": organisations,
                    "reply": reply,
                },
            ),
        )

    @staticmethod
    def _explain(count: int, parties: int, private: int, organisations: int) -> str:
        kinds: list[str] = []
        if private:
            kinds.append(f"{private} private e-mail address{'es' if private != 1 else ''}")
        if organisations:
            kinds.append(
                f"{organisations} separate organisation{'s' if organisations != 1 else ''}"
            )
        return (
            f"Everyone who receives this message will see the addresses of all {count} people "
            f"outside your organisation in To and Cc. They belong to {parties} unrelated groups "
            f"({' and '.join(kinds)}) who have not been written to together before, so sending "
            "would disclose their addresses, and that they are your contacts, to each other."
        )
