"""`missend serve smtp` as real processes: hold and release across the command line, a crash that
loses nothing acknowledged, a restart that resumes delayed mail, and two nodes sharing PostgreSQL."""

from __future__ import annotations

import json
import smtplib
import threading
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from missend.history.store import Store
from missend.hold.queue import OPEN, HoldQueue, Status
from missend.smtp.testing import LoopThread, SinkServer, crlf, wait_for
from missend.testing import raw_message

GOV = "team@agency.example.gov.uk"
COLLEAGUE = "colleague@agency.example.gov.uk"
CITIZENS = [f"citizen{i}@gmail.com" for i in range(40)]
HOLD_EXPOSED = '[actions.exposed-recipients]\nhigh = "hold"\n'
Process = Callable[..., Any]
Cli = Callable[..., Any]


def mail(sender: str, to: list[str], **kwargs: Any) -> bytes:
    return crlf(raw_message(sender, to, **kwargs))


def send(port: int, rcpts: list[str], raw: bytes) -> tuple[int, bytes]:
    """One transaction; returns the reply to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.ehlo()
        c.mail(GOV)
        for rcpt in rcpts:
            c.rcpt(rcpt)
        return c.data(raw)


def subject(data: bytes) -> str:
    return str(message_from_bytes(data)["Subject"])


def relay_args(sink: SinkServer, db: str, config: Path, *extra: str) -> list[str]:
    return [
        "--listen", "127.0.0.1:0", "--upstream", f"127.0.0.1:{sink.port}", "--db", db,
        "--config", str(config), "--poll", "0.2", "--learn-every", "0.5", *extra,
    ]  # fmt: skip


def test_held_mail_is_released_from_the_command_line_and_delayed_mail_survives_a_restart(
    relay_process: Process, cli: Cli, sink: SinkServer, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'relay.db'}"
    config = tmp_path / "policy.toml"
    config.write_text(
        HOLD_EXPOSED
        + "[delay]\nseconds = 1\n"
        + f'[upstream]\nhost = "127.0.0.1"\nport = {sink.port}\n'
    )
    relay = relay_process(*relay_args(sink, db, config)).start()
    code, reply = send(relay.port, CITIZENS, mail(GOV, CITIZENS, subject="Letters"))
    assert code == 250
    assert b"held for review" in reply
    code, reply = send(relay.port, ["friend@gmail.com"], mail(GOV, ["friend@gmail.com"]))
    assert (code, reply.split()[1]) == (250, b"queued")
    assert relay.stop() == 0  # before the undo window is over
    assert "Traceback" not in "\n".join(relay.lines)

    listed = cli("hold", "list", "--json", "--db", db)
    assert listed.returncode == 0, listed.stderr
    rows = {row["reason"]: row for row in json.loads(listed.stdout)}
    assert rows["hold"]["status"] == "held"
    assert rows["hold"]["recipients"] == 40
    assert rows["delay"]["status"] == "delayed"
    assert sink.messages == []
    released = cli("hold", "release", rows["hold"]["id"], "--db", db, "--config", str(config))
    assert released.returncode == 0, released.stderr  # no relay needed to release
    (got,) = sink.messages
    assert got.rcpt_tos == tuple(CITIZENS)
    assert subject(got.data) == "Letters"

    relay_process(*relay_args(sink, db, config)).start()
    assert wait_for(lambda: len(sink.messages) == 2, timeout=10)
    assert sink.messages[1].rcpt_tos == ("friend@gmail.com",)


def test_killing_the_relay_mid_transaction_loses_nothing_it_acknowledged(
    relay_process: Process, sink: SinkServer, tmp_path: Path
) -> None:
    sink.handler.delay = 0.05
    db = f"sqlite:///{tmp_path / 'relay.db'}"
    config = tmp_path / "delay.toml"
    config.write_text("[delay]\nseconds = 1\n")
    args = relay_args(sink, db, config, "--stale-after", "1")
    relay = relay_process(*args).start()
    acked: set[str] = set()
    tried: set[str] = set()
    stop = threading.Event()

    def client(worker: int) -> None:
        for n in range(10_000):
            if stop.is_set():
                return
            token = f"m{worker}-{n}"
            rcpt = COLLEAGUE if n % 2 else f"friend{worker}@gmail.com"  # direct / delayed
            c = None
            try:
                c = smtplib.SMTP("127.0.0.1", relay.port, timeout=10)
                tried.add(token)
                c.sendmail(GOV, [rcpt], mail(GOV, [rcpt], subject=token))
                acked.add(token)
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                if c is not None:
                    c.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    for w in workers:
        w.start()

    def busy() -> bool:
        """Enough acknowledged, and the scheduler is releasing delayed mail as well."""
        released = sum(m.rcpt_tos[0].startswith("friend") for m in sink.messages)
        return len(acked) >= 60 and released >= 3

    assert wait_for(busy, timeout=30)
    relay.kill()
    stop.set()
    for w in workers:
        w.join(15)

    at_sink = Counter(subject(m.data) for m in sink.messages)
    with Store.open(db) as store:
        rows = HoldQueue(store).find(status=None)
    queued = {h.subject for h in rows if h.status in (*OPEN, Status.RELEASING)}
    releasing = {h.subject for h in rows if h.status == Status.RELEASING}
    assert tried - acked  # some transactions were cut off by the kill
    assert acked - set(at_sink) - queued == set()  # nothing acknowledged is lost
    assert queued  # the kill left delayed mail behind for the restart

    relay_process(*args).start()
    assert wait_for(lambda: acked <= {subject(m.data) for m in sink.messages}, timeout=20)
    at_sink = Counter(subject(m.data) for m in sink.messages)
    duplicated = {token for token, n in at_sink.items() if n > 1}
    assert duplicated <= (tried - acked) | releasing  # only SMTP's own at-least-once
    assert set(at_sink) <= tried
    with Store.open(db) as store:
        left = [h for h in HoldQueue(store).find() if h.subject in acked]
    assert left == []


@pytest.mark.postgres
def test_two_relays_sharing_postgresql_hold_release_and_learn_for_each_other(
    relay_process: Process, cli: Cli, runner: LoopThread, postgresql_url: str, tmp_path: Path
) -> None:
    sinks = [SinkServer(runner), SinkServer(runner)]
    for s in sinks:
        s.start()
    config = tmp_path / "cluster.toml"
    config.write_text(HOLD_EXPOSED)
    a, b = (
        relay_process(*relay_args(s, postgresql_url, config), "--history-ttl", "0").launch()
        for s in sinks
    )
    a.ready()
    b.ready()

    # Held by A; listed and released with B's settings, so it leaves through B's next hop.
    send(a.port, CITIZENS, mail(GOV, CITIZENS, subject="Letters"))
    listed = cli("hold", "list", "--json", "--db", postgresql_url)
    (row,) = json.loads(listed.stdout)
    b_config = tmp_path / "b.toml"
    b_config.write_text(f'[upstream]\nhost = "127.0.0.1"\nport = {sinks[1].port}\n')
    released = cli("hold", "release", row["id"], "--db", postgresql_url, "--config", str(b_config))
    assert released.returncode == 0, released.stderr
    assert [subject(m.data) for m in sinks[1].messages] == ["Letters"]
    assert sinks[0].messages == []

    # Learned through A, used by B: the same message A had to fix, B finds normal.
    panel = [f"member{i}@gmail.com" for i in range(6)]
    with Store.open(postgresql_url) as store:
        learned = store.snapshot(GOV).message_count
    assert (
        send(a.port, panel, mail(GOV, panel, subject="Panel", message_id="<p1@agency>"))[0] == 250
    )
    verdict_a = message_from_bytes(sinks[0].messages[-1].data)["X-Missend-Verdict"]
    assert verdict_a.startswith("fix")
    with Store.open(postgresql_url) as store:
        assert wait_for(lambda: store.snapshot(GOV).message_count == learned + 1)
    assert (
        send(b.port, panel, mail(GOV, panel, subject="Panel", message_id="<p2@agency>"))[0] == 250
    )
    verdict_b = message_from_bytes(sinks[1].messages[-1].data)["X-Missend-Verdict"]
    assert verdict_b.startswith("allow")

    # Delayed by a node that then dies: B's scheduler sends it, and learns from it.
    delayed = tmp_path / "delayed.toml"
    delayed.write_text(HOLD_EXPOSED + "[delay]\nseconds = 1\n")
    a.kill()
    c = relay_process(*relay_args(sinks[0], postgresql_url, delayed)).start()
    send(
        c.port,
        ["friend@gmail.com"],
        mail(GOV, ["friend@gmail.com"], message_id="<u@agency>", subject="Undo window"),
    )
    c.kill()
    assert wait_for(lambda: any(subject(m.data) == "Undo window" for m in sinks[1].messages))
    assert all(subject(m.data) != "Undo window" for m in sinks[0].messages)
    with Store.open(postgresql_url) as store:
        assert wait_for(lambda: "friend@gmail.com" in store.snapshot(GOV).contacts)
    assert b.stop() == 0
    for s in sinks:
        s.stop()
