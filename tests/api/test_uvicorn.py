"""The API through a real uvicorn server on a loopback port, as `missend serve api` runs it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from missend.api.settings import ServiceSettings

from .conftest import SENDER, Tokens, example


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


def test_check_and_decide_over_a_socket(
    served: str, tokens: Tokens, settings: ServiceSettings
) -> None:
    auth = {"Authorization": f"Bearer {tokens.client}"}
    with httpx.Client(base_url=served, timeout=10) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.post("/v1/check", json={"from": SENDER}).status_code == 401
        checked = client.post(
            "/v1/check",
            content=example("incident-240-eu-citizens-in-to.eml"),
            headers={**auth, "Content-Type": "message/rfc822"},
        )
        assert checked.status_code == 200
        assert checked.json()["recipients"] == 240
        decided = client.post(
            "/v1/decisions",
            json={"verdict_id": checked.json()["verdict_id"], "decision": "fixed"},
            headers=auth,
        )
        assert decided.status_code == 200
        assert decided.json()["learned"] is True
        huge = client.post(
            "/v1/check",
            content=b"x" * (settings.api.max_body_bytes + 1),
            headers={**auth, "Content-Type": "message/rfc822"},
        )
        assert huge.status_code == 413
