"""Held messages: what was found, and the officer's release or cancel.

Releasing goes through the same register hook as the API (`release_held`): unless the officer
ticks "reviewed and safe", a message held against advice opens an incident when it goes out.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from missend.dashboard.web import (
    PREFIX,
    FormBody,
    dashboard,
    message,
    page,
    redirect,
    submitted,
    viewer,
)
from missend.hold.queue import Held, Status
from missend.register.hooks import cancel_held, release_held
from missend.register.model import reference

log = logging.getLogger(__name__)
router = APIRouter()

VIEWS = {
    "open": (Status.HELD, Status.DELAYED),
    "released": (Status.RELEASED,),
    "cancelled": (Status.CANCELLED,),
}
LIMIT = 500


def findings(held: Held) -> list[dict[str, Any]]:
    """The findings that made the verdict, most severe first (allow-level notes left out)."""
    found = [
        f
        for f in held.verdict.get("findings") or ()
        if isinstance(f, dict) and f.get("action") != "allow"
    ]
    return sorted(found, key=lambda f: -float(f.get("severity") or 0))


@router.get("/holds")
def holds(request: Request, view: str = "open", released: str = "", incident: int = 0) -> Response:
    session = viewer(request)
    if isinstance(session, Response):
        return session
    dash = dashboard(request)
    chosen = view if view in VIEWS else "open"
    found = dash.svc.queue.find(VIEWS[chosen], limit=LIMIT)
    if chosen != "open":
        found.reverse()
    notice = ""
    if released and len(released) <= 64:
        done = dash.svc.queue.get(released)
        if done is not None:
            notice = f'"{done.subject or "(no subject)"}" was {done.status}.'
    return page(
        request,
        "holds.html",
        {
            "view": chosen,
            "views": list(VIEWS),
            "held": [(h, findings(h)) for h in found],
            "notice": notice,
            "incident": reference(incident) if incident > 0 else "",
            "incident_id": incident,
        },
        session=session,
    )


@router.get("/holds/{hold_id}")
def hold_detail(request: Request, hold_id: str) -> Response:
    session = viewer(request)
    if isinstance(session, Response):
        return session
    held = dashboard(request).svc.queue.get(hold_id) if len(hold_id) <= 64 else None
    if held is None:
        return message(request, "Not found", "There is no such held message.", 404, session)
    return page(
        request,
        "hold.html",
        {"held": held, "findings": findings(held), "open": held.status in VIEWS["open"]},
        session=session,
    )


@router.post("/holds/{hold_id}/release")
def release(request: Request, hold_id: str, form: FormBody) -> Response:
    got = submitted(request, form)
    if not isinstance(got, tuple):
        return got
    session, form = got
    svc = dashboard(request).svc
    try:
        done = release_held(
            svc.queue,
            svc.register,
            svc.config,
            hold_id[:64],
            by=session.user.actor,
            reviewed_safe=form.checked("reviewed_safe"),
            note=form.get("note")[:2000],
            threshold=svc.settings.register.threshold,
            dpo_contact=svc.settings.register.dpo_contact,
        )
    except LookupError:
        held = svc.queue.get(hold_id[:64])
        if held is not None and held.status in VIEWS["open"]:
            text = (
                f"This server cannot deliver messages held by {held.source!r}; "
                "release it where that delivery point runs."
            )
            return message(request, "Cannot release here", text, 503, session)
        state = held.status if held else "gone"
        return message(
            request, "Nothing to release", f"The message is {state} already.", 409, session
        )
    except Exception as exc:
        log.warning("releasing %s from the dashboard failed: %s", hold_id, type(exc).__name__)
        return message(
            request,
            "Delivery failed",
            "The message could not be delivered; it stays in the queue and can be released again.",
            502,
            session,
        )
    target = f"{PREFIX}/holds?released={done.held.id}"
    if done.incident_id is not None:
        target += f"&incident={done.incident_id}"
    return redirect(target)


@router.post("/holds/{hold_id}/cancel")
def cancel(request: Request, hold_id: str, form: FormBody) -> Response:
    got = submitted(request, form)
    if not isinstance(got, tuple):
        return got
    session, form = got
    svc = dashboard(request).svc
    try:
        done = cancel_held(
            svc.queue,
            svc.register,
            hold_id[:64],
            by=session.user.actor,
            note=form.get("note")[:2000],
        )
    except LookupError:
        return message(request, "Nothing to cancel", "The message is no longer held.", 409, session)
    return redirect(f"{PREFIX}/holds?released={done.id}")
