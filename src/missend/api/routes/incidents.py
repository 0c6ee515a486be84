"""The breach register over HTTP: create, update, list, export, actions, report and notice."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response

from missend.api.auth import Officer, Svc, not_found
from missend.api.schemas import (
    ActionIn,
    IncidentCreate,
    IncidentList,
    IncidentOut,
    IncidentUpdate,
    Problem,
    ReportOut,
)
from missend.api.services import Services
from missend.api.tokens import Principal
from missend.hold.queue import now
from missend.register.export import to_csv, to_json
from missend.register.hooks import new_incident
from missend.register.model import ActionKind, Incident, NewIncident, Source, Status
from missend.register.notice import NoticeError, subjects_notice
from missend.register.report import regulator_report
from missend.register.repository import IncidentNotFound, InvalidChange, VersionConflict

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    429: {"model": Problem},
}
_ONE: dict[int | str, dict[str, Any]] = {**_ERRORS, 404: {"model": Problem}}
_MAX_EXPORT = 100_000


def out(incident: Incident) -> IncidentOut:
    return IncidentOut.model_validate(incident.to_dict())


def _get(svc: Services, incident_id: int) -> Incident:
    try:
        return svc.register.get(incident_id)
    except IncidentNotFound as exc:
        raise not_found("incident") from exc


def _prefilled(svc: Services, body: IncidentCreate, who: Principal) -> NewIncident:
    stamp = now()
    aware = body.aware_at or stamp
    dpo = svc.settings.register.dpo_contact
    if body.verdict_id:
        record = svc.verdicts.get(body.verdict_id)
        if record is None:
            raise not_found("verdict")
        base = new_incident(
            record.verdict,
            source=Source.REPORT,
            aware_at=aware,
            reported_by=who.actor,
            sender=record.sender,
            subject=record.subject,
            verdict_id=record.id,
            dpo_contact=dpo,
        )
    elif body.hold_id:
        held = svc.queue.get(body.hold_id)
        if held is None:
            raise not_found("held message")
        base = new_incident(
            held.verdict,
            source=Source.REPORT,
            aware_at=aware,
            reported_by=who.actor,
            sender=held.sender,
            subject=held.subject,
            hold_id=held.id,
            dpo_contact=dpo,
        )
    else:
        if not body.title:
            raise HTTPException(
                422,
                "give a title, or a verdict_id or hold_id to start from",
            )
        base = NewIncident(
            title=body.title,
            source=Source.REPORT,
            aware_at=aware,
            reported_by=who.actor,
            dpo_contact=dpo,
        )
    given = body.model_dump(exclude_unset=True, exclude={"verdict_id", "hold_id"})
    values: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    for name in ("recipients", "affected", "categories", "special_categories"):
        if name in values:
            values[name] = tuple(values[name])
    fields = {**{f: getattr(base, f) for f in NewIncident.__dataclass_fields__}, **values}
    return NewIncident(**fields)


@router.post(
    "",
    response_model=IncidentOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ONE, 422: {"model": Problem}},
    summary="Report an incident",
)
def create_incident(*, body: IncidentCreate, who: Officer, svc: Svc) -> IncidentOut:
    """Opens an incident; `verdict_id` or `hold_id` prefills it from that message's findings."""
    try:
        return out(svc.register.open(_prefilled(svc, body, who), who.actor))
    except InvalidChange as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("", response_model=IncidentList, responses=_ERRORS, summary="List incidents")
