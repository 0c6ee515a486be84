"""The milter's listener on real sockets, without an MTA: framing across reads, bad peers,
silence, and stopping without cutting a message short."""

from __future__ import annotations

import asyncio
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from missend.config import Config
from missend.gateway import Gateway
from missend.history.store import Store
from missend.milter import protocol as p
from missend.milter import server
from missend.milter.listen import Listen
from missend.milter.session import Service
from missend.testing import raw_message

from . import mta

GOV = "team@agency.example.gov.uk"
TO = ["colleague@agency.example.gov.uk"]


class Running:
    """A Listener on its own event loop in a thread, as one worker process runs it."""

    def __init__(self, store: Store, listen: Listen, timeout: float = 30.0) -> None:
        self.listen = listen
        self.sock = server.open_socket(listen)
        self.listener = server.Listener(Service(Gateway(Config(), store)), timeout)
        self.loop = asyncio.new_event_loop()
        self.stop_event = asyncio.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.loop.run_until_complete(self.listener.run(self.sock, self.stop_event))

    def stop(self) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.stop_event.set)

    def join(self) -> None:
        if self.loop.is_closed():
            return
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.loop.close()
        self.sock.close()

    def connect(self) -> socket.socket:
        if self.listen.family == "unix":
            sock = socket.socket(socket.AF_UNIX)
            try:
                sock.connect(self.listen.path)
            except OSError:
                sock.close()
                raise
        else:
            sock = socket.create_connection((self.listen.host, self.listen.port))
        sock.settimeout(10)
        return sock


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'm.db'}") as s:
        yield s


@pytest.fixture
def running(store: Store, tmp_path: Path) -> Iterator[Running]:
    r = Running(store, Listen("unix", path=str(tmp_path / "milter.sock")))
    yield r
    r.stop()
    r.join()


def answer(sock: socket.socket) -> bytes:
    """Read until the answer holds a final verdict (accept, reject, tempfail or a reply code)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
        found, used = p.split(data)
        if (
            used == len(data)
            and found
            and found[-1][0] in (p.ACCEPT, p.REJECT, p.TEMPFAIL, p.REPLYCODE, p.OPTNEG)
        ):
            return data


def closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_message_written_a_byte_at_a_time_gets_the_same_answer_as_one_written_at_once(
    running: Running,
) -> None:
    wire = mta.message(raw_message(GOV, TO), GOV, TO)
    with running.connect() as sock:
        sock.sendall(mta.offer())
        assert mta.options(answer(sock))[0] == 6
        sock.sendall(wire)
        whole = answer(sock)
        for i in range(len(wire)):
            sock.send(wire[i : i + 1])
        assert answer(sock) == whole
    assert mta.edits(whole) == [("add", "X-Missend-Verdict", "allow; risk=0.00")]


def test_a_peer_that_breaks_the_protocol_is_dropped_and_the_next_one_is_served(
    running: Running,
) -> None:
    with running.connect() as bad:
        bad.sendall(mta.offer())
        answer(bad)
        bad.sendall((p.MAX_PACKET + 1).to_bytes(4, "big") + b"B")
        assert closed(bad)
    with running.connect() as early:
        early.sendall(p.packet(p.MAIL, b"<a@b.example>\0"))
        assert closed(early), "nothing before the option negotiation"
    with running.connect() as good:
        good.sendall(mta.offer())
        answer(good)
        good.sendall(mta.message(raw_message(GOV, TO), GOV, TO))
        assert mta.verdict(answer(good))[0] == p.ACCEPT


def test_a_connection_silent_in_the_middle_of_a_message_is_closed_but_an_idle_one_is_kept(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "SWEEP", 0.05)
    r = Running(store, Listen("unix", path=str(tmp_path / "t.sock")), timeout=0.3)
    try:
        with r.connect() as idle, r.connect() as stalled:
            for sock in (idle, stalled):
                sock.sendall(mta.offer())
                answer(sock)
            stalled.sendall(p.packet(p.MAIL, b"<a@b.example>\0"))
            assert closed(stalled)
            idle.sendall(mta.message(raw_message(GOV, TO), GOV, TO))
            assert mta.verdict(answer(idle))[0] == p.ACCEPT
    finally:
        r.stop()
        r.join()


def test_stopping_closes_idle_connections_and_lets_a_message_in_progress_finish(
    running: Running,
) -> None:
    wire = mta.message(raw_message(GOV, TO), GOV, TO)
    with running.connect() as idle, running.connect() as busy:
        for sock in (idle, busy):
            sock.sendall(mta.offer())
            answer(sock)
        busy.sendall(wire[:-5])
        time.sleep(0.2)
        running.stop()
        assert closed(idle)
        busy.sendall(wire[-5:])
        assert mta.verdict(answer(busy))[0] == p.ACCEPT
        assert closed(busy)
    running.join()
    with pytest.raises((FileNotFoundError, ConnectionRefusedError)):
        running.connect()


def test_a_left_over_socket_file_is_replaced_but_a_live_milter_is_not(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(path))
    r = Running(store, Listen("unix", path=str(path)))
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666, "the MTA's own user must connect"
        with pytest.raises(server.AddressInUse):
            server.open_socket(Listen("unix", path=str(path)))
        mistaken = tmp_path / "main.cf"
        mistaken.write_text("not a socket")
        with pytest.raises(server.AddressInUse, match="not a socket"):
            server.open_socket(Listen("unix", path=str(mistaken)))
        assert mistaken.read_text() == "not a socket"
        with r.connect() as sock:
            sock.sendall(mta.offer())
            assert answer(sock)
    finally:
        r.stop()
        r.join()


def test_over_tcp_a_message_is_answered_as_on_a_unix_socket(store: Store) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    r = Running(store, Listen("inet", host="127.0.0.1", port=port))
    try:
        with r.connect() as sock:
            sock.sendall(mta.offer())
            answer(sock)
            sock.sendall(mta.message(raw_message(GOV, TO), GOV, TO))
            assert mta.edits(answer(sock)) == [("add", "X-Missend-Verdict", "allow; risk=0.00")]
    finally:
        r.stop()
        r.join()
