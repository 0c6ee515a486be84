"""POST /v1/check and /v1/decisions: the verdict with one-click fixes, and what the sender chose."""

from __future__ import annotations

import base64
from datetime import timedelta

import anyio
from fastapi import FastAPI

from missend.api.settings import ServiceSettings
from missend.audit.log import AuditLog
from missend.history.store import Store

from .conftest import OTHER, SENDER, Api, Tokens, example

RFC822 = {"Content-Type": "message/rfc822"}
PRIVATE = ["ann.x@gmail.com", "bo.y@yahoo.co.uk", "cy.z@hotmail.com", "di.q@web.de", "ed.r@gmx.de"]


def draft(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "from": f"EU Settlement Team <{SENDER}>",
        "to": PRIVATE,
        "subject": "Your appointment",
        "text": "Dear applicant,\nyour appointment is confirmed.\n",
    }
    body.update(changes)
    return body


def test_a_raw_message_gets_a_verdict_and_the_move_to_bcc_lists(api: Api, tokens: Tokens) -> None:
    r = api.post(
        "/v1/check",
        tokens.client,
        content=example("incident-240-eu-citizens-in-to.eml"),
        headers=RFC822,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["action"] == "fix"
    assert body["recipients"] == 240
    assert body["sender"] == SENDER
    assert len(body["verdict_id"]) == 24
    [finding] = body["findings"]
    assert finding["detector"] == "exposed-recipients"
    assert finding["fix_id"] == "fix-1"
    [fix] = body["fixes"]
    assert fix["label"] == "Move to Bcc"
    assert fix["result"]["to"] == []
    assert len(fix["result"]["bcc"]) == 240
    assert "Dmitri Kowalski <dmitri.kowalski29@gmx.de>" in fix["result"]["bcc"]
    assert body["fixed"] == fix["result"]
    assert body["choices"] == ["fixed", "sent_anyway", "cancelled"]
    assert body["reason_required"] is True


def test_a_json_draft_is_checked_like_the_message_it_becomes(api: Api, tokens: Tokens) -> None:
    r = api.post("/v1/check", tokens.client, json=draft(cc=["colleague@migration.example.gov.uk"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["findings"][0]["detector"] == "exposed-recipients"
    assert body["fixed"]["bcc"] == PRIVATE
    assert body["fixed"]["cc"] == ["colleague@migration.example.gov.uk"]


def test_a_clean_draft_offers_only_send_and_cancel(api: Api, tokens: Tokens) -> None:
    r = api.post("/v1/check", tokens.client, json=draft(to=["colleague@migration.example.gov.uk"]))
    assert r.status_code == 200
    body = r.json()
    assert body["action"] == "allow"
    assert body["choices"] == ["sent", "cancelled"]
    assert body["fixes"] == []


def test_attachments_are_read(api: Api, tokens: Tokens) -> None:
    rows = "name,national insurance number\n" + "".join(
        f"Person {i},{p}\n"
        for i, p in enumerate(["AB123456C", "CE123456D", "JK654321A", "HM112233B"] * 30)
    )
    attachment = {
        "filename": "payroll.csv",
        "content_type": "text/csv",
        "content": base64.b64encode(rows.encode()).decode(),
    }
    r = api.post(
        "/v1/check",
        tokens.client,
        json=draft(to=["accounts@supplier.example"], attachments=[attachment]),
    )
    assert r.status_code == 200, r.text
    detectors = {f["detector"] for f in r.json()["findings"]}
    assert "personal-data" in detectors


def test_a_client_checks_only_for_its_own_sender(api: Api, tokens: Tokens) -> None:
    r = api.post("/v1/check", tokens.other_client, json=draft())
    assert r.status_code == 403
    assert "own sender" in r.json()["detail"]
    assert api.post("/v1/check", tokens.admin, json=draft()).status_code == 200


def test_auth_failures(api: Api, tokens: Tokens) -> None:
    none = api.post("/v1/check", json=draft())
    assert none.status_code == 401
    assert none.headers["www-authenticate"] == "Bearer"
    assert api.post("/v1/check", "msd_nothere_secret", json=draft()).status_code == 401
    forged = tokens.client[:-4] + "AAAA"
    assert api.post("/v1/check", forged, json=draft()).status_code == 401
    assert api.post("/v1/check", "garbage", json=draft()).status_code == 401
    assert api.post("/v1/check", tokens.officer, json=draft()).status_code == 403


def test_malformed_bodies_get_a_clear_4xx(api: Api, tokens: Tokens) -> None:
    cases = [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 422, None),
        ({"json": draft(to="one@x.example")}, 422, None),
        ({"json": {"to": PRIVATE}}, 422, None),
        ({"json": draft(unknown_field=1)}, 422, None),
        ({"json": draft(to=["not an address"])}, 422, "to[0]"),
        ({"json": draft(to=["a@x.example\r\nBcc: spy@evil.example"])}, 422, "control"),
        ({"json": draft(subject="hi\r\nBcc: spy@evil.example")}, 422, "control"),
        (
            {"json": draft(attachments=[{"filename": "a.txt", "content": "%%%notbase64"}])},
            422,
            "base64",
        ),
        ({"json": draft(in_reply_to="no brackets")}, 422, "in_reply_to"),
        ({"content": b"hello", "headers": {"Content-Type": "text/plain"}}, 415, None),
        ({"content": b"  ", "headers": RFC822}, 400, None),
        ({"content": b"Subject: no from\r\n\r\nbody", "headers": RFC822}, 422, "From"),
    ]
    for kwargs, code, words in cases:
        r = api.post("/v1/check", tokens.client, **kwargs)
        assert r.status_code == code, (kwargs, r.text)
        detail = r.json()["detail"]
        assert detail
        if words:
            assert words in str(detail)
        assert "Traceback" not in r.text
        assert "spy@evil.example" not in r.text


def test_validation_errors_do_not_echo_the_input(api: Api, tokens: Tokens) -> None:
    r = api.post("/v1/check", tokens.client, json=draft(subject=12345678))
    assert r.status_code == 422
    assert "12345678" not in r.text
    assert r.json()["detail"][0]["loc"] == ["subject"]


def test_oversized_bodies_are_refused_with_413(
    api: Api, tokens: Tokens, settings: ServiceSettings
) -> None:
    big = b"x" * (settings.api.max_body_bytes + 1)
    declared = api.post("/v1/check", tokens.client, content=big, headers=RFC822)
    assert declared.status_code == 413
    assert "limit" in declared.json()["detail"]

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(3):
            yield b"y" * (settings.api.max_body_bytes // 2)

    streamed = api.post("/v1/check", tokens.client, content=chunks(), headers=RFC822)
    assert streamed.status_code == 413


def check_id(api: Api, token: str, **changes: object) -> str:
    r = api.post("/v1/check", token, json=draft(**changes))
    assert r.status_code == 200, r.text
    verdict_id: str = r.json()["verdict_id"]
    return verdict_id


def test_fixed_learns_the_message_as_it_was_sent(api: Api, tokens: Tokens, store: Store) -> None:
    verdict_id = check_id(api, tokens.client)
    r = api.post(
        "/v1/decisions", tokens.client, json={"verdict_id": verdict_id, "decision": "fixed"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "verdict_id": verdict_id,
        "decision": "fixed",
        "learned": True,
        "incident_id": None,
        "incident_reference": None,
    }
    history = store.snapshot(SENDER)
    assert history.message_count == 1
    assert set(history.contacts) == set(PRIVATE)
    again = api.post(
        "/v1/decisions", tokens.client, json={"verdict_id": verdict_id, "decision": "cancelled"}
    )
    assert again.status_code == 409


def test_fixed_with_the_final_lists_learns_those(api: Api, tokens: Tokens, store: Store) -> None:
    verdict_id = check_id(api, tokens.client)
    r = api.post(
        "/v1/decisions",
        tokens.client,
        json={"verdict_id": verdict_id, "decision": "fixed", "to": [PRIVATE[0]], "bcc": []},
    )
    assert r.status_code == 200, r.text
    assert set(store.snapshot(SENDER).contacts) == {PRIVATE[0]}


def test_cancelled_learns_nothing(api: Api, tokens: Tokens, store: Store) -> None:
    verdict_id = check_id(api, tokens.client)
    r = api.post(
        "/v1/decisions", tokens.client, json={"verdict_id": verdict_id, "decision": "cancelled"}
    )
    assert r.status_code == 200
    assert r.json()["learned"] is False
    assert store.snapshot(SENDER).message_count == 0


def test_decision_rules(api: Api, tokens: Tokens) -> None:
    verdict_id = check_id(api, tokens.client)
    no_reason = api.post(
        "/v1/decisions", tokens.client, json={"verdict_id": verdict_id, "decision": "sent_anyway"}
    )
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json()["detail"]
    plain_sent = api.post(
        "/v1/decisions", tokens.client, json={"verdict_id": verdict_id, "decision": "sent"}
    )
    assert plain_sent.status_code == 422
    other = api.post(
        "/v1/decisions",
        tokens.other_client,
        json={"verdict_id": verdict_id, "decision": "cancelled"},
    )
    assert other.status_code == 404
    unknown = api.post(
        "/v1/decisions", tokens.client, json={"verdict_id": "0" * 24, "decision": "cancelled"}
    )
    assert unknown.status_code == 404
    assert other.json() == unknown.json()
    assert (
        api.post(
            "/v1/decisions",
            tokens.officer,
            json={"verdict_id": verdict_id, "decision": "cancelled"},
        ).status_code
        == 403
    )
    bad = api.post(
        "/v1/decisions", tokens.client, json={"verdict_id": verdict_id, "decision": "maybe"}
    )
    assert bad.status_code == 422


def test_sending_anyway_against_a_hold_opens_an_incident(
    api: Api, tokens: Tokens, store: Store
) -> None:
    r = api.post(
        "/v1/check",
        tokens.admin,
        content=example("wrong-attachment-payroll-to-supplier.eml"),
        headers=RFC822,
    )
    assert r.status_code == 200
    assert r.json()["action"] == "hold"
    verdict_id = r.json()["verdict_id"]
    decided = api.post(
        "/v1/decisions",
        tokens.admin,
        json={
            "verdict_id": verdict_id,
            "decision": "sent_anyway",
            "reason": "supplier runs payroll",
        },
    )
    assert decided.status_code == 200, decided.text
    incident_id = decided.json()["incident_id"]
    assert decided.json()["incident_reference"] == f"INC-{incident_id:06d}"
    incident = api.get(f"/v1/incidents/{incident_id}", tokens.officer).json()
    assert incident["source"] == "sent_anyway"
    assert incident["verdict_id"] == verdict_id
    assert incident["people"] == 400
    assert "supplier runs payroll" in incident["description"]
    actions = [e.action for e in AuditLog(store).entries()]
    assert actions == ["verdict", "incident.open", "decision"]


def test_sending_anyway_against_a_warning_opens_none(api: Api, tokens: Tokens) -> None:
    verdict_id = check_id(api, tokens.client)
    r = api.post(
        "/v1/decisions",
        tokens.client,
        json={
            "verdict_id": verdict_id,
            "decision": "sent_anyway",
            "reason": "they all know each other",
        },
    )
    assert r.status_code == 200
    assert r.json()["incident_id"] is None


def test_verdicts_are_audited_without_addresses(api: Api, tokens: Tokens, store: Store) -> None:
    check_id(api, tokens.client)
    [entry] = AuditLog(store).entries()
    assert entry.action == "verdict"
    assert entry.details["detectors"] == ["exposed-recipients"]
    assert entry.details["recipients"] == len(PRIVATE)
    assert "gmail" not in str(entry.to_dict())
    assert OTHER not in str(entry.to_dict())


def test_an_undecided_draft_is_dropped_after_its_time(
    api: Api, tokens: Tokens, store: Store, app: FastAPI
) -> None:
    verdict_id = check_id(api, tokens.client)
    services = app.state.services
    assert services.verdicts.get(verdict_id).raw is not None
    services.verdicts.purge(timedelta(0))
    assert services.verdicts.get(verdict_id).raw is None
    late = api.post(
        "/v1/decisions", tokens.client, json={"verdict_id": verdict_id, "decision": "fixed"}
    )
    assert late.status_code == 200
    assert late.json()["learned"] is False
    assert store.snapshot(SENDER).message_count == 0


def test_simultaneous_decisions_count_once(api: Api, tokens: Tokens, store: Store) -> None:
    verdict_id = check_id(api, tokens.client)
    headers = {"Authorization": f"Bearer {tokens.client}"}
    body = {"verdict_id": verdict_id, "decision": "fixed"}
    codes: list[int] = []

    async def race() -> None:
        async def one() -> None:
            r = await api.client.post("/v1/decisions", json=body, headers=headers)
            codes.append(r.status_code)

        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(one)

    api.portal.call(race)
    assert sorted(codes) == [200, 409, 409, 409]
    assert store.snapshot(SENDER).message_count == 1
    decisions = [e for e in AuditLog(store).entries() if e.action == "decision"]
    assert len(decisions) == 1


def test_international_addresses_round_trip(api: Api, tokens: Tokens) -> None:
    raw = (
        "From: Zoë <eu-settlement@migration.example.gov.uk>\r\n"
        'To: jöhn@gmail.com, Åsa <asa@exämple.se>, "Smith, J" <j.smith@yahoo.com>\r\n'
        "Subject: Hej\r\n\r\nHello\r\n"
    ).encode()
    r = api.post("/v1/check", tokens.client, content=raw, headers=RFC822)
    assert r.status_code == 200, r.text
    bcc = r.json()["fixed"]["bcc"]
    assert "jöhn@gmail.com" in bcc
    assert "Åsa <asa@xn--exmple-cua.se>" in bcc
    assert '"Smith, J" <j.smith@yahoo.com>' in bcc
    as_json = api.post(
        "/v1/check", tokens.client, json=draft(to=["jöhn@gmail.com", "Åsa <asa@exämple.se>"])
    )
    assert as_json.status_code == 200, as_json.text
