"""The hold queue over HTTP: officers list, read, release and cancel; senders use signed links.

The signed links in sender notices (`hold/notice.py`) carry their own authority, so they need no
bearer token; the signature, the action and the expiry are all checked. Opening a link (GET) only
shows a confirmation page, because mail scanners follow links: only the POST from that page acts.
"""

from __future__ import annotations

import html
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from missend.api.auth import Anyone, Svc, limit_anonymous, not_found
from missend.api.schemas import (
    CancelIn,
    HoldDetailOut,
    HoldOut,
    LinkOut,
    Problem,
    ReleaseIn,
    ReleaseOut,
)
from missend.api.services import Services
from missend.api.tokens import Principal, Role
from missend.hold.queue import Held, Status
from missend.hold.tokens import TokenError, verify
from missend.register.hooks import cancel_held, release_held

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/holds", tags=["holds"])
links = APIRouter(prefix="/v1/holds", tags=["holds"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    404: {"model": Problem},
    429: {"model": Problem},
}
TokenParam = Annotated[str, Query(min_length=1, max_length=2000, description="The signed token.")]


def summary(held: Held) -> HoldOut:
    return HoldOut(**held.summary())


def _visible(svc: Services, who: Principal, hold_id: str) -> Held:
    held = svc.queue.get(hold_id) if len(hold_id) <= 64 else None
    if held is None or not who.may_act_for(held.sender):
        raise not_found("held message")
    return held


def _release(svc: Services, hold_id: str, actor: str, reviewed_safe: bool, note: str) -> ReleaseOut:
    try:
        done = release_held(
            svc.queue,
            svc.register,
            svc.config,
            hold_id,
            by=actor,
            reviewed_safe=reviewed_safe,
            note=note,
            threshold=svc.settings.register.threshold,
            dpo_contact=svc.settings.register.dpo_contact,
        )
    except LookupError as exc:
        held = svc.queue.get(hold_id)
        if held is not None and held.status in (Status.HELD, Status.DELAYED):
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "this node cannot deliver messages held by "
                f"{held.source!r}; release it where that delivery point runs",
            ) from exc
        state = held.status if held else "gone"
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"the message cannot be released (it is {state})"
        ) from exc
    except Exception as exc:
        log.warning("releasing %s failed: %s", hold_id, type(exc).__name__)
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY,
            "delivery failed; the message stays in the queue and can be released again",
        ) from exc
    return ReleaseOut(hold=summary(done.held), incident_id=done.incident_id)


def _cancel(svc: Services, hold_id: str, actor: str, note: str) -> HoldOut:
    try:
        return summary(cancel_held(svc.queue, svc.register, hold_id, by=actor, note=note))
    except LookupError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


def _grant(svc: Services, token: str, action: str) -> str:
    if svc.secret is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "signed links are not enabled here")
    try:
        return verify(svc.secret, token, action).hold_id
    except TokenError as exc:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"this link is not valid ({exc}); ask for a new one"
        ) from exc


def _page(title: str, body: str, form_action: str | None = None, code: int = 200) -> HTMLResponse:
    form = (
        f'<form method="post" action="{html.escape(form_action)}">'
        f'<button type="submit">{html.escape(title)}</button></form>'
        if form_action
        else ""
    )
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(body)}</p>{form}</body></html>",
        status_code=code,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _confirm(request: Request, svc: Services, token: str, action: str) -> Response:
    hold_id = _grant(svc, token, action)
    held = svc.queue.get(hold_id)
    if held is None:
        raise not_found("held message")
    verb = "Send the message anyway" if action == "release" else "Stop the message"
    if held.status not in (Status.HELD, Status.DELAYED):
        return _page("Nothing to do", f"This message was already {held.status}.")
    subject = held.subject or "(no subject)"
    what = f'"{subject}" to {len(held.envelope_to)} recipient(s) is waiting. ' + (
        "Sending it anyway is recorded, and may open an incident for the data protection officer."
        if action == "release"
        else "Stopping it cannot be undone; you can correct the message and send it again."
    )
    return _page(verb, what, f"{request.url.path}?token={token}")


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@links.get(
    "/release",
    response_class=HTMLResponse,
    responses={403: {"model": Problem}, 404: {"model": Problem}, 429: {"model": Problem}},
    dependencies=[Depends(limit_anonymous)],
    summary="Confirmation page for a signed release link",
)
def release_link_page(*, request: Request, token: TokenParam, svc: Svc) -> Response:
    return _confirm(request, svc, token, "release")


