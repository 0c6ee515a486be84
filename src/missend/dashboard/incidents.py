"""The breach register: the 72-hour clock for each incident, its facts, the regulator-report draft,
the notice to the people affected, and the officer's edits, all through the register's own rules.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from missend.dashboard.sessions import Session
from missend.dashboard.web import (
    HEADERS,
    PREFIX,
    Form,
    FormBody,
    dashboard,
    message,
    page,
    redirect,
    submitted,
    viewer,
)
from missend.hold.queue import now
from missend.register.export import to_csv, to_json
from missend.register.hooks import new_incident
from missend.register.model import ActionKind, Incident, Level, NewIncident, Source, Status
from missend.register.notice import NoticeError, subjects_notice
from missend.register.report import regulator_report
from missend.register.repository import IncidentNotFound, InvalidChange, VersionConflict

router = APIRouter()
OPEN_LIMIT = 1000
PAGE = 100
SOON_HOURS = 24
_TEXTS = ("title", "description", "subject", "consequences", "measures")
_DECISIONS = {"": None, "yes": True, "no": False}


class FormError(ValueError):
    pass


def urgency(incident: Incident, at: datetime) -> str:
    """`overdue`, `soon` (under a day left) or `` — what the row's colour says."""
    if not incident.regulator_due or incident.status == Status.CLOSED:
        return ""
    left = (incident.deadline_at - at).total_seconds()
    if left < 0:
        return "overdue"
    return "soon" if left < SOON_HOURS * 3600 else ""


def addresses(text: str) -> list[str]:
    """Addresses pasted one per line or comma-separated, with or without display names."""
    joined = text.replace("\r", "\n").replace("\n", ",").replace(";", ",")
    return [a for _, a in getaddresses([joined]) if a]


def items(text: str) -> list[str]:
    return [i.strip() for i in text.replace("\n", ",").split(",") if i.strip()]


def _count(form: Form, name: str) -> int:
    value = form.get(name).strip() or "0"
    if not value.isdigit() or len(value) > 10:
        raise FormError(f"{name} must be a whole number, 0 or more")
    return int(value)


