"""Real SMTP parts on loopback for the relay's tests: a recording sink, the relay in-process or as
a `missend serve smtp` subprocess, and smtplib as the client. Every port is picked by the OS."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from missend.config import Config
from missend.history.store import Store
from missend.message import parse_message
from missend.smtp.server import Relay
from missend.smtp.testing import LoopThread, SinkServer, crlf

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "messages"
CLI = [sys.executable, "-c", "from missend.cli.app import main; main()"]


def load_example(name: str) -> tuple[bytes, str, list[str]]:
    raw = crlf((EXAMPLES / name).read_bytes())
    message = parse_message(raw)
    assert message.sender is not None
    return raw, message.sender.email, [r.email for r in message.recipients]


@pytest.fixture
def example() -> Callable[[str], tuple[bytes, str, list[str]]]:
    """An example message as (wire bytes, envelope sender, envelope recipients)."""
    return load_example


@pytest.fixture
def runner() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture
def sink(runner: LoopThread) -> Iterator[SinkServer]:
    server = SinkServer(runner)
    server.start()
    yield server
    server.stop()


@dataclass
class RunningRelay:
    relay: Relay
    port: int
    runner: LoopThread

    def drain(self) -> None:
        """Wait until history updates from relayed mail are written."""
        self.runner.call(self.relay.handler.drain())


@pytest.fixture
def start_relay(
    runner: LoopThread, sink: SinkServer, tmp_path: Path
) -> Iterator[Callable[..., RunningRelay]]:
    """Start an in-process relay with the given config (its next hop is the sink by default)."""
    started: list[tuple[RunningRelay, Store]] = []

    def start(
        config: Config | None = None, store_url: str | None = None, **options: Any
    ) -> RunningRelay:
        config = config or Config()
        config = replace(
            config,
            smtp=replace(config.smtp, listen="127.0.0.1:0", hostname="relay.test"),
            upstream=replace(config.upstream, host="127.0.0.1", port=sink.port),
        )
        store = Store.open(store_url or f"sqlite:///{tmp_path / f'relay{len(started)}.db'}")
        options.setdefault("poll", 0.1)

        async def make() -> tuple[Relay, int]:
            relay = Relay(config, store, **options)
            _, port = await relay.start()
            return relay, port

        relay, port = runner.call(make())
        running = RunningRelay(relay, port, runner)
        started.append((running, store))
        return running

    yield start
    for running, store in started:
        runner.call(running.relay.stop())
        store.close()


@dataclass
class RelayProcess:
    """`missend serve smtp` as a child process; its stderr is collected as it runs."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread = field(default_factory=threading.Thread)
    _ready: threading.Event = field(default_factory=threading.Event)

    def start(self, timeout: float = 30.0) -> RelayProcess:
        return self.launch().ready(timeout)

    def launch(self) -> RelayProcess:
        """Start the process without waiting for it (start several at once, then `ready`)."""
        self.lines = []
        self.proc = subprocess.Popen(
            [*CLI, "serve", "smtp", *self.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **self.env},
        )
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._pump, args=(self._ready,), daemon=True)
        self._reader.start()
        return self

    def ready(self, timeout: float = 30.0) -> RelayProcess:
        """Wait until the relay says it is listening."""
        if not self._ready.wait(timeout):
            self.kill()
            raise AssertionError("relay did not start:\n" + "\n".join(self.lines))
        return self

    def _pump(self, ready: threading.Event) -> None:
        assert self.proc is not None
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self.lines.append(line)
            found = re.search(r"listening on \S+:(\d+)$", line)
            if found:
                self.port = int(found.group(1))
                ready.set()
        self.proc.stderr.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._reader.join(10)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(10)
        return int(self.proc.returncode)


@pytest.fixture
def relay_process() -> Iterator[Callable[..., RelayProcess]]:
    made: list[RelayProcess] = []

    def make(*args: str) -> RelayProcess:
        process = RelayProcess(list(args))
        made.append(process)
        return process

    yield make
    for process in made:
        process.kill()


def run_cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `missend ARGS...` as a separate process; returns its exit code and output."""
    return run_cli


@dataclass(frozen=True)
class Certificate:
    cert: str
    key: str

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this certificate."""
        return ssl.create_default_context(cafile=self.cert)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, made with the openssl tool."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(str(cert), str(key))