@links.post(
    "/release",
    response_model=LinkOut,
    responses={
        403: {"model": Problem},
        404: {"model": Problem},
        409: {"model": Problem},
        429: {"model": Problem},
        502: {"model": Problem},
        503: {"model": Problem},
    },
    dependencies=[Depends(limit_anonymous)],
    summary="Release a held message through a signed link (no bearer token)",
)
def release_by_link(*, request: Request, token: TokenParam, svc: Svc) -> Any:
    hold_id = _grant(svc, token, "release")
    done = _release(svc, hold_id, "link:sender", False, "")
    out = LinkOut(hold_id=hold_id, status=done.hold.status, message="The message was sent.")
    if _wants_html(request):
        return _page("Sent", out.message)
    return out


@links.get(
    "/cancel",
    response_class=HTMLResponse,
    responses={403: {"model": Problem}, 404: {"model": Problem}, 429: {"model": Problem}},
    dependencies=[Depends(limit_anonymous)],
    summary="Confirmation page for a signed cancel link",
)
def cancel_link_page(*, request: Request, token: TokenParam, svc: Svc) -> Response:
    return _confirm(request, svc, token, "cancel")


@links.post(
    "/cancel",
    response_model=LinkOut,
    responses={
        403: {"model": Problem},
        404: {"model": Problem},
        409: {"model": Problem},
        429: {"model": Problem},
    },
    dependencies=[Depends(limit_anonymous)],
    summary="Cancel a held message through a signed link (no bearer token)",
)
def cancel_by_link(*, request: Request, token: TokenParam, svc: Svc) -> Any:
    hold_id = _grant(svc, token, "cancel")
    done = _cancel(svc, hold_id, "link:sender", "")
    out = LinkOut(hold_id=hold_id, status=done.status, message="The message was stopped.")
    if _wants_html(request):
        return _page("Stopped", out.message)
    return out


@router.get("", response_model=list[HoldOut], responses=_ERRORS, summary="List held messages")
def list_holds(
    *,
    status_: Annotated[
        list[Status] | None, Query(alias="status", description="Default: held and delayed.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    who: Anyone,
    svc: Svc,
) -> list[HoldOut]:
    """Officers see every sender's; a client token sees only its own sender's."""
    sender = who.sender if who.role == Role.CLIENT else None
    if who.role == Role.CLIENT and not sender:
        return []
    wanted = status_ or [Status.HELD, Status.DELAYED]
    return [summary(h) for h in svc.queue.find(wanted, sender=sender, limit=limit)]


@router.get("/{hold_id}", response_model=HoldDetailOut, responses=_ERRORS, summary="Show one")
def show_hold(
    *,
    hold_id: str,
    who: Anyone,
    svc: Svc,
) -> HoldDetailOut:
    held = _visible(svc, who, hold_id)
    return HoldDetailOut(
        **held.summary(),
        envelope_to=list(held.envelope_to),
        findings=list(held.verdict.get("findings") or []),
        note=held.note,
        last_error=held.last_error,
    )


@router.post(
    "/{hold_id}/release",
    response_model=ReleaseOut,
    responses={
        **_ERRORS,
        409: {"model": Problem},
        502: {"model": Problem},
        503: {"model": Problem},
    },
    summary="Release a held message",
)
def release_hold(
    *,
    hold_id: str,
    body: ReleaseIn | None = None,
    who: Anyone,
    svc: Svc,
) -> ReleaseOut:
    """Opens an incident unless an officer marks it `reviewed_safe` (a sender cannot)."""
    _visible(svc, who, hold_id)
    body = body or ReleaseIn()
    reviewed = body.reviewed_safe and who.role != Role.CLIENT
    return _release(svc, hold_id, who.actor, reviewed, body.note)


@router.post(
    "/{hold_id}/cancel",
    response_model=HoldOut,
    responses={**_ERRORS, 409: {"model": Problem}},
    summary="Cancel a held message",
)
def cancel_hold(
    *,
    hold_id: str,
    body: CancelIn | None = None,
    who: Anyone,
    svc: Svc,
) -> HoldOut:
    _visible(svc, who, hold_id)
    return _cancel(svc, hold_id, who.actor, (body or CancelIn()).note)
