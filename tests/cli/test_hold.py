"""`missend hold`: list, show, release and cancel held messages from any node sharing the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from missend.cli.app import app
from missend.history.store import Store
from missend.hold.queue import HoldQueue, Reason, Status
from missend.smtp.testing import LoopThread, SinkServer

runner = CliRunner()
RAW = b"From: team@agency.example\r\nTo: a@gmail.com, b@gmail.com\r\nSubject: Letters\r\n\r\nHi\r\n"
VERDICT = {
    "action": "hold",
    "risk": 0.9,
    "findings": [
        {
            "detector": "exposed-recipients",
            "severity": "high",
            "action": "hold",
            "title": "2 outside recipients can see each other's addresses",
            "explanation": "Everyone who receives this message will see the others' addresses.",
        }
    ],
}


@pytest.fixture
def sink() -> Iterator[SinkServer]:
    loop = LoopThread()
    server = SinkServer(loop)
    server.start()
    yield server
    server.stop()
    loop.close()


@pytest.fixture
def store_db(store_url: str) -> Iterator[tuple[str, HoldQueue]]:
    with Store.open(store_url) as store:
        yield store_url, HoldQueue(store)


@pytest.fixture
def config(tmp_path: Path, sink: SinkServer) -> str:
    path = tmp_path / "missend.toml"
    path.write_text(f'[upstream]\nhost = "127.0.0.1"\nport = {sink.port}\ntimeout = 5\n')
    return str(path)


def held(queue: HoldQueue, source: str = "smtp") -> str:
    return queue.hold(
        RAW,
        "team@agency.example",
        ["a@gmail.com", "b@gmail.com"],
        VERDICT,
        sender="team@agency.example",
        subject="Letters",
        source=source,
    ).id


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_list_shows_open_messages_and_json_is_for_scripts(
    store_db: tuple[str, HoldQueue], config: str
) -> None:
    url, queue = store_db
    first, second = held(queue), held(queue)
    queue.cancel(second, "officer")
    code, out = invoke("hold", "list", "--db", url, "--config", config)
    assert code == 0
    assert first in out
    assert second not in out
    assert "'Letters'" in out
    code, out = invoke("hold", "list", "--json", "--all", "--db", url)
    rows = {row["id"]: row for row in json.loads(out)}
    assert set(rows) == {first, second}
    assert rows[first]["status"] == "held"
    assert rows[first]["recipients"] == 2
    assert rows[second]["status"] == "cancelled"


def test_show_explains_why_and_names_the_envelope(store_db: tuple[str, HoldQueue]) -> None:
    url, queue = store_db
    hold_id = held(queue)
    code, out = invoke("hold", "show", hold_id, "--db", url)
    assert code == 0
    assert "a@gmail.com, b@gmail.com" in out
    assert "will see the others' addresses" in out
    code, out = invoke("hold", "show", hold_id, "--json", "--db", url)
    details = json.loads(out)
    assert details["envelope_to"] == ["a@gmail.com", "b@gmail.com"]
    assert details["findings"][0]["detector"] == "exposed-recipients"


def test_release_sends_the_message_to_the_next_hop_once(
    store_db: tuple[str, HoldQueue], config: str, sink: SinkServer
) -> None:
    url, queue = store_db
    hold_id = held(queue)
    code, out = invoke(
        "hold", "release", hold_id, "--by", "officer", "--db", url, "--policy", config
    )
    assert code == 0, out
    assert f"released {hold_id}" in out
    (got,) = sink.messages
    assert got.data == RAW
    assert got.rcpt_tos == ("a@gmail.com", "b@gmail.com")
    assert got.mail_from == "team@agency.example"
    after = queue.get(hold_id)
    assert after is not None
    assert after.status == Status.RELEASED
    assert after.decided_by == "officer"
    code, out = invoke("hold", "release", hold_id, "--db", url, "--config", config)
    assert code == 3
    assert "it is released" in out
    assert len(sink.messages) == 1


def test_a_release_the_next_hop_cannot_take_stays_held_with_the_reason(
    store_db: tuple[str, HoldQueue], config: str, sink: SinkServer
) -> None:
    url, queue = store_db
    hold_id = held(queue)
    sink.stop()
    code, out = invoke("hold", "release", hold_id, "--db", url, "--config", config)
    assert code == 3
    assert "stays held" in out
    after = queue.get(hold_id)
    assert after is not None
    assert after.status == Status.HELD
    assert after.attempts == 1
    assert "451" in (after.last_error or "")
    sink.start()
    assert invoke("hold", "release", hold_id, "--db", url, "--config", config)[0] == 0
    assert len(sink.messages) == 1


def test_release_refused_for_some_recipients_bounces_them_and_delivers_the_rest(
    store_db: tuple[str, HoldQueue], config: str, sink: SinkServer
) -> None:
    url, queue = store_db
    sink.handler.refuse = {"b@gmail.com": "550 5.1.1 no such user"}
    hold_id = held(queue)
    assert invoke("hold", "release", hold_id, "--db", url, "--config", config)[0] == 0
    assert sink.messages[0].rcpt_tos == ("a@gmail.com",)
    (bounce,) = [h for h in queue.find() if h.reason == Reason.DELAY]
    assert bounce.envelope_to == ("team@agency.example",)
    assert b"b@gmail.com" in bounce.raw


def test_cancel_stops_a_message_for_good(
    store_db: tuple[str, HoldQueue], config: str, sink: SinkServer
) -> None:
    url, queue = store_db
    hold_id = held(queue)
    code, out = invoke("hold", "cancel", hold_id, "--note", "wrong list", "--db", url)
    assert code == 0
    assert f"cancelled {hold_id}" in out
    after = queue.get(hold_id)
    assert after is not None
    assert after.status == Status.CANCELLED
    assert after.note == "wrong list"
    assert invoke("hold", "release", hold_id, "--db", url, "--config", config)[0] == 3
    assert invoke("hold", "cancel", hold_id, "--db", url)[0] == 3
    assert sink.messages == []


def test_unknown_ids_sources_and_bad_configs_are_errors_not_silence(
    store_db: tuple[str, HoldQueue], tmp_path: Path
) -> None:
    url, queue = store_db
    code, out = invoke("hold", "show", "nope", "--db", url)
    assert code == 3
    assert "no held message nope" in out
    other = held(queue, source="elsewhere")
    code, out = invoke("hold", "release", other, "--db", url)
    assert code == 3
    assert "no releaser" in out
    assert queue.get(other).status == Status.HELD  # type: ignore[union-attr]
    bad = tmp_path / "bad.toml"
    bad.write_text("[upstream]\nport = 'twenty-five'\n")
    code, out = invoke("hold", "list", "--db", url, "--config", str(bad))
    assert code == 3
    assert "upstream.port must be a whole number" in out
