"""The API under test: a real ASGI app over a real store, called through httpx without a socket.

`Api` is a synchronous facade over `httpx.AsyncClient` + `ASGITransport`, driven by an anyio
blocking portal, so tests read as plain calls while the app runs exactly as under uvicorn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from argon2 import PasswordHasher
from fastapi import FastAPI

from missend.api.app import create_app
from missend.api.settings import ApiSettings, ServiceSettings
from missend.api.tokens import TokenStore
from missend.config import Config
from missend.history.store import Store
from missend.hold.release import register as register_releaser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "messages"
SECRET = b"0123456789abcdef-test-secret"
SENDER = "eu-settlement@migration.example.gov.uk"
OTHER = "someone@elsewhere.example"
HOLD_SOURCE = "api-test"
CHEAP = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # still argon2id, just fast
DELIVERED: list[str] = []


def _deliver(config: Config, held: Any) -> None:
    DELIVERED.append(held.id)


register_releaser(HOLD_SOURCE, _deliver)


class Api:
    def __init__(self, portal: BlockingPortal, client: httpx.AsyncClient) -> None:
        self.portal = portal
        self.client = client

    def request(self, method: str, url: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.portal.call(lambda: self.client.request(method, url, headers=headers, **kw))

    def get(self, url: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("GET", url, token, **kw)

    def post(self, url: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("POST", url, token, **kw)

    def patch(self, url: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, token, **kw)

    def delete(self, url: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, token, **kw)


@dataclass
class Tokens:
    admin: str
    officer: str
    client: str
    other_client: str


@pytest.fixture
def settings() -> ServiceSettings:
    return ServiceSettings(
        api=ApiSettings(max_body_bytes=2_000_000, rate_per_minute=6000, burst=1000)
    )


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with Store.open(sqlite_url) as opened:
        yield opened


@pytest.fixture
def app(store: Store, settings: ServiceSettings) -> FastAPI:
    return create_app(Config(), store, settings, secret=SECRET, history_ttl=0, hasher=CHEAP)


@pytest.fixture
def tokens(store: Store) -> Tokens:
    made = TokenStore(store, hasher=CHEAP)
    return Tokens(
        admin=made.create("admin", label="test admin").token,
        officer=made.create("officer").token,
        client=made.create("client", sender=SENDER).token,
        other_client=made.create("client", sender=OTHER).token,
    )


@pytest.fixture
def api(app: FastAPI) -> Iterator[Api]:
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
            base_url="http://missend.test",
        )
        yield Api(portal, client)
        portal.call(client.aclose)


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()
