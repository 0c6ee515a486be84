"""The gateway's decisions, shared by the relay and the milter."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from missend import gateway as gateway_module
from missend.config import Config, DelayConfig
from missend.gateway import Gateway, Outcome
from missend.history.store import Store, StoreError
from missend.hold.queue import Reason, Status
from missend.message import parse_message
from missend.policy import Policy
from missend.testing import raw_message
from missend.verdict import Action

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "messages"
CITIZENS = [f"citizen{i}@gmail.com" for i in range(40)]
GOV = "team@agency.example.gov.uk"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'g.db'}") as s:
        yield s


def envelope(raw: bytes) -> list[str]:
    return [r.email for r in parse_message(raw).recipients]


def test_exposed_recipients_are_fixed_in_transit_with_the_envelope_intact(store: Store) -> None:
    raw = (EXAMPLES / "incident-240-eu-citizens-in-to.eml").read_bytes()
    rcpts = envelope(raw)
    d = Gateway(Config(), store).decide(raw, "eu-settlement@migration.example.gov.uk", rcpts)
    assert d.outcome == Outcome.DELIVER
    assert d.fixed
    out = parse_message(d.data)
    assert out.visible == ()
    assert b"X-Missend-Verdict: fix" in d.data
    assert len(d.change.to_bcc) == 240


def test_a_clean_message_is_delivered_unchanged_but_for_the_verdict_header(store: Store) -> None:
    raw = raw_message(GOV, ["colleague@agency.example.gov.uk"])
    d = Gateway(Config(), store).decide(raw, GOV, ["colleague@agency.example.gov.uk"])
    assert d.outcome == Outcome.DELIVER
    assert d.data.endswith(raw)
    assert d.data.startswith(b"X-Missend-Verdict: allow; risk=0.00")


def test_block_gives_a_reject_with_a_plain_ascii_reason(store: Store) -> None:
    policy = Policy.from_dict({"actions": {"exposed-recipients": {"high": "block"}}})
    raw = raw_message(GOV, CITIZENS)
    d = Gateway(Config(policy=policy), store).decide(raw, GOV, CITIZENS)
    assert d.outcome == Outcome.REJECT
    assert "outside recipients can see each other" in d.reply
    assert d.reply.isascii()


def test_hold_keeps_the_message_in_the_queue(store: Store) -> None:
    policy = Policy.from_dict({"actions": {"exposed-recipients": {"high": "hold"}}})
    raw = raw_message(GOV, CITIZENS)
    gw = Gateway(Config(policy=policy), store)
    d = gw.decide(raw, GOV, CITIZENS)
    assert d.outcome == Outcome.HOLD
    assert d.held is not None
    held = gw.queue.get(d.held.id)
    assert held is not None
    assert held.status == Status.HELD
    assert held.raw.endswith(raw)
    assert held.envelope_to == tuple(CITIZENS)


def test_a_fix_that_needs_a_person_becomes_a_hold(store: Store) -> None:
    policy = Policy.from_dict(
        {"actions": {"uninspectable": {"low": "fix", "medium": "fix", "high": "fix"}}}
    )
    raw = b"From: a@x.example\r\nTo: b@y.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\ncut"
    d = Gateway(Config(policy=policy), store).decide(raw, "a@x.example", ["b@y.example"])
    assert d.outcome == Outcome.HOLD


def test_undo_send_delays_external_mail_only(store: Store) -> None:
    gw = Gateway(replace(Config(), delay=DelayConfig(seconds=60)), store)
    out = gw.decide(raw_message(GOV, ["friend@gmail.com"]), GOV, ["friend@gmail.com"])
    assert out.outcome == Outcome.HOLD
    assert out.held is not None
    assert out.held.reason == Reason.DELAY
    inside = gw.decide(
        raw_message(GOV, ["c@agency.example.gov.uk"]), GOV, ["c@agency.example.gov.uk"]
    )
    assert inside.outcome == Outcome.DELIVER


def test_a_store_that_is_down_is_a_temporary_failure(tmp_path: Path) -> None:
    store = Store("postgresql+psycopg://nobody@127.0.0.1:1/none")
    d = Gateway(Config(), store).decide(raw_message(GOV, ["x@y.example"]), GOV, ["x@y.example"])
    assert d.outcome == Outcome.TEMPFAIL
    assert "try again" in d.reply


def test_learning_from_traffic_feeds_the_next_check(store: Store) -> None:
    gw = Gateway(Config(), store, history_ttl=0)
    panel = CITIZENS[:6]
    for i in range(2):
        d = gw.decide(
            raw_message(GOV, panel, subject=f"Panel {i}", message_id=f"<p{i}@x>"), GOV, panel
        )
        assert d.message is not None
        gw.learn(d.message)
    again = gw.decide(raw_message(GOV, panel), GOV, panel)
    assert again.verdict is not None
    assert again.verdict.action == Action.ALLOW


def _eventually(condition: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _delivers(gw: Gateway) -> bool:
    """A plain message to a colleague goes through, whatever the models are doing."""
    to = ["colleague@agency.example.gov.uk"]
    return gw.decide(raw_message(GOV, to), GOV, to).outcome == Outcome.DELIVER


def test_a_newly_trained_model_is_read_beside_the_checks_which_never_wait_for_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = Gateway(Config(), store)
    assert _delivers(gw)
    assert gw.engine.models == {}
    started, release, reads = threading.Event(), threading.Event(), []

    def slow_read(_: Store) -> dict[str, object]:
        reads.append(1)
        started.set()
        release.wait(10)
        return {"newer": object()}

    monkeypatch.setattr(gateway_module, "models_for", slow_read)
    monkeypatch.setattr(gateway_module, "MODEL_REFRESH_SECONDS", 0.0)
    assert _delivers(gw)
    assert started.wait(10)
    assert _delivers(gw)
    assert "newer" not in gw.engine.models
    release.set()
    assert _eventually(lambda: "newer" in gw.engine.models)
    assert len(reads) == 1


def test_a_failed_reload_keeps_the_models_loaded_and_mail_flowing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = Gateway(Config(), store)
    monkeypatch.setattr(gateway_module, "models_for", lambda _: {"loaded": object()})
    assert _delivers(gw)
    loaded = gw.engine.models
    failures: list[int] = []

    def broken(_: Store) -> dict[str, object]:
        failures.append(1)
        raise StoreError("the store went away")

    monkeypatch.setattr(gateway_module, "models_for", broken)
    monkeypatch.setattr(gateway_module, "MODEL_REFRESH_SECONDS", 0.0)
    assert _delivers(gw)
    assert _eventually(lambda: failures and not gw._reloading.locked())
    assert gw.engine.models is loaded
    assert _delivers(gw)
    assert _eventually(lambda: len(failures) == 2)
