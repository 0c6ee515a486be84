"""The dashboard under test: the real app over a real store, reached two ways.

`web` drives the ASGI app through httpx (fast, for the rules: redirects, CSRF, cookies);
`served` runs it under uvicorn on a loopback port for Debian's Chromium, driven by Playwright
(`browser`), which saves screenshots under artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from anyio.from_thread import BlockingPortal, start_blocking_portal
from argon2 import PasswordHasher
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import insert

from missend.api.app import create_app
from missend.api.settings import ApiSettings, RegisterSettings, ServiceSettings
from missend.config import Config
from missend.dashboard.accounts import Accounts
from missend.engine import Engine
from missend.history.schema import verdicts
from missend.history.store import Store
from missend.hold.queue import Held, HoldQueue
from missend.hold.release import register as register_releaser
from missend.message.parse import parse_message

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "messages"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHEAP = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # argon2id, fast for tests
SOURCE = "dashboard-test"
DELIVERED: list[str] = []
OFFICER = "dpo@agency.example"
PASSWORD = "a long and memorable passphrase"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _deliver(config: Config, held: Any) -> None:
    DELIVERED.append(held.id)


register_releaser(SOURCE, _deliver)


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def hold(store: Store, name: str = "wrong-attachment-payroll-to-supplier.eml") -> Held:
    """A message held by the gateway, with the verdict the engine gives it."""
    raw = example(name)
    message = parse_message(raw)
    verdict = Engine().check(message).to_dict()
    sender = message.sender.email if message.sender else "someone@example.org"
    return HoldQueue(store).hold(
        raw,
        sender,
        [r.email for r in message.recipients],
        verdict,
        sender=sender,
        subject=message.subject,
        source=SOURCE,
    )


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with Store.open(sqlite_url) as opened:
        yield opened


@pytest.fixture
def secure() -> bool:
    return False


@pytest.fixture
def app(store: Store, secure: bool, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("MISSEND_DASHBOARD_SECURE_COOKIES", "1" if secure else "0")
    settings = ServiceSettings(
        api=ApiSettings(rate_per_minute=6000, burst=1000),
        register=RegisterSettings(
            organisation="Example Agency", dpo_contact="DPO <dpo@agency.example>"
        ),
    )
    return create_app(Config(), store, settings, history_ttl=0, hasher=CHEAP)


@pytest.fixture
def officer(store: Store) -> str:
    Accounts(store, CHEAP).create(OFFICER, PASSWORD, "officer", by="test")
    return OFFICER


class Web:
    """A browser-like client for the ASGI app: keeps cookies, does not follow redirects."""

    def __init__(self, portal: BlockingPortal, client: httpx.AsyncClient, app: FastAPI) -> None:
        self.portal = portal
        self.client = client
        self.app = app

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.portal.call(lambda: self.client.request(method, path, **kw))

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, data=data or {}, **kw)

    def csrf(self, path: str) -> str:
        """The CSRF token in a page's forms."""
        page = self.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, f"no form with a CSRF token on {path}"
        return found.group(1)

    def login(self, name: str = OFFICER, password: str = PASSWORD) -> httpx.Response:
        token = self.csrf("/dashboard/login")
        return self.post(
            "/dashboard/login", {"csrf": token, "name": name, "password": password, "next": ""}
        )


@pytest.fixture
def web(app: FastAPI, secure: bool) -> Iterator[Web]:
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
            base_url="https://missend.test" if secure else "http://127.0.0.1",
            follow_redirects=False,
        )
        yield Web(portal, client, app)
        portal.call(client.aclose)


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium: Browser, served: str) -> Iterator[Page]:
    context = chromium.new_context(base_url=served, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def seed_verdicts(
    store: Store, rows: list[tuple[datetime, str, tuple[str, ...], str | None]]
) -> None:
    """Verdict records as the API leaves them: (when, sender, detectors flagged, decision)."""
    with store.engine.begin() as conn:
        for i, (at, sender, detectors, decision) in enumerate(rows):
            findings = [
                {"detector": d, "action": "fix", "severity": 0.7, "title": d, "explanation": ""}
                for d in detectors
            ]
            conn.execute(
                insert(verdicts).values(
                    id=f"seed{i:020d}",
                    sender=sender,
                    action="fix" if detectors else "allow",
                    risk=0.7 if detectors else 0.0,
                    recipients=3,
                    subject="",
                    verdict=json.dumps({"action": "fix", "findings": findings}),
                    created_at=at,
                    decision=decision,
                    decided_at=at if decision else None,
                )
            )
