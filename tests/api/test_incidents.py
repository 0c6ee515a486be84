"""The breach register over HTTP: the 240-recipient mis-send from report to notice."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from missend.audit.log import AuditLog
from missend.engine import Engine
from missend.history.store import Store
from missend.message.parse import parse_message

from .conftest import Api, Tokens, example

AWARE = "2026-03-02T11:15:00+00:00"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """The register through the API on SQLite and on PostgreSQL."""
    with Store.open(store_url) as opened:
        yield opened


def reported_240(api: Api, tokens: Tokens) -> dict[str, object]:
    checked = api.post(
        "/v1/check",
        tokens.client,
        content=example("incident-240-eu-citizens-in-to.eml"),
        headers={"Content-Type": "message/rfc822"},
    )
    assert checked.status_code == 200
    r = api.post(
        "/v1/incidents",
        tokens.officer,
        json={"verdict_id": checked.json()["verdict_id"], "aware_at": AWARE},
    )
    assert r.status_code == 201, r.text
    incident: dict[str, object] = r.json()
    return incident


def test_a_240_recipient_mis_send_end_to_end(api: Api, tokens: Tokens, store: Store) -> None:
    incident = reported_240(api, tokens)
    assert incident["people"] == 240
    assert incident["records"] == 240
    assert len(incident["recipients"]) == 240  # type: ignore[arg-type]
    aware = datetime.fromisoformat(str(incident["aware_at"]))
    deadline = datetime.fromisoformat(str(incident["deadline_at"]))
    assert deadline - aware == timedelta(hours=72)
    assert aware == datetime(2026, 3, 2, 11, 15, tzinfo=UTC)
    incident_id = incident["id"]

    updated = api.patch(
        f"/v1/incidents/{incident_id}",
        tokens.officer,
        json={
            "likelihood": "high",
            "severity": "medium",
            "notify_regulator": True,
            "regulator_reasoning": "240 private addresses disclosed, revealing immigration status",
            "measures": "Recall requested; recipients asked to delete.",
            "version": incident["version"],
        },
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["risk"] == "high"
    stale = api.patch(
        f"/v1/incidents/{incident_id}",
        tokens.officer,
        json={"people": 1, "version": incident["version"]},
    )
    assert stale.status_code == 409

    action = api.post(
        f"/v1/incidents/{incident_id}/actions",
        tokens.officer,
        json={"kind": "recall_request", "description": "Outlook recall sent"},
    )
    assert action.status_code == 201
    assert action.json()["actions"][0]["kind"] == "recall_request"

    report = api.get(f"/v1/incidents/{incident_id}/report", tokens.officer)
    assert report.status_code == 200
    text = report.json()["text"]
    assert "Approximate number of data subjects concerned: 240." in text
    assert "2026-03-05 11:15 UTC" in text
    assert "recall request" in text

    notice = api.get(f"/v1/incidents/{incident_id}/notice", tokens.officer)
    assert notice.status_code == 200
    assert notice.headers["content-type"].startswith("message/rfc822")
    parsed = parse_message(notice.content)
    assert parsed.visible == ()
    assert len(parsed.hidden) == 240
    verdict = Engine().check(parsed)
    assert not [d for d in verdict.findings if d.finding.detector == "exposed-recipients"]

    assert AuditLog(store).verify().ok


def test_list_and_export(api: Api, tokens: Tokens) -> None:
    first = reported_240(api, tokens)
    second = api.post(
        "/v1/incidents",
        tokens.officer,
        json={"title": "Letter to the wrong client", "people": 1, "recipients": ["x@y.example"]},
    ).json()
    listed = api.get("/v1/incidents", tokens.officer).json()
    assert listed["total"] == 2
    assert [i["id"] for i in listed["incidents"]] == [second["id"], first["id"]]
    assert api.get("/v1/incidents?status=closed", tokens.officer).json()["total"] == 0

    as_csv = api.get("/v1/incidents/export?format=csv", tokens.officer)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["people"] for r in rows] == ["1", "240"]
    assert "gmx.de" not in as_csv.text

    as_json = api.get("/v1/incidents/export?format=json", tokens.officer)
    assert as_json.status_code == 200
    assert len(as_json.json()["incidents"]) == 2
    assert api.get("/v1/incidents/export?format=xml", tokens.officer).status_code == 422


def test_register_rules_come_back_as_422(api: Api, tokens: Tokens) -> None:
    created = api.post("/v1/incidents", tokens.officer, json={"title": "t"}).json()
    url = f"/v1/incidents/{created['id']}"
    assert api.patch(url, tokens.officer, json={"notify_regulator": False}).status_code == 422
    assert api.patch(url, tokens.officer, json={"status": "closed"}).status_code == 422
    assert api.patch(url, tokens.officer, json={"recipients": ["nope"]}).status_code == 422
    assert api.patch(url, tokens.officer, json={"aware_at": None}).status_code == 422
    assert (
        api.patch(url, tokens.officer, json={"aware_at": "2026-03-02T11:15:00"}).status_code == 422
    )
    assert api.post("/v1/incidents", tokens.officer, json={}).status_code == 422
    assert api.post("/v1/incidents", tokens.officer, json={"verdict_id": "nope"}).status_code == 404
    assert api.get(f"/v1/incidents/{created['id']}/notice", tokens.officer).status_code == 409


def test_incidents_need_an_officer(api: Api, tokens: Tokens) -> None:
    created = api.post("/v1/incidents", tokens.admin, json={"title": "t"})
    assert created.status_code == 201
    for call in (
        api.get("/v1/incidents", tokens.client),
        api.post("/v1/incidents", tokens.client, json={"title": "t"}),
        api.get(f"/v1/incidents/{created.json()['id']}", tokens.client),
        api.get("/v1/incidents/export", tokens.client),
    ):
        assert call.status_code == 403
    assert api.get("/v1/incidents").status_code == 401
    assert api.get("/v1/incidents/999", tokens.officer).status_code == 404
    assert api.patch("/v1/incidents/999", tokens.officer, json={"people": 2}).status_code == 404
