"""The dashboard's rules, checked through the app: who gets in, what a form needs, what changes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from missend.audit.log import AuditLog
from missend.dashboard.accounts import Accounts
from missend.history.store import Store
from missend.hold.queue import HoldQueue
from missend.register.model import NewIncident, Source
from missend.register.repository import Register

from .conftest import CHEAP, DELIVERED, OFFICER, PASSWORD, Web, hold

PAGES = (
    "/dashboard/",
    "/dashboard/holds",
    "/dashboard/holds?view=released",
    "/dashboard/incidents",
    "/dashboard/incidents?status=all",
    "/dashboard/incidents/new",
    "/dashboard/incidents/1",
    "/dashboard/incidents/1/notice.eml",
    "/dashboard/incidents/export.csv",
    "/dashboard/incidents/export.json",
    "/dashboard/trends",
)


def incident(store: Store, aware: datetime | None = None, people: int = 240) -> int:
    affected = tuple(f"person{i}@mail.example" for i in range(people))
    opened = Register(store).open(
        NewIncident(
            title="Newsletter sent with every address in To",
            source=Source.REPORT,
            aware_at=aware or datetime.now(UTC),
            subject="Your settlement application",
            recipients=affected,
            affected=affected,
            categories=("contact details (e-mail addresses)",),
            people=people,
            records=people,
        ),
        "test",
    )
    return opened.id


def test_nothing_is_shown_to_a_visitor_who_is_not_signed_in(web: Web, store: Store) -> None:
    held = hold(store)
    incident(store)
    for path in (*PAGES, f"/dashboard/holds/{held.id}"):
        r = web.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/dashboard/login?next=%2Fdashboard"), path
        assert held.subject not in r.text
        assert "settlement" not in r.text
    for path in (
        f"/dashboard/holds/{held.id}/release",
        f"/dashboard/holds/{held.id}/cancel",
        "/dashboard/incidents",
        "/dashboard/incidents/1",
        "/dashboard/incidents/1/actions",
    ):
        assert web.post(path, {"csrf": "x"}).status_code == 303, path
    assert HoldQueue(store).get(held.id).status == "held"  # type: ignore[union-attr]


def test_signing_in_sets_a_protected_session_cookie(web: Web, officer: str) -> None:
    r = web.login()
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/holds"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("missend_session="))
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/" in attributes
    assert any(a.startswith("max-age=") for a in attributes)
    assert "secure" not in attributes  # this app was configured for plain HTTP
    assert web.get("/dashboard/holds").status_code == 200
    entries = AuditLog(web_store(web)).entries()
    assert [e.action for e in entries] == ["dashboard.login"]
    assert entries[0].actor == f"dashboard:{OFFICER} (officer)"


def web_store(web: Web) -> Store:
    store: Store = web.app.state.services.store
    return store


@pytest.mark.parametrize("secure", [True])
def test_secure_cookies_carry_the_host_prefix(web: Web, officer: str) -> None:
    login = web.get("/dashboard/login")
    assert login.headers["set-cookie"].startswith("__Host-missend_login=")
    assert "; secure" in login.headers["set-cookie"].lower()
    r = web.login()
    assert r.status_code == 303
    session = [c for c in r.headers.get_list("set-cookie") if "missend_session" in c]
    assert session[0].startswith("__Host-missend_session=")
    assert "; secure" in session[0].lower()
    assert web.get("/dashboard/holds").status_code == 200


def test_a_wrong_password_gets_no_session(web: Web, officer: str) -> None:
    r = web.login(password="not the password at all")
    assert r.status_code == 401
    assert "do not match" in r.text
    assert not any("missend_session" in c for c in r.headers.get_list("set-cookie"))
    assert web.get("/dashboard/holds").status_code == 303
    unknown = web.login(name="nobody@agency.example")
    assert unknown.status_code == 401
    assert unknown.text.count("do not match") == 1


def test_a_disabled_user_cannot_sign_in_and_is_signed_out(
    web: Web, officer: str, store: Store
) -> None:
    assert web.login().status_code == 303
    assert web.get("/dashboard/holds").status_code == 200
    Accounts(store, CHEAP).disable(OFFICER)
    assert web.get("/dashboard/holds").status_code == 303
    assert web.login().status_code == 401


def test_the_sign_in_form_needs_its_own_csrf_token(web: Web, officer: str) -> None:
    web.get("/dashboard/login")
    r = web.post("/dashboard/login", {"name": OFFICER, "password": PASSWORD})
    assert r.status_code == 403
    assert "missend_session" not in r.headers.get("set-cookie", "")


def test_forms_without_the_csrf_token_are_refused(web: Web, officer: str, store: Store) -> None:
    held = hold(store)
    number = incident(store)
    web.login()
    for path, data in (
        (f"/dashboard/holds/{held.id}/release", {"reviewed_safe": "yes"}),
        (f"/dashboard/holds/{held.id}/cancel", {}),
        ("/dashboard/incidents", {"title": "forged", "aware_at": "2026-01-01T00:00"}),
        (f"/dashboard/incidents/{number}/actions", {"kind": "apology"}),
        ("/dashboard/logout", {}),
    ):
        for token in (None, "forged-token"):
            body = data if token is None else {**data, "csrf": token}
            r = web.post(path, body)
            assert r.status_code == 403, (path, token)
            assert "security token" in r.text
    assert HoldQueue(store).get(held.id).status == "held"  # type: ignore[union-attr]
    assert Register(store).count() == 1
    assert Register(store).get(number).actions == ()
    assert web.get("/dashboard/holds").status_code == 200  # still signed in


def test_a_csrf_token_is_bound_to_its_session(web: Web, officer: str, store: Store) -> None:
    held = hold(store)
    web.login()
    first = web.csrf("/dashboard/holds")
    web.post("/dashboard/logout", {"csrf": first})
    web.login()
    second = web.csrf("/dashboard/holds")
    assert second != first
    r = web.post(f"/dashboard/holds/{held.id}/cancel", {"csrf": first})
    assert r.status_code == 403


def test_signing_out_ends_the_session_on_the_server(web: Web, officer: str) -> None:
    web.login()
    cookie = web.client.cookies["missend_session"]
    r = web.post("/dashboard/logout", {"csrf": web.csrf("/dashboard/holds")})
    assert r.status_code == 303
    web.client.cookies.set("missend_session", cookie)  # a copy kept by an attacker
    assert web.get("/dashboard/holds").status_code == 303


def test_a_tampered_session_cookie_is_refused(web: Web, officer: str) -> None:
    web.login()
    cookie = web.client.cookies["missend_session"]
    token, _, signature = cookie.partition(".")
    for forged in (f"{token}.{signature[:-2]}AA", f"{token[:-2]}AA.{signature}", token, "x" * 500):
        web.client.cookies.set("missend_session", forged)
        assert web.get("/dashboard/holds").status_code == 303


def test_sign_in_sends_you_back_only_inside_the_dashboard(web: Web, officer: str) -> None:
    token = web.csrf("/dashboard/login?next=%2Fdashboard%2Ftrends")
    r = web.post(
        "/dashboard/login",
        {"csrf": token, "name": OFFICER, "password": PASSWORD, "next": "/dashboard/trends"},
    )
    assert r.headers["location"] == "/dashboard/trends"
    web.post("/dashboard/logout", {"csrf": web.csrf("/dashboard/holds")})
    for target in ("https://evil.example/", "//evil.example/x", "/dashboard\\..\\x"):
        token = web.csrf("/dashboard/login")
        r = web.post(
            "/dashboard/login",
            {"csrf": token, "name": OFFICER, "password": PASSWORD, "next": target},
        )
        assert r.headers["location"] == "/dashboard/holds", target
        web.post("/dashboard/logout", {"csrf": web.csrf("/dashboard/holds")})


def test_pages_forbid_framing_and_outside_scripts(web: Web, officer: str) -> None:
    web.login()
    r = web.get("/dashboard/holds")
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert "http://" not in r.text
    assert "https://" not in r.text


def test_releasing_against_advice_opens_an_incident(web: Web, officer: str, store: Store) -> None:
    held = hold(store)
    web.login()
    page = web.get("/dashboard/holds")
    assert held.subject in page.text
    assert "personal" in page.text.lower()  # the finding's plain-words explanation
    r = web.post(
        f"/dashboard/holds/{held.id}/release",
        {"csrf": web.csrf("/dashboard/holds"), "note": "the sender insisted"},
    )
    assert r.status_code == 303
    assert held.id in DELIVERED
    found = Register(store).find()
    assert len(found) == 1
    assert found[0].hold_id == held.id
    assert found[0].source == "hold_release"
    assert found[0].reported_by == f"dashboard:{OFFICER} (officer)"
    assert f"incident={found[0].id}" in r.headers["location"]
    shown = web.get(r.headers["location"])
    assert found[0].reference in shown.text
    actions = [e.action for e in AuditLog(store).entries()]
    assert actions[-2:] == ["hold.release", "incident.open"]
    again = web.post(f"/dashboard/holds/{held.id}/release", {"csrf": web.csrf("/dashboard/holds")})
    assert again.status_code == 409


def test_a_reviewed_release_opens_no_incident_and_cancel_stops(
    web: Web, officer: str, store: Store
) -> None:
    first, second = hold(store), hold(store)
    web.login()
    token = web.csrf("/dashboard/holds")
    r = web.post(f"/dashboard/holds/{first.id}/release", {"csrf": token, "reviewed_safe": "yes"})
    assert r.status_code == 303
    assert "incident=" not in r.headers["location"]
    assert web.post(f"/dashboard/holds/{second.id}/cancel", {"csrf": token}).status_code == 303
    assert HoldQueue(store).get(second.id).status == "cancelled"  # type: ignore[union-attr]
    assert Register(store).count() == 0
    assert second.id not in DELIVERED


def test_the_register_shows_time_left_and_overdue(web: Web, officer: str, store: Store) -> None:
    fresh = incident(store)
    late = incident(store, datetime.now(UTC) - timedelta(hours=80))
    web.login()
    page = web.get("/dashboard/incidents").text
    rows = page.split("<tr")[2:]
    assert len(rows) == 2
    assert 'class="overdue"' in rows[0]
    assert f"INC-{late:06d}" in rows[0]
    assert "overdue by 8 h" in rows[0]
    assert f"INC-{fresh:06d}" in rows[1]
    assert "71 h 59 min left" in rows[1] or "72 h 0 min left" in rows[1]


def test_an_incident_page_has_the_report_draft_and_a_bcc_only_notice(
    web: Web, officer: str, store: Store
) -> None:
    number = incident(store)
    web.login()
    page = web.get(f"/dashboard/incidents/{number}")
    assert page.status_code == 200
    assert "(a) Nature of the personal data breach" in page.text
    assert "Approximate number of data subjects concerned: 240" in page.text
    assert "Bcc only: 240 people" in page.text
    assert "To: undisclosed-recipients:;" in page.text
    assert (
        "person7@mail.example"
        not in page.text.split("Notice to the people affected")[1].split("Actions taken")[0]
    )
    eml = web.get(f"/dashboard/incidents/{number}/notice.eml")
    assert eml.headers["content-type"].startswith("message/rfc822")
    assert b"person7@mail.example" in eml.content  # in Bcc
    assert b"\nTo: undisclosed-recipients:;" in eml.content.replace(b"\r\n", b"\n")


def test_an_officer_records_decisions_and_actions(web: Web, officer: str, store: Store) -> None:
    number = incident(store)
    web.login()
    path = f"/dashboard/incidents/{number}"
    token = web.csrf(path)
    form = {
        "csrf": token,
        "version": "1",
        "title": "Newsletter sent with every address in To",
        "aware_at": "2026-11-20T09:30",
        "people": "240",
        "records": "240",
        "recipients": "a@mail.example\nb@mail.example",
        "affected": "a@mail.example, b@mail.example",
        "categories": "contact details, immigration status",
        "likelihood": "high",
        "severity": "medium",
        "notify_regulator": "yes",
        "regulator_reasoning": "",
        "notify_subjects": "",
        "status": "open",
    }
    refused = web.post(path, form)
    assert refused.status_code == 422
    assert "reasoning" in refused.text
    assert Register(store).get(number).version == 1
    saved = web.post(path, {**form, "regulator_reasoning": "immigration status of 240 people"})
    assert saved.status_code == 303
    changed = Register(store).get(number)
    assert changed.notify_regulator is True
    assert changed.categories == ("contact details", "immigration status")
    assert changed.affected == ("a@mail.example", "b@mail.example")
    assert changed.deadline_at == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    stale = web.post(path, {**form, "regulator_reasoning": "x", "version": "1"})
    assert stale.status_code == 409
    action = web.post(
        f"{path}/actions",
        {"csrf": token, "kind": "deletion_request", "recipient": "a@mail.example"},
    )
    assert action.status_code == 303
    assert [a.kind for a in Register(store).get(number).actions] == ["deletion_request"]


def test_saving_an_untouched_form_changes_nothing(web: Web, officer: str, store: Store) -> None:
    number = incident(store, datetime(2026, 11, 20, 9, 30, 42, tzinfo=UTC))
    web.login()
    path = f"/dashboard/incidents/{number}"
    page = web.get(path).text
    form = page.split('class="incident-form"')[1].split("</form>")[0]
    fields = dict(re.findall(r'<input name="([a-z_]+)" type="[a-z-]+" value="([^"]*)"', form))
    fields.update(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    fields.update(
        (name, value.replace("\n", "\r\n"))  # as a browser sends a textarea
        for name, value in re.findall(
            r'<textarea name="([a-z_]+)" rows="4">([^<]*)</textarea>', form
        )
    )
    fields.update(re.findall(r'<select name="([a-z_]+)">.*?value="([^"]*)" selected', form, re.S))
    assert fields["aware_at"] == "2026-11-20T09:30"
    assert len(fields) >= 18
    before = len(AuditLog(store).entries())
    assert web.post(path, fields).status_code == 303
    unchanged = Register(store).get(number)
    assert unchanged.version == 1
    assert unchanged.aware_at == datetime(2026, 11, 20, 9, 30, 42, tzinfo=UTC)
    assert len(AuditLog(store).entries()) == before
    fields["description"] = "line one\r\nline two"
    web.post(path, fields)
    changed = Register(store).get(number)
    assert changed.description == "line one\nline two"
    assert changed.aware_at == datetime(2026, 11, 20, 9, 30, 42, tzinfo=UTC)


def test_a_mis_send_is_reported_by_hand(web: Web, officer: str, store: Store) -> None:
    web.login()
    recipients = "\n".join(f"Person {i} <p{i}@mail.example>" for i in range(240))
    r = web.post(
        "/dashboard/incidents",
        {
            "csrf": web.csrf("/dashboard/incidents/new"),
            "title": "I sent the applicants list to everyone",
            "aware_at": "2026-11-23T10:00",
            "recipients": recipients,
            "affected": recipients,
            "people": "240",
            "records": "240",
            "categories": "contact details",
        },
    )
    assert r.status_code == 303
    opened = Register(store).find()[0]
    assert r.headers["location"] == f"/dashboard/incidents/{opened.id}"
    assert len(opened.affected) == 240
    assert opened.deadline_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert opened.reported_by == f"dashboard:{OFFICER} (officer)"
    bad = web.post(
        "/dashboard/incidents",
        {"csrf": web.csrf("/dashboard/incidents/new"), "title": "x", "aware_at": "yesterday"},
    )
    assert bad.status_code == 422
    assert "date and time" in bad.text


def test_a_report_starts_from_a_held_message(web: Web, officer: str, store: Store) -> None:
    held = hold(store, "incident-240-eu-citizens-in-to.eml")
    web.login()
    form = web.get(f"/dashboard/incidents/new?hold={held.id}").text
    assert f'value="{held.id}"' in form
    assert form.count("@") > 240  # the exposed addresses, prefilled


def test_the_register_exports(web: Web, officer: str, store: Store) -> None:
    number = incident(store)
    web.login()
    csv = web.get("/dashboard/incidents/export.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert f"INC-{number:06d}" in csv.text
    data = json.loads(web.get("/dashboard/incidents/export.json").text)
    assert [i["people"] for i in data["incidents"]] == [240]
