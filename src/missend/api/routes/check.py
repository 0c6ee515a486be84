"""`POST /v1/check` and `POST /v1/decisions`: the mail client's two calls around Send."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from missend.api.auth import Client, Svc, not_found
from missend.api.drafts import (
    DraftError,
    applied,
    change_for,
    draft_bytes,
    fix_label,
    recipient_lists,
    with_recipients,
)
from missend.api.schemas import (
    CheckOut,
    DecisionIn,
    DecisionOut,
    DraftIn,
    FindingOut,
    FixOut,
    Problem,
)
from missend.api.services import Services
from missend.api.tokens import Principal
from missend.detectors.base import Fix, FixKind
from missend.hold.queue import now
from missend.message.model import Message
from missend.message.parse import parse_message
from missend.register.hooks import against_advice, new_incident
from missend.register.model import Source, reference
from missend.verdict import Action, Verdict

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["check"])

_RECIPIENT_FIXES = (FixKind.MOVE_TO_BCC, FixKind.REMOVE_RECIPIENTS, FixKind.REPLACE_RECIPIENT)
_CHECK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/DraftIn"}},
            "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    413: {"model": Problem},
    429: {"model": Problem},
}


def _draft(request_type: str, body: bytes) -> bytes:
    media = request_type.split(";", maxsplit=1)[0].strip().lower()
    if media == "message/rfc822":
        if not body.strip():
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "the message is empty")
        return body
    if media == "application/json":
        try:
            draft = DraftIn.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc
        try:
            return draft_bytes(draft)
        except DraftError as exc:
            raise HTTPException(422, str(exc)) from exc
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        "send the draft as application/json or the whole message as message/rfc822",
    )


def _fixes(raw: bytes, verdict: Verdict) -> list[FixOut]:
    """Each offered fix with the recipient lists it would leave, so a client applies it as is."""
    out: list[FixOut] = []
    for i, fix in enumerate(verdict.fixes, 1):
        fix_id = f"fix-{i}"
        result = (
            recipient_lists(applied(raw, change_for([fix])))
            if fix.kind in _RECIPIENT_FIXES
            else None
        )
        out.append(
            FixOut(
                id=fix_id,
                kind=str(fix.kind),
                label=fix_label(fix),
                description=fix.description,
                recipients=list(fix.recipients),
                replacements=dict(fix.replacements),
                parts=list(fix.parts),
                result=result,
            )
        )
    return out


def _fix_id(fix: Fix | None, verdict: Verdict) -> str | None:
    if fix is None:
        return None
    for i, known in enumerate(verdict.fixes, 1):
        if known == fix:
            return f"fix-{i}"
    return None


def _check(svc: Services, who: Principal, raw: bytes) -> CheckOut:
    message = parse_message(raw)
    sender = message.sender.email if message.sender else ""
    if not sender:
        raise HTTPException(422, "the draft has no From address")
    if not who.may_act_for(sender):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "this token may only check messages from its own sender"
        )
    history = svc.store.reveal(svc.histories.get(sender), message.recipients)
    verdict = svc.engine.check(message, history)
    fixes = _fixes(raw, verdict)
    every = change_for(f for f in verdict.fixes if f.kind in _RECIPIENT_FIXES)
    with svc.audit.transaction() as conn:
        verdict_id = svc.verdicts.save(conn, verdict, raw, message.subject, who.token_id)
        svc.audit.append(
            conn,
            who.actor,
            "verdict",
            verdict_id,
            {
                "action": str(verdict.action),
                "risk": round(verdict.risk, 3),
                "recipients": verdict.recipients,
                "detectors": sorted(
                    {d.finding.detector for d in verdict.findings if d.action != Action.ALLOW}
                ),
            },
        )
    svc.purge_now_and_then()
    acted = verdict.action != Action.ALLOW
    return CheckOut(
        verdict_id=verdict_id,
        action=str(verdict.action),
        risk=round(verdict.risk, 3),
        sender=sender,
        recipients=verdict.recipients,
        findings=[
            FindingOut(
                detector=d.finding.detector,
                action=str(d.action),
                severity=round(d.finding.severity, 3),
                title=d.finding.title,
                explanation=d.finding.explanation,
                recipients=list(d.finding.recipients),
                parts=list(d.finding.parts),
                fix_id=_fix_id(d.finding.fix, verdict),
                evidence=d.finding.to_dict()["evidence"],
            )
            for d in verdict.findings
        ],
        fixes=fixes,
        fixed=recipient_lists(applied(raw, every) if not every.is_empty() else message),
        choices=["fixed", "sent_anyway", "cancelled"] if acted else ["sent", "cancelled"],
        reason_required=acted,
        expires_at=now() + timedelta(hours=svc.settings.api.verdict_hours),
    )


@router.post(
    "/check",
    response_model=CheckOut,
    openapi_extra=_CHECK_BODY,
    responses={**_ERRORS, 415: {"model": Problem}, 422: {"model": Problem}},
    summary="Check a draft before it is sent",
)
async def check(
    *,
    request: Request,
    who: Client,
    svc: Svc,
) -> CheckOut:
    """The verdict for a draft (JSON) or a whole message (`message/rfc822`), with one-click fixes."""
    raw = _draft(request.headers.get("content-type", ""), await request.body())
    return await run_in_threadpool(_check, svc, who, raw)


def _sent_message(record_raw: bytes, body: DecisionIn, verdict: dict[str, Any]) -> Message:
    message = parse_message(record_raw)
    if body.decision != "fixed":
        return message
    if body.to is not None or body.cc is not None or body.bcc is not None:
        return with_recipients(message, body.to, body.cc, body.bcc)
    offered = [
        Fix(
            FixKind(f["kind"]),
            f.get("description", ""),
            tuple(f.get("recipients") or ()),
            dict(f.get("replacements") or {}),
        )
        for f in verdict.get("fixes") or ()
        if f.get("kind") in {str(k) for k in _RECIPIENT_FIXES}
    ]
    wanted = set(body.fix_ids) if body.fix_ids is not None else None
    chosen = [f for i, f in enumerate(offered, 1) if wanted is None or f"fix-{i}" in wanted]
    return replace(message, recipients=applied(record_raw, change_for(chosen)).recipients)


def _decide(svc: Services, who: Principal, body: DecisionIn) -> DecisionOut:
    record = svc.verdicts.get(body.verdict_id)
    if record is None or not who.may_act_for(record.sender):
        raise not_found("verdict")
    if record.decision is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"this verdict was already decided ({record.decision})"
        )
    acted = record.action != str(Action.ALLOW)
    reason = (body.reason or "").strip()
    if body.decision == "sent" and acted:
        raise HTTPException(
            422,
            "this verdict raised findings: choose fixed, sent_anyway (with a reason) or cancelled",
        )
    if body.decision == "sent_anyway" and acted and not reason:
        raise HTTPException(422, "sending anyway needs a reason")
    sent = body.decision != "cancelled"
    message: Message | None = None
    if sent and record.raw is not None:
        try:
            message = _sent_message(record.raw, body, record.verdict)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
    threshold = svc.settings.register.threshold
    opens = body.decision == "sent_anyway" and against_advice(record.verdict, threshold)
    incident_id: int | None = None
    with svc.audit.transaction() as conn:
        if opens:
            stamp = now()
            incident_id = svc.register.open_in(
                conn,
                new_incident(
                    record.verdict,
                    source=Source.SENT_ANYWAY,
                    aware_at=stamp,
                    reported_by=who.actor,
                    sender=record.sender,
                    subject=record.subject,
                    sent_at=stamp,
                    verdict_id=record.id,
                    description=(
                        f"The sender sent the message although missend advised "
                        f"'{record.action}'. Their reason: {reason or '(none given)'}"
                    ),
                    dpo_contact=svc.settings.register.dpo_contact,
                ),
                who.actor,
            )
        if not svc.verdicts.decide(conn, record.id, body.decision, reason or None, incident_id):
            raise HTTPException(status.HTTP_409_CONFLICT, "this verdict was already decided")
        svc.audit.append(
            conn,
            who.actor,
            "decision",
            record.id,
            {
                "decision": body.decision,
                "verdict_action": record.action,
                "reason_given": bool(reason),
                "incident": incident_id,
            },
        )
    learned = False
    if message is not None and svc.config.learn.from_traffic:
        try:
            svc.store.learn([message])
            svc.histories.forget(record.sender)
            learned = True
        except Exception:  # the decision is recorded; a failed history update must not undo it
            log.exception("learning a sent message failed")
    incident_ref = reference(incident_id) if incident_id is not None else None
    return DecisionOut(
        verdict_id=record.id,
        decision=body.decision,
        learned=learned,
        incident_id=incident_id,
        incident_reference=incident_ref,
    )


@router.post(
    "/decisions",
    response_model=DecisionOut,
    responses={**_ERRORS, 404: {"model": Problem}, 409: {"model": Problem}},
    summary="Say what the sender did with a verdict",
)
def decide(
    *,
    body: DecisionIn,
    who: Client,
    svc: Svc,
) -> DecisionOut:
    """fixed, sent_anyway (with a reason), cancelled, or sent (nothing was found).

    Sending anyway against a hold or block opens an incident in the breach register."""
    return _decide(svc, who, body)
