"""The hold queue over HTTP, and the signed links in sender notices."""

from __future__ import annotations

import time

from missend.audit.log import AuditLog
from missend.engine import Engine
from missend.history.store import Store
from missend.hold.queue import Held, HoldQueue
from missend.hold.tokens import sign
from missend.message.parse import parse_message

from .conftest import DELIVERED, HOLD_SOURCE, OTHER, SECRET, SENDER, Api, Tokens, example


def hold(store: Store, sender: str = SENDER) -> Held:
    raw = example("wrong-attachment-payroll-to-supplier.eml")
    verdict = Engine().check(parse_message(raw)).to_dict()
    return HoldQueue(store).hold(
        raw,
        sender,
        ["accounts@supplier.example"],
        verdict,
        sender=sender,
        subject="March payroll",
        source=HOLD_SOURCE,
    )


def test_officers_list_show_and_release_with_review(api: Api, tokens: Tokens, store: Store) -> None:
    held = hold(store)
    listed = api.get("/v1/holds", tokens.officer)
    assert listed.status_code == 200
    assert [h["id"] for h in listed.json()] == [held.id]
    shown = api.get(f"/v1/holds/{held.id}", tokens.officer).json()
    assert shown["envelope_to"] == ["accounts@supplier.example"]
    assert {f["detector"] for f in shown["findings"]} >= {"personal-data"}
    assert "raw" not in shown
    released = api.post(
        f"/v1/holds/{held.id}/release",
        tokens.officer,
        json={"reviewed_safe": True, "note": "the supplier runs our payroll"},
    )
    assert released.status_code == 200, released.text
    assert released.json()["hold"]["status"] == "released"
    assert released.json()["incident_id"] is None
    assert held.id in DELIVERED
    assert api.get("/v1/holds", tokens.officer).json() == []
    released_list = api.get("/v1/holds?status=released", tokens.officer).json()
    assert [h["id"] for h in released_list] == [held.id]
    again = api.post(f"/v1/holds/{held.id}/release", tokens.officer)
    assert again.status_code == 409


def test_release_without_review_opens_an_incident(api: Api, tokens: Tokens, store: Store) -> None:
    held = hold(store)
    r = api.post(f"/v1/holds/{held.id}/release", tokens.officer)
    assert r.status_code == 200
    incident = api.get(f"/v1/incidents/{r.json()['incident_id']}", tokens.officer).json()
    assert incident["source"] == "hold_release"
    assert incident["hold_id"] == held.id


def test_cancel(api: Api, tokens: Tokens, store: Store) -> None:
    held = hold(store)
    r = api.post(f"/v1/holds/{held.id}/cancel", tokens.officer, json={"note": "wrong file"})
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert api.post(f"/v1/holds/{held.id}/cancel", tokens.officer).status_code == 409
    assert [e.action for e in AuditLog(store).entries()] == ["hold.cancel"]


def test_a_client_sees_only_its_own_sender_holds(api: Api, tokens: Tokens, store: Store) -> None:
    mine = hold(store)
    theirs = hold(store, OTHER)
    assert [h["id"] for h in api.get("/v1/holds", tokens.client).json()] == [mine.id]
    assert api.get(f"/v1/holds/{mine.id}", tokens.client).status_code == 200
    missing = api.get("/v1/holds/000000000000000000000000", tokens.client)
    for call in (
        api.get(f"/v1/holds/{theirs.id}", tokens.client),
        api.post(f"/v1/holds/{theirs.id}/release", tokens.client),
        api.post(f"/v1/holds/{theirs.id}/cancel", tokens.client),
    ):
        assert call.status_code == 404
        assert call.json() == missing.json()
    assert HoldQueue(store).get(theirs.id).status == "held"  # type: ignore[union-attr]


def test_a_sender_cannot_mark_their_own_release_safe(
    api: Api, tokens: Tokens, store: Store
) -> None:
    held = hold(store)
    r = api.post(f"/v1/holds/{held.id}/release", tokens.client, json={"reviewed_safe": True})
    assert r.status_code == 200
    assert r.json()["incident_id"] is not None


def test_no_token_no_holds(api: Api, store: Store) -> None:
    held = hold(store)
    assert api.get("/v1/holds").status_code == 401
    assert api.post(f"/v1/holds/{held.id}/release").status_code == 401


def test_the_signed_release_link_shows_a_page_then_releases_on_post(api: Api, store: Store) -> None:
    held = hold(store)
    token = sign(SECRET, held.id, "release", 3600)
    page = api.get(f"/v1/holds/release?token={token}")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "March payroll" in page.text
    assert 'method="post"' in page.text
    assert HoldQueue(store).get(held.id).status == "held"  # type: ignore[union-attr]
    done = api.post(f"/v1/holds/release?token={token}")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "released"
    assert HoldQueue(store).get(held.id).status == "released"  # type: ignore[union-attr]
    entries = AuditLog(store).entries()
    assert [e.action for e in entries] == ["hold.release", "incident.open"]
    assert entries[0].actor == "link:sender"
    assert api.post(f"/v1/holds/release?token={token}").status_code == 409
    assert "already released" in api.get(f"/v1/holds/release?token={token}").text


def test_the_signed_cancel_link_answers_html_to_a_browser(api: Api, store: Store) -> None:
    held = hold(store)
    token = sign(SECRET, held.id, "cancel", 3600)
    page = api.get(f"/v1/holds/cancel?token={token}")
    assert page.status_code == 200
    assert "Stop the message" in page.text
    assert HoldQueue(store).get(held.id).status == "held"  # type: ignore[union-attr]
    r = api.post(f"/v1/holds/cancel?token={token}", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert "stopped" in r.text
    assert HoldQueue(store).get(held.id).status == "cancelled"  # type: ignore[union-attr]


def test_bad_links_are_refused(api: Api, store: Store) -> None:
    held = hold(store)
    wrong_action = sign(SECRET, held.id, "cancel", 3600)
    expired = sign(SECRET, held.id, "release", 60, at=time.time() - 3600)
    forged = sign(b"another-secret-of-16-bytes", held.id, "release", 3600)
    for token in (wrong_action, expired, forged, "garbage", "a.b"):
        r = api.post(f"/v1/holds/release?token={token}")
        assert r.status_code == 403, token
        assert "not valid" in r.json()["detail"]
    assert api.post("/v1/holds/release").status_code == 422
    assert HoldQueue(store).get(held.id).status == "held"  # type: ignore[union-attr]
