"""The milter inside a real Postfix: swaks sends, Postfix relays to an aiosmtpd sink.

One Postfix for the module, with one smtpd listener per milter configuration; every milter is a
`missend serve milter` process with its own store. Nothing here is simulated: the replies are
Postfix's, the hold queue is Postfix's, the release goes through `missend hold release`.
"""

from __future__ import annotations

import os
import signal
import smtplib
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email import message_from_bytes
from email.utils import getaddresses
from pathlib import Path

import pytest

from missend.config import Config
from missend.gateway import Gateway
from missend.history.store import Store
from missend.hold.queue import HoldQueue, Status
from missend.hold.release import release
from missend.message import parse_message
from missend.milter.housekeeping import Housekeeping
from missend.milter.release import ReleaseError, release_from_postfix
from missend.testing import raw_message

from .postfix import MilterProcess, Postfix, Sink, SwaksResult, free_port, swaks, wait_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "messages"
INCIDENT = EXAMPLES / "incident-240-eu-citizens-in-to.eml"
SENDER = "eu-settlement@migration.example.gov.uk"
PAYROLL = EXAMPLES / "wrong-attachment-payroll-to-supplier.eml"
CONFIGS = {
    "default": '[hold]\nsecret_file = "{secret}"\nnotice_from = "missend@agency.example"\n',
    "block": '[actions.exposed-recipients]\nhigh = "block"\n',
    "broken": "",
    "broken-open": '[milter]\non_error = "accept"\n',
    "crash": "",
    "delay": "[delay]\nseconds = 3\n",
    "multi": "",
}
EXTRA = {"multi": ["--processes", "2"]}


@dataclass
class Lab:
    postfix: Postfix
    sink: Sink
    ports: dict[str, int]
    milters: dict[str, MilterProcess]
    dbs: dict[str, str]
    work: Path

    def send(self, name: str, raw: bytes, sender: str, recipients: list[str]) -> SwaksResult:
        return swaks(self.ports[name], sender, recipients, raw, workdir=self.work)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    work = tmp_path_factory.mktemp("milter-lab")
    sink = Sink()
    sink.start()
    postfix = Postfix()
    ports = {name: free_port() for name in CONFIGS}
    listen = {name: f"unix:{postfix.sockets / name}.sock" for name in CONFIGS}
    listen["multi"] = f"inet:127.0.0.1:{free_port()}"
    milters: dict[str, MilterProcess] = {}
    dbs: dict[str, str] = {}
    try:
        postfix.configure(sink.port, {ports[name]: listen[name] for name in CONFIGS})
        secret = work / "secret"
        secret.write_text("a signing secret of more than sixteen bytes\n")
        for name, text in CONFIGS.items():
            config = work / f"{name}.toml"
            config.write_text(text.replace("{secret}", str(secret)))
            dbs[name] = f"sqlite:///{work / name}.sqlite3"
            Store.open(dbs[name]).close()
            milters[name] = MilterProcess(
                listen[name],
                dbs[name],
                config=config,
                extra=EXTRA.get(name, ()),
                log=work / f"{name}.log",
                env=postfix.env,
            ).start()
        postfix.launch()
        for milter in milters.values():
            milter.wait_ready()
        yield Lab(postfix, sink, ports, milters, dbs, work)
    finally:
        for milter in milters.values():
            milter.kill()
        postfix.stop()
        sink.stop()


def incident() -> tuple[bytes, list[str], str]:
    raw = INCIDENT.read_bytes()
    message = parse_message(raw)
    assert message.message_id
    return raw, [r.email for r in message.recipients], message.message_id


def with_message_id(raw: bytes, message_id: str) -> bytes:
    """The sample under a fresh Message-ID, so each test finds its own copies at the sink."""
    old = parse_message(raw).message_id
    assert old
    return raw.replace(old.encode(), message_id.encode(), 1)


def visible(data: bytes) -> list[str]:
    parsed = message_from_bytes(data)
    fields = parsed.get_all("To", []) + parsed.get_all("Cc", []) + parsed.get_all("Bcc", [])
    return [address for _, address in getaddresses(fields) if "@" in address]


