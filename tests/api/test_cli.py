"""`missend token create` prints a working token once; `missend serve api` serves on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from missend.audit.log import AuditLog
from missend.cli.app import app
from missend.history.store import Store

from .conftest import SENDER

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_token_create_list_and_revoke(sqlite_url: str) -> None:
    made = runner.invoke(
        app, ["token", "create", "--role", "client", "--sender", SENDER, "--db", sqlite_url]
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("msd_")
    assert token not in made.stderr
    token_id = token.removeprefix("msd_").split("_")[0]
    listed = runner.invoke(app, ["token", "list", "--db", sqlite_url])
    assert token_id in listed.stdout
    assert token not in listed.stdout
    assert runner.invoke(app, ["token", "revoke", token_id, "--db", sqlite_url]).exit_code == 0
    assert runner.invoke(app, ["token", "revoke", token_id, "--db", sqlite_url]).exit_code == 3
    with Store.open(sqlite_url) as store:
        actions = [e.action for e in AuditLog(store).entries()]
        stored = store.engine.connect().exec_driver_sql("SELECT secret_hash FROM api_tokens")
        hashes = [row[0] for row in stored]
        stored.close()
    assert actions == ["token.create", "token.revoke"]
    assert hashes[0].startswith("$argon2id$")
    assert token.split("_", 2)[2] not in hashes[0]


def test_token_rules_on_the_command_line(sqlite_url: str) -> None:
    assert (
        runner.invoke(app, ["token", "create", "--role", "client", "--db", sqlite_url]).exit_code
        == 3
    )
    assert (
        runner.invoke(app, ["token", "create", "--role", "root", "--db", sqlite_url]).exit_code == 3
    )


def test_serve_api_on_loopback(sqlite_url: str, tmp_path: Path) -> None:
    made = runner.invoke(app, ["token", "create", "--role", "officer", "--db", sqlite_url])
    token = made.stdout.strip()
    config = tmp_path / "missend.toml"
    config.write_text('[api]\nrate_per_minute = 600\n\n[register]\norganisation = "Example Ltd"\n')
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from missend.cli.app import main; main()",
            "serve",
            "api",
            "--listen",
            f"127.0.0.1:{port}",
            "--db",
            sqlite_url,
            "--config",
            str(config),
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the API did not come up"
            time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/v1/incidents", headers=headers).json()["total"] == 0
        assert httpx.get(f"{base}/v1/incidents").status_code == 401
    finally:
        process.terminate()
        process.wait(10)
        if process.stderr:
            process.stderr.close()


def test_a_bad_config_stops_serve_api(sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[api]\nrate_per_minute = 0\n")
    result = runner.invoke(app, ["serve", "api", "--db", sqlite_url, "--config", str(config)])
    assert result.exit_code == 3
    assert "api.rate_per_minute" in result.stderr