def _time(form: Form, name: str, required: bool) -> datetime | None:
    value = form.get(name).strip()
    if not value:
        if required:
            raise FormError(f"{name.replace('_', ' ')} is needed")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FormError(f"{name.replace('_', ' ')} must be a date and time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _level(form: Form, name: str) -> Level | None:
    value = form.get(name)
    if not value:
        return None
    try:
        return Level(value)
    except ValueError:
        raise FormError(f"{name} must be low, medium or high") from None


def values_of(incident: Incident) -> dict[str, Any]:
    """The edit form's fields as text, filled from the incident."""

    def decision(value: bool | None) -> str:
        return "" if value is None else ("yes" if value else "no")

    return {
        **{name: getattr(incident, name) for name in _TEXTS},
        "recipients": "\n".join(incident.recipients),
        "affected": "\n".join(incident.affected),
        "categories": ", ".join(incident.categories),
        "special_categories": ", ".join(incident.special_categories),
        "people": str(incident.people),
        "records": str(incident.records),
        "aware_at": incident.aware_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"),
        "likelihood": str(incident.likelihood or ""),
        "severity": str(incident.severity or ""),
        "notify_regulator": decision(incident.notify_regulator),
        "regulator_reasoning": incident.regulator_reasoning,
        "notify_subjects": decision(incident.notify_subjects),
        "subjects_reasoning": incident.subjects_reasoning,
        "status": str(incident.status),
        "version": str(incident.version),
    }


def _parsed(form: Form, name: str) -> Any:
    """One edit-form field as the register takes it."""
    if name in ("recipients", "affected"):
        return addresses(form.get(name))
    if name in ("categories", "special_categories"):
        return items(form.get(name))
    if name in ("people", "records"):
        return _count(form, name)
    if name == "aware_at":
        return _time(form, name, required=True)
    if name in ("likelihood", "severity"):
        return _level(form, name)
    if name in ("notify_regulator", "notify_subjects"):
        if form.get(name) not in _DECISIONS:
            raise FormError(f"{name} must be yes, no or undecided")
        return _DECISIONS[form.get(name)]
    if name == "status" and form.get(name) not in ("open", "closed"):
        raise FormError("status must be open or closed")
    return form.get(name)


def _changes(form: Form, incident: Incident) -> dict[str, Any]:
    """Only the fields whose text differs from what the form showed: an untouched field (say a
    time shown to the minute) is not rewritten, so saving changes nothing it did not mean to."""
    shown = values_of(incident)
    return {
        name: _parsed(form, name)
        for name in shown
        if name != "version" and name in form.fields and form.get(name) != shown[name]
    }


@router.get("/incidents")
def incidents(request: Request, status: str = "open", offset: int = 0) -> Response:
    session = viewer(request)
    if isinstance(session, Response):
        return session
    register = dashboard(request).svc.register
    stamp = now()
    offset = max(0, min(offset, 10_000_000))
    if status == "open":
        found = sorted(register.find(Status.OPEN, limit=OPEN_LIMIT), key=lambda i: i.deadline_at)
        total = len(found)
    else:
        wanted = Status.CLOSED if status == "closed" else None
        status = "closed" if wanted else "all"
        found = register.find(wanted, limit=PAGE, offset=offset)
        total = register.count(wanted)
    rows = [(i, urgency(i, stamp)) for i in found]
    return page(
        request,
        "incidents.html",
        {
            "rows": rows,
            "status": status,
            "total": total,
            "offset": offset,
            "page": PAGE,
            "overdue": sum(1 for _, u in rows if u == "overdue"),
        },
        session=session,
    )


@router.get("/incidents/export.{format_}")
def export(request: Request, format_: str) -> Response:
    session = viewer(request)
    if isinstance(session, Response):
        return session
    if format_ not in ("csv", "json"):
        return message(request, "Not found", "Export as .csv or .json.", 404, session)
    found = dashboard(request).svc.register.find(None, limit=100_000)
    stamp = now().strftime("%Y%m%d")
    body, media = (
        (to_csv(found), "text/csv") if format_ == "csv" else (to_json(found), "application/json")
    )
    return Response(
        body,
        media_type=media,
        headers={
            **HEADERS,
            "Content-Disposition": f'attachment; filename="incidents-{stamp}.{format_}"',
        },
    )


def _new_values(request: Request, hold_id: str) -> dict[str, Any]:
    stamp = now().strftime("%Y-%m-%dT%H:%M")
    values: dict[str, Any] = {"aware_at": stamp, "people": "0", "records": "0", "hold_id": ""}
    held = dashboard(request).svc.queue.get(hold_id) if 0 < len(hold_id) <= 64 else None
    if held is None:
        return values
    draft = new_incident(
        held.verdict, source=Source.REPORT, aware_at=now(), reported_by="", sender=held.sender
    )
    return {
        **values,
        "hold_id": held.id,
        "title": draft.title,
        "subject": held.subject,
        "sender": held.sender,
        "recipients": "\n".join(draft.recipients),
        "affected": "\n".join(draft.affected),
        "categories": ", ".join(draft.categories),
        "special_categories": ", ".join(draft.special_categories),
        "people": str(draft.people),
        "records": str(draft.records),
        "likelihood": str(draft.likelihood or ""),
        "severity": str(draft.severity or ""),
        "consequences": draft.consequences,
    }


@router.get("/incidents/new")
def new_form(request: Request, hold: str = "") -> Response:
    session = viewer(request)
    if isinstance(session, Response):
        return session
    return page(
        request, "incident_new.html", {"values": _new_values(request, hold)}, session=session
    )


def _opened(form: Form, session: Session, request: Request) -> NewIncident:
    held = None
    hold_id = form.get("hold_id")
    if hold_id:
        held = dashboard(request).svc.queue.get(hold_id[:64])
        if held is None:
            raise FormError("the held message this report started from is gone")
    title = form.get("title").strip()
    if not title:
        raise FormError("give the incident a title")
    aware = _time(form, "aware_at", required=True)
    assert aware is not None
    return NewIncident(
        title=title,
        source=Source.REPORT,
        aware_at=aware,
        description=form.get("description"),
        sender=held.sender if held else form.get("sender").strip(),
        subject=form.get("subject"),
        sent_at=_time(form, "sent_at", required=False),
        hold_id=held.id if held else None,
        recipients=tuple(addresses(form.get("recipients"))),
        affected=tuple(addresses(form.get("affected"))),
        categories=tuple(items(form.get("categories"))),
        special_categories=tuple(items(form.get("special_categories"))),
        people=_count(form, "people"),
        records=_count(form, "records"),
        likelihood=_level(form, "likelihood"),
        severity=_level(form, "severity"),
        consequences=form.get("consequences"),
        dpo_contact=dashboard(request).svc.settings.register.dpo_contact,
        reported_by=session.user.actor,
    )


@router.post("/incidents")
def create(request: Request, form: FormBody) -> Response:
    got = submitted(request, form)
    if not isinstance(got, tuple):
        return got
    session, form_ = got
    try:
        opened = dashboard(request).svc.register.open(
            _opened(form_, session, request), session.user.actor
        )
    except (FormError, InvalidChange) as exc:
        values = {name: form_.get(name) for name in form_.fields}
        return page(
            request,
            "incident_new.html",
            {"values": values, "error": str(exc)},
            session=session,
            status=422,
        )
    return redirect(f"{PREFIX}/incidents/{opened.id}")


def _notice(request: Request, incident: Incident) -> tuple[bytes | None, str]:
    svc = dashboard(request).svc
    settings = svc.settings.register
    try:
        raw = subjects_notice(
            incident,
            notice_from=settings.notice_from or svc.config.hold.notice_from,
            organisation=settings.organisation,
            contact=incident.dpo_contact or settings.dpo_contact,
        )
    except NoticeError as exc:
        return None, str(exc)
    return raw, ""


def _notice_view(raw: bytes) -> dict[str, Any]:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    body = parsed.get_body(("plain",))
    hidden = getaddresses([str(v) for v in parsed.get_all("Bcc", [])])
    return {
        "from": str(parsed.get("From", "")),
        "to": str(parsed.get("To", "")),
        "subject": str(parsed.get("Subject", "")),
        "bcc": len(hidden),
        "text": body.get_content() if body is not None else "",
    }


def detail_page(
    request: Request,
    session: Session,
    incident: Incident,
    *,
    values: dict[str, Any] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    svc = dashboard(request).svc
    settings = svc.settings.register
    report = regulator_report(
        incident, organisation=settings.organisation, dpo_contact=settings.dpo_contact
    )
    raw, notice_error = _notice(request, incident)
    return page(
        request,
        "incident.html",
        {
            "incident": incident,
            "urgency": urgency(incident, now()),
            "report": report.as_text(),
            "notice": _notice_view(raw) if raw is not None else None,
            "notice_error": notice_error,
            "values": values or values_of(incident),
            "error": error,
            "kinds": [str(k) for k in ActionKind],
        },
        session=session,
        status=status,
    )


def _load(request: Request, incident_id: int) -> Incident | None:
    try:
        return dashboard(request).svc.register.get(incident_id)
    except IncidentNotFound:
        return None


@router.get("/incidents/{incident_id}")
def detail(request: Request, incident_id: int) -> Response:
    session = viewer(request)
    if isinstance(session, Response):
        return session
    incident = _load(request, incident_id)
    if incident is None:
        return message(request, "Not found", "There is no such incident.", 404, session)
    return detail_page(request, session, incident)


@router.get("/incidents/{incident_id}/notice.eml")
def notice_file(request: Request, incident_id: int) -> Response:
    session = viewer(request)
    if isinstance(session, Response):
        return session
    incident = _load(request, incident_id)
    if incident is None:
        return message(request, "Not found", "There is no such incident.", 404, session)
    raw, error = _notice(request, incident)
    if raw is None:
        return message(request, "No notice yet", error, 409, session)
    return Response(
        raw,
        media_type="message/rfc822",
        headers={
            **HEADERS,
            "Content-Disposition": f'attachment; filename="{incident.reference}-notice.eml"',
        },
    )


@router.post("/incidents/{incident_id}")
def update(request: Request, incident_id: int, form: FormBody) -> Response:
    got = submitted(request, form)
    if not isinstance(got, tuple):
        return got
    session, form_ = got
    incident = _load(request, incident_id)
    if incident is None:
        return message(request, "Not found", "There is no such incident.", 404, session)
    version = form_.get("version")
    try:
        changes = _changes(form_, incident)
        dashboard(request).svc.register.update(
            incident_id,
            changes,
            session.user.actor,
            int(version) if version.isdigit() else None,
        )
    except (FormError, InvalidChange) as exc:
        values = {**values_of(incident), **{k: form_.get(k) for k in form_.fields}}
        return detail_page(request, session, incident, values=values, error=str(exc), status=422)
    except VersionConflict:
        return detail_page(
            request,
            session,
            incident,
            error="Someone else changed this incident while you were editing it; "
            "here is their version. Make your change again.",
            status=409,
        )
    return redirect(f"{PREFIX}/incidents/{incident_id}#saved")


@router.post("/incidents/{incident_id}/actions")
def add_action(request: Request, incident_id: int, form: FormBody) -> Response:
    got = submitted(request, form)
    if not isinstance(got, tuple):
        return got
    session, form_ = got
    incident = _load(request, incident_id)
    if incident is None:
        return message(request, "Not found", "There is no such incident.", 404, session)
    try:
        kind = ActionKind(form_.get("kind"))
        dashboard(request).svc.register.add_action(
            incident_id,
            kind,
            session.user.actor,
            description=form_.get("description"),
            recipient=form_.get("recipient").strip() or None,
            taken_at=_time(form_, "taken_at", required=False),
        )
    except ValueError as exc:
        text = str(exc) if isinstance(exc, FormError | InvalidChange) else "choose what was done"
        return detail_page(request, session, incident, error=text, status=422)
    return redirect(f"{PREFIX}/incidents/{incident_id}#actions")