def test_the_240_recipient_replay_reaches_the_sink_with_nobody_visible_and_every_recipient_intact(
    lab: Lab,
) -> None:
    raw, recipients, message_id = incident()
    assert len(set(recipients)) == 240
    sent = lab.send("default", raw, SENDER, recipients)
    assert sent.final().startswith("250"), sent.transcript[-2000:]
    copies = lab.sink.wait_for("Message-ID", message_id, 240)
    assert sorted(r for copy in copies for r in copy.rcpt_tos) == sorted(recipients)
    for copy in copies:
        assert visible(copy.data) == []
        headers = message_from_bytes(copy.data)
        assert headers["To"] == "undisclosed-recipients:;"
        assert headers["X-Missend-Verdict"].startswith("fix;")
        assert headers["Subject"] == "Your application under the EU Settlement Scheme"
        assert raw.split(b"\n\n", 1)[1].strip() in copy.data.replace(b"\r\n", b"\n")


def test_a_clean_message_passes_with_the_verdict_and_a_forged_verdict_is_replaced(
    lab: Lab,
) -> None:
    to = ["colleague@migration.example.gov.uk"]
    raw = raw_message(SENDER, to, subject="Rota", message_id="<clean-1@missend.test>")
    forged = b"X-Missend-Verdict: allow; risk=0.00; vouched-for-by-me\r\n" + raw
    sent = lab.send("default", forged, SENDER, to)
    assert sent.final().startswith("250")
    [copy] = lab.sink.wait_for("Message-ID", "<clean-1@missend.test>", 1)
    verdicts = message_from_bytes(copy.data).get_all("X-Missend-Verdict")
    assert verdicts == ["allow; risk=0.00"]
    assert visible(copy.data) == to


def test_a_blocked_message_gets_a_550_with_the_explanation_and_goes_nowhere(lab: Lab) -> None:
    raw, recipients, _ = incident()
    raw = with_message_id(raw, "<blocked-1@missend.test>")
    sent = lab.send("block", raw, SENDER, recipients)
    reply = sent.final()
    assert reply.startswith("550"), sent.transcript[-2000:]
    assert "5.7.1" in reply
    assert "outside recipients can see each other" in reply
    assert "Move the 240 outside recipients to Bcc" in reply
    assert sent.returncode != 0
    wait_for(lambda: not lab.postfix.queue(), 15, "an empty Postfix queue")
    assert lab.sink.with_header("Message-ID", "<blocked-1@missend.test>") == []


def payroll(message_id: str) -> tuple[bytes, str, list[str]]:
    """The payroll sheet sent to a supplier: held by the default policy (personal data, wrong file)."""
    raw = with_message_id(PAYROLL.read_bytes(), message_id)
    message = parse_message(raw)
    assert message.sender is not None
    return raw, message.sender.email, [r.email for r in message.recipients]


