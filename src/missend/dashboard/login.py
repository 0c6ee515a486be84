"""Signing in and out. The sign-in form has its own CSRF token (a signed cookie and a matching
field), so another site cannot sign a browser in to an account of its choosing either."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from missend.api.auth import client_key
from missend.dashboard.sessions import Session
from missend.dashboard.web import (
    PREFIX,
    Form,
    FormBody,
    dashboard,
    message,
    page,
    redirect,
    safe_next,
    submitted,
    viewer,
)

router = APIRouter()


def _cookie_args(secure: bool) -> dict[str, object]:
    return {"httponly": True, "samesite": "strict", "secure": secure, "path": "/"}


def _login_page(request: Request, next_: str, error: str = "", status: int = 200) -> Response:
    dash = dashboard(request)
    cookie, token = dash.sessions.login_nonce()
    response = page(
        request,
        "login.html",
        {"next": next_, "error": error, "login_csrf": token},
        status=status,
    )
    response.set_cookie(
        dash.sessions.login_cookie_name,
        cookie,
        max_age=3600,
        **_cookie_args(dash.settings.secure_cookies),  # type: ignore[arg-type]
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    dash = dashboard(request)
    if dash.sessions.find(request.cookies.get(dash.sessions.cookie_name)) is not None:
        return redirect(safe_next(next))
    return _login_page(request, safe_next(next))


@router.post("/login")
def login(request: Request, form: FormBody) -> Response:
    dash = dashboard(request)
    form = form or Form({})
    next_ = safe_next(form.get("next"))
    cookie = request.cookies.get(dash.sessions.login_cookie_name)
    if not dash.sessions.login_form_ok(cookie, form.get("csrf")):
        return message(
            request,
            "Refused",
            "The sign-in form had expired or did not come from this dashboard. "
            "Open the sign-in page again.",
            403,
        )
    wait = dash.svc.anonymous.hit(f"login:{client_key(request)}")
    if wait is not None:
        return _login_page(
            request, next_, f"Too many attempts. Wait {int(wait) + 1} seconds and try again.", 429
        )
    user = dash.accounts.authenticate(form.get("name"), form.get("password"))
    if user is None:
        return _login_page(request, next_, "That name and password do not match.", 401)
    dash.svc.audit.record(user.actor, "dashboard.login", str(user.id))
    response = redirect(next_)
    response.set_cookie(
        dash.sessions.cookie_name,
        dash.sessions.start(user),
        max_age=int(dash.sessions.lifetime.total_seconds()),
        **_cookie_args(dash.settings.secure_cookies),  # type: ignore[arg-type]
    )
    response.delete_cookie(dash.sessions.login_cookie_name, path="/")
    return response


@router.post("/logout")
def logout(request: Request, form: FormBody) -> Response:
    got = submitted(request, form)
    if not isinstance(got, tuple):
        return got
    session, _ = got
    dash = dashboard(request)
    dash.sessions.end(request.cookies.get(dash.sessions.cookie_name))
    dash.svc.audit.record(session.user.actor, "dashboard.logout", str(session.user.id))
    response = redirect(f"{PREFIX}/login")
    response.delete_cookie(
        dash.sessions.cookie_name, path="/", secure=dash.settings.secure_cookies, httponly=True
    )
    return response


@router.get("/")
def home(request: Request) -> Response:
    found = viewer(request)
    if not isinstance(found, Session):
        return found
    return redirect(f"{PREFIX}/holds")
