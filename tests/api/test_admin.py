"""Tokens, the audit log over HTTP, rate limits and the health check."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from sqlalchemy import update

from missend.api.app import create_app
from missend.api.settings import ApiSettings, ServiceSettings
from missend.config import Config
from missend.history.schema import audit_log
from missend.history.store import Store

from .conftest import SENDER, Api, Tokens


def test_admins_issue_list_and_revoke_tokens(api: Api, tokens: Tokens) -> None:
    made = api.post(
        "/v1/tokens", tokens.admin, json={"role": "client", "sender": SENDER, "label": "laptop"}
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert token.startswith("msd_")
    assert (
        api.post("/v1/check", token, json={"from": SENDER, "to": ["a@b.example"]}).status_code
        == 200
    )
    listed = api.get("/v1/tokens", tokens.admin).json()
    assert made.json()["id"] in [t["id"] for t in listed]
    assert all("token" not in t and "secret_hash" not in t for t in listed)
    assert api.delete(f"/v1/tokens/{made.json()['id']}", tokens.admin).status_code == 204
    assert api.delete(f"/v1/tokens/{made.json()['id']}", tokens.admin).status_code == 404
    assert (
        api.post("/v1/check", token, json={"from": SENDER, "to": ["a@b.example"]}).status_code
        == 401
    )


def test_token_rules(api: Api, tokens: Tokens) -> None:
    assert api.post("/v1/tokens", tokens.admin, json={"role": "client"}).status_code == 422
    assert api.post("/v1/tokens", tokens.admin, json={"role": "root"}).status_code == 422
    assert api.post("/v1/tokens", tokens.officer, json={"role": "admin"}).status_code == 403
    assert api.get("/v1/tokens", tokens.client).status_code == 403


def test_the_audit_log_reads_and_verifies(api: Api, tokens: Tokens, store: Store) -> None:
    api.post("/v1/incidents", tokens.officer, json={"title": "t"})
    entries = api.get("/v1/audit", tokens.officer).json()
    assert [e["action"] for e in entries] == ["incident.open"]
    assert api.get("/v1/audit/verify", tokens.officer).json()["ok"] is True
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 1).values(actor="someone else"))
    broken = api.get("/v1/audit/verify", tokens.officer).json()
    assert broken["ok"] is False
    assert broken["first_bad"] == 1
    assert api.get("/v1/audit", tokens.client).status_code == 403


def test_health_needs_no_token(api: Api) -> None:
    r = api.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


@pytest.fixture
def strict_api(store: Store) -> Iterator[Api]:
    settings = ServiceSettings(api=ApiSettings(rate_per_minute=60, burst=3))
    app: FastAPI = create_app(Config(), store, settings)
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
            base_url="http://missend.test",
        )
        yield Api(portal, client)
        portal.call(client.aclose)


def test_each_token_is_rate_limited_on_its_own(strict_api: Api, tokens: Tokens) -> None:
    codes = [strict_api.get("/v1/holds", tokens.officer).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    limited = strict_api.get("/v1/holds", tokens.officer)
    assert int(limited.headers["retry-after"]) >= 1
    assert strict_api.get("/v1/holds", tokens.admin).status_code == 200


def test_guessing_tokens_is_rate_limited(strict_api: Api) -> None:
    codes = {strict_api.get("/v1/holds", f"msd_{i:012x}_guess").status_code for i in range(20)}
    assert codes == {401, 429}


def test_signed_links_without_a_secret_are_off(strict_api: Api) -> None:
    assert strict_api.post("/v1/holds/release?token=a.b").status_code == 404


def test_store_trouble_is_503_without_details(api: Api, tokens: Tokens, store: Store) -> None:
    api.get("/v1/holds", tokens.officer)  # the officer's token is verified and remembered
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE held_messages")
    r = api.get("/v1/holds", tokens.officer)
    assert r.status_code == 503
    assert r.json() == {"detail": "missend cannot reach its store; try again later"}
    assert r.headers["retry-after"] == "30"