def list_incidents(
    *,
    status_: Annotated[Literal["open", "closed"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    who: Officer,
    svc: Svc,
) -> IncidentList:
    wanted = Status(status_) if status_ else None
    found = svc.register.find(wanted, limit=limit, offset=offset)
    return IncidentList(incidents=[out(i) for i in found], total=svc.register.count(wanted))


@router.get(
    "/export",
    responses={
        **_ERRORS,
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
            "description": "The register",
        },
    },
    response_class=Response,
    summary="Export the register as CSV or JSON",
)
def export_incidents(
    *,
    format_: Annotated[Literal["csv", "json"], Query(alias="format")] = "csv",
    status_: Annotated[Literal["open", "closed"] | None, Query(alias="status")] = None,
    who: Officer,
    svc: Svc,
) -> Response:
    found = svc.register.find(Status(status_) if status_ else None, limit=_MAX_EXPORT)
    stamp = now().strftime("%Y%m%d")
    if format_ == "json":
        return Response(
            to_json(found),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="incidents-{stamp}.json"'},
        )
    return Response(
        to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="incidents-{stamp}.csv"'},
    )


@router.get("/{incident_id}", response_model=IncidentOut, responses=_ONE, summary="Show one")
def show_incident(*, incident_id: int, who: Officer, svc: Svc) -> IncidentOut:
    return out(_get(svc, incident_id))


@router.patch(
    "/{incident_id}",
    response_model=IncidentOut,
    responses={**_ONE, 409: {"model": Problem}, 422: {"model": Problem}},
    summary="Update an incident",
)
def update_incident(
    *,
    incident_id: int,
    body: IncidentUpdate,
    who: Officer,
    svc: Svc,
) -> IncidentOut:
    """Only the fields given change; `version` guards against overwriting someone else's edit."""
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("title", "description", "subject", "consequences", "measures", "dpo_contact"):
        if name in changes and changes[name] is None:
            raise HTTPException(422, f"{name} cannot be null")
    for name in ("aware_at", "people", "records", "status"):
        if name in changes and changes[name] is None:
            raise HTTPException(422, f"{name} cannot be null")
    for name in ("recipients", "affected", "categories", "special_categories"):
        if name in changes and changes[name] is None:
            changes[name] = []
    for name in ("regulator_reasoning", "subjects_reasoning"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    try:
        return out(svc.register.update(incident_id, changes, who.actor, body.version))
    except IncidentNotFound as exc:
        raise not_found("incident") from exc
    except VersionConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except InvalidChange as exc:
        raise HTTPException(422, str(exc)) from exc


@router.post(
    "/{incident_id}/actions",
    response_model=IncidentOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_ONE, 422: {"model": Problem}},
    summary="Record an action taken (recall, deletion request, apology, notification)",
)
def add_action(
    *,
    incident_id: int,
    body: ActionIn,
    who: Officer,
    svc: Svc,
) -> IncidentOut:
    try:
        return out(
            svc.register.add_action(
                incident_id,
                ActionKind(body.kind),
                who.actor,
                description=body.description,
                recipient=body.recipient,
                taken_at=body.taken_at,
            )
        )
    except IncidentNotFound as exc:
        raise not_found("incident") from exc
    except InvalidChange as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get(
    "/{incident_id}/report",
    response_model=ReportOut,
    responses=_ONE,
    summary="The draft notification to the regulator (Art. 33(3))",
)
def report(*, incident_id: int, who: Officer, svc: Svc) -> ReportOut:
    settings = svc.settings.register
    draft = regulator_report(
        _get(svc, incident_id),
        organisation=settings.organisation,
        dpo_contact=settings.dpo_contact,
    )
    return ReportOut(**draft.to_dict())


@router.get(
    "/{incident_id}/notice",
    responses={
        **_ONE,
        409: {"model": Problem},
        200: {
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The notice, every affected address in Bcc",
        },
    },
    response_class=Response,
    summary="The notice to the people affected (Art. 34), addresses hidden",
)
def notice(*, incident_id: int, who: Officer, svc: Svc) -> Response:
    settings = svc.settings.register
    incident = _get(svc, incident_id)
    try:
        raw = subjects_notice(
            incident,
            notice_from=settings.notice_from or svc.config.hold.notice_from,
            organisation=settings.organisation,
            contact=incident.dpo_contact or settings.dpo_contact,
        )
    except NoticeError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return Response(
        raw,
        media_type="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="{incident.reference}-notice.eml"'},
    )