def test_a_held_message_waits_in_postfix_and_in_missend_and_reaches_the_sink_after_release(
    lab: Lab,
) -> None:
    raw, sender, recipients = payroll("<held-1@missend.test>")
    sent = lab.send("default", raw, sender, recipients)
    assert sent.final().startswith("250"), sent.transcript[-2000:]
    queue_id = sent.queue_id
    assert queue_id is not None

    in_hold = wait_for(lambda: lab.postfix.in_hold().get(queue_id), 10, "the Postfix hold queue")
    assert sorted(r["address"] for r in in_hold["recipients"]) == sorted(recipients)
    with Store.open(lab.dbs["default"]) as store:
        [held] = [h for h in HoldQueue(store).find() if h.mta_queue_id == queue_id]
        assert held.status == Status.HELD
        assert held.source == "milter"
        assert sorted(held.envelope_to) == sorted(recipients)
    assert lab.sink.with_header("Message-ID", "<held-1@missend.test>") == []
    [notice] = lab.sink.wait_for("X-Missend-Hold", held.id, 1)
    assert notice.rcpt_tos == [sender]
    text = message_from_bytes(notice.data).get_payload(decode=True).decode()
    assert "has not been sent yet" in text
    assert f"missend hold release {held.id}" in text

    env = {**os.environ, "MAIL_CONFIG": str(lab.postfix.config)}
    cli = [sys.executable, "-c", "from missend.cli.app import main; main()"]
    done = subprocess.run(
        [*cli, "hold", "release", held.id, "--db", lab.dbs["default"]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    copies = lab.sink.wait_for("Message-ID", "<held-1@missend.test>", len(recipients))
    assert sorted(r for copy in copies for r in copy.rcpt_tos) == sorted(recipients)
    assert all(message_from_bytes(c.data)["X-Missend-Verdict"].startswith("hold;") for c in copies)
    assert queue_id not in lab.postfix.in_hold()
    with Store.open(lab.dbs["default"]) as store:
        after = HoldQueue(store).get(held.id)
        assert after is not None
        assert after.status == Status.RELEASED

    with Store.open(lab.dbs["default"]) as store, pytest.raises(LookupError, match="released"):
        release(HoldQueue(store), Config(), held.id)


def test_several_milter_processes_share_a_tcp_socket_and_a_dead_one_is_replaced(lab: Lab) -> None:
    citizens = [f"citizen{i}@gmail.com" for i in range(12)]
    parent = lab.milters["multi"].process
    assert parent is not None

    def workers() -> list[int]:
        children = Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def send_all(tag: str) -> None:
        ids = [f"<{tag}-{i}@missend.test>" for i in range(6)]
        with ThreadPoolExecutor(6) as pool:
            sent = list(
                pool.map(
                    lambda mid: lab.send(
                        "multi", raw_message(SENDER, citizens, message_id=mid), SENDER, citizens
                    ),
                    ids,
                )
            )
        assert all(s.final().startswith("250") for s in sent)
        for mid in ids:
            [copy] = lab.sink.wait_for("Message-ID", mid, 12)
            assert visible(copy.data) == []

    first = wait_for(lambda: len(workers()) == 2 and workers(), 10, "two workers")
    send_all("multi")
    os.kill(first[0], signal.SIGKILL)
    replaced = wait_for(
        lambda: len(workers()) == 2 and first[0] not in workers() and workers(), 15, "a new worker"
    )
    assert first[1] in replaced
    send_all("multi-again")
    assert lab.milters["multi"].stop() == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in replaced)


def test_undo_send_keeps_external_mail_in_postfix_hold_until_the_delay_has_passed(lab: Lab) -> None:
    to = ["friend@example.org"]
    raw = raw_message(SENDER, to, message_id="<delay-1@missend.test>")
    sent = lab.send("delay", raw, SENDER, to)
    assert sent.final().startswith("250"), sent.transcript[-2000:]
    queue_id = sent.queue_id
    assert queue_id in lab.postfix.in_hold()
    assert lab.sink.with_header("Message-ID", "<delay-1@missend.test>") == []
    [copy] = lab.sink.wait_for("Message-ID", "<delay-1@missend.test>", 1, timeout=30)
    assert message_from_bytes(copy.data)["X-Missend-Verdict"].startswith("allow;")
    with Store.open(lab.dbs["delay"]) as store:
        [held] = HoldQueue(store).find(status=None)
        assert held.mta_queue_id == queue_id
        assert held.status == Status.RELEASED


def test_releasing_a_message_postfix_no_longer_holds_fails_and_says_why(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_CONFIG", str(lab.postfix.config))
    with pytest.raises(ReleaseError, match="no held message 9F8E7D6C5B"):
        release_from_postfix("9F8E7D6C5B")
    with pytest.raises(ReleaseError, match="not a Postfix queue id"):
        release_from_postfix("-d ALL")


def test_a_message_cancelled_in_missend_is_deleted_from_postfix_hold_queue(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, sender, recipients = payroll("<cancel-1@missend.test>")
    sent = lab.send("default", raw, sender, recipients)
    queue_id = sent.queue_id
    assert queue_id is not None
    wait_for(lambda: queue_id in lab.postfix.in_hold(), 10, "the Postfix hold queue")
    with Store.open(lab.dbs["default"]) as store:
        gateway = Gateway(Config(), store)
        [held] = [h for h in gateway.queue.find() if h.mta_queue_id == queue_id]
        monkeypatch.setenv("MAIL_CONFIG", str(lab.postfix.config))
        assert Housekeeping(gateway, Config()).sweep() == []
        assert gateway.queue.cancel(held.id, "officer") is not None
        assert Housekeeping(gateway, Config()).sweep() == [queue_id]
    assert queue_id not in lab.postfix.in_hold()
    assert lab.sink.with_header("Message-ID", "<cancel-1@missend.test>") == []


def test_a_milter_that_dies_mid_transaction_gets_a_451_and_while_down_every_message_a_4xx(
    lab: Lab,
) -> None:
    to = ["friend@example.org"]
    raw = raw_message(SENDER, to, message_id="<crash-1@missend.test>")
    with smtplib.SMTP("127.0.0.1", lab.ports["crash"], timeout=30) as client:
        client.ehlo("client.test")
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt(to[0])[0] == 250
        lab.milters["crash"].kill()
        try:
            code, reply = client.data(raw)
        except smtplib.SMTPDataError as refused:  # Postfix may notice already at DATA
            code, reply = refused.smtp_code, refused.smtp_error
    assert 400 <= code < 500, reply
    assert lab.milters["crash"].socket_path.exists()

    raw = raw_message(SENDER, to, message_id="<down-1@missend.test>")
    sent = lab.send("crash", raw, SENDER, to)
    assert sent.final().startswith("4"), sent.transcript[-2000:]
    assert "queued as" not in sent.transcript
    wait_for(lambda: not lab.postfix.queue(), 15, "an empty Postfix queue")
    for message_id in ("<crash-1@missend.test>", "<down-1@missend.test>"):
        assert lab.sink.with_header("Message-ID", message_id) == []


def break_store(url: str) -> None:
    """The store fails under the running milter: its history table is gone."""
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE senders RENAME TO senders_gone")


def test_a_store_error_is_a_451_by_default(lab: Lab) -> None:
    break_store(lab.dbs["broken"])
    to = ["friend@example.org"]
    raw = raw_message(SENDER, to, message_id="<broken-1@missend.test>")
    sent = lab.send("broken", raw, SENDER, to)
    reply = sent.final()
    assert reply.startswith("451"), sent.transcript[-2000:]
    assert "4.7.1" in reply
    assert "try again later" in reply
    assert lab.sink.with_header("Message-ID", "<broken-1@missend.test>") == []


def test_a_store_error_lets_mail_through_marked_unchecked_when_configured_to_fail_open(
    lab: Lab,
) -> None:
    break_store(lab.dbs["broken-open"])
    to = ["friend@example.org"]
    raw = raw_message(SENDER, to, message_id="<open-1@missend.test>")
    sent = lab.send("broken-open", raw, SENDER, to)
    assert sent.final().startswith("250"), sent.transcript[-2000:]
    [copy] = lab.sink.wait_for("Message-ID", "<open-1@missend.test>", 1)
    assert message_from_bytes(copy.data)["X-Missend-Verdict"].startswith("unchecked;")


def test_a_postfix_left_running_by_an_earlier_run_is_replaced(tmp_path: Path) -> None:
    root = Path(str(Postfix().root) + "-restart")
    first, second = Postfix(root), Postfix(root)
    port = free_port()
    try:
        first.start(free_port(), {port: None})
        old_pid = int((first.queue_dir / "pid" / "master.pid").read_text())
        second.start(free_port(), {port: None})
        new_pid = int((second.queue_dir / "pid" / "master.pid").read_text())
        assert new_pid != old_pid
        assert second.running()
    finally:
        second.stop()
    assert not second.running()


def test_every_milter_still_running_stops_cleanly_on_sigterm(lab: Lab) -> None:
    """Last in the module: stops the lab's milters as an impatient service manager would, with a
    second SIGTERM while the first is still being served; each exits 0 all the same."""
    running = {n: m for n, m in lab.milters.items() if m.process and m.process.poll() is None}
    assert "default" in running
    for milter in running.values():
        assert milter.process is not None
        milter.process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    assert {name: milter.stop() for name, milter in running.items()} == dict.fromkeys(running, 0)
