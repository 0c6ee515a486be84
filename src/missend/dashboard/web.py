"""What every dashboard page shares: templates, security headers, sign-in and CSRF guards, forms.

Handlers return a response instead of raising, so a refused request gets a readable HTML page
rather than the API's JSON error body: `viewer` answers a redirect to the sign-in page when nobody
is signed in, `submitted` also checks the form's CSRF token and answers 403 without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from missend.api.services import Services, services
from missend.dashboard.accounts import Accounts
from missend.dashboard.sessions import Session, Sessions
from missend.dashboard.settings import DashboardSettings
from missend.register.deadlines import remaining

PREFIX = "/dashboard"
MAX_FORM_BYTES = 1_000_000
MAX_FIELDS = 400
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def duration(delta: timedelta) -> str:
    """`71 h 59 min` within a few days (the 72-hour clock reads best in hours), `5 d 3 h` beyond."""
    minutes = int(abs(delta.total_seconds()) // 60)
    hours, mins = divmod(minutes, 60)
    if hours >= 100:
        return f"{hours // 24} d {hours % 24} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def countdown(deadline_at: datetime, at: datetime | None = None) -> str:
    left = remaining(deadline_at, at)
    if left.total_seconds() < 0:
        return f"overdue by {duration(left)}"
    return f"{duration(left)} left"


templates = Environment(
    loader=PackageLoader("missend.dashboard", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["when"] = when
templates.filters["countdown"] = countdown


@dataclass
class Dashboard:
    """The dashboard's objects for one app, made at its first request and kept on `app.state`."""

    svc: Services
    settings: DashboardSettings
    accounts: Accounts
    sessions: Sessions


def dashboard(request: Request) -> Dashboard:
    found: Dashboard | None = getattr(request.app.state, "dashboard", None)
    if found is None:
        svc = services(request)
        settings: DashboardSettings = request.state.dashboard_settings
        accounts = Accounts(svc.store, svc.tokens.hasher)
        found = Dashboard(svc, settings, accounts, Sessions(svc.store, accounts, settings))
        request.app.state.dashboard = found
    return found


def settings_dependency(settings: DashboardSettings) -> Callable[[Request], None]:
    def attach(request: Request) -> None:
        request.state.dashboard_settings = settings

    return attach


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    session: Session | None = None,
    status: int = 200,
) -> HTMLResponse:
    body = templates.get_template(template).render(
        {
            "prefix": PREFIX,
            "session": session,
            "user": session.user if session else None,
            "csrf": session.csrf if session else "",
            "path": request.url.path,
            "now": datetime.now(UTC),
            **(context or {}),
        }
    )
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def message(
    request: Request, title: str, text: str, status: int, session: Session | None = None
) -> HTMLResponse:
    return page(
        request, "message.html", {"title": title, "text": text}, session=session, status=status
    )


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers=HEADERS)


def to_login(request: Request) -> RedirectResponse:
    wanted = request.url.path
    if request.method == "GET" and request.url.query:
        wanted += "?" + request.url.query
    return redirect(f"{PREFIX}/login?next={quote(wanted, safe='')}")


def safe_next(value: str | None) -> str:
    """Only a path inside the dashboard: never another site (open redirect)."""
    if (
        value
        and value.startswith(PREFIX + "/")
        and not value.startswith("//")
        and "\\" not in value
        and all(31 < ord(c) < 127 for c in value)
        and not value.startswith(f"{PREFIX}/login")
    ):
        return value
    return f"{PREFIX}/holds"


def viewer(request: Request) -> Session | Response:
    dash = dashboard(request)
    session = dash.sessions.find(request.cookies.get(dash.sessions.cookie_name))
    return session if session is not None else to_login(request)


class Form:
    """An urlencoded form body: first value of a field, or all of them."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))

    def checked(self, name: str) -> bool:
        return self.get(name) in ("on", "yes", "true", "1")


async def read_form(request: Request) -> Form | None:
    """None when the body is not a form or too big for one."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return None
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        text = body.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return None
    # browsers send textarea lines as CRLF; the register keeps text with plain newlines
    return Form({k: [v.replace("\r\n", "\n") for v in vs] for k, vs in fields.items()})


async def _form_body(request: Request) -> Form | None:
    return await read_form(request)


FormBody = Annotated[Form | None, Depends(_form_body)]
"""The form, read before a synchronous handler runs its store work off the event loop."""


def submitted(request: Request, form: Form | None) -> tuple[Session, Form] | Response:
    """The signed-in session and its form, or the response refusing the request."""
    found = viewer(request)
    if not isinstance(found, Session):
        return found
    form = form or Form({})
    if not Sessions.csrf_ok(found, form.get("csrf")):
        return message(
            request,
            "Refused",
            "This form did not come from your dashboard session (its security token is missing "
            "or wrong). Reload the page and try again.",
            403,
            found,
        )
    return found, form
