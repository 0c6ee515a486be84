"""A real Postfix on loopback for tests and benchmarks: private instance, test ports, a sink next hop.

The instance lives in one fixed directory (its own main.cf, master.cf, queue and log), so a run that
died without cleaning up is found and stopped by the next one, and the system's /etc/postfix is never
touched. Each listener is its own smtpd on its own port with its own `smtpd_milters`, so one Postfix
serves milters of several configurations, and a listener without a milter, side by side.

Facts this relies on (Postfix 3.7, Debian 12): `postfix start` needs no systemd; chroot must be off for
a unix-socket milter; there is no syslog here, so Postfix logs to its own file through postlogd.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
POSTSUPER = "/usr/sbin/postsuper"
SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
ROOT = Path(os.environ.get("MISSEND_TEST_POSTFIX_DIR", "/var/tmp/missend-test-postfix"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(check: Any, timeout: float, what: str, interval: float = 0.02) -> Any:
    """Poll until `check()` is truthy; its last value, or AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


class _Handler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        with self.sink.lock:
            self.sink.messages.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(data))
            )
        return "250 OK"


@dataclass
class Sink:
    """The next hop Postfix relays to: an aiosmtpd server on loopback keeping what it receives."""

    port: int = field(default_factory=free_port)
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, data_size_limit=64 * 1024 * 1024
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def with_header(self, name: str, value: str) -> list[Received]:
        """What arrived carrying the header (Postfix splits a message into one copy per 50 recipients)."""
        needle = f"\n{name}: {value}".encode().lower()
        with self.lock:
            return [
                m for m in self.messages if needle in b"\n" + m.data.replace(b"\r\n", b"\n").lower()
            ]

    def wait_for(
        self, name: str, value: str, recipients: int, timeout: float = 20.0
    ) -> list[Received]:
        def arrived() -> list[Received] | None:
            found = self.with_header(name, value)
            return found if sum(len(m.rcpt_tos) for m in found) >= recipients else None

        found: list[Received] = wait_for(arrived, timeout, f"{recipients} recipient(s) of {value}")
        return found


_REPLY = re.compile(r"\A\s*<[-~*]{1,2}\s+(\d{3})([ -])(.{0,1000})\Z")


@dataclass
class SwaksResult:
    returncode: int
    transcript: str

    def replies(self) -> list[str]:
        """Every server reply in order, multi-line replies joined with newlines."""
        out: list[str] = []
        current: list[str] = []
        for line in self.transcript.splitlines():
            match = _REPLY.match(line)
            if match is None:
                continue
            current.append(f"{match.group(1)} {match.group(3)}")
            if match.group(2) == " ":
                out.append("\n".join(current))
                current = []
        return out

    def final(self) -> str:
        """The last reply before QUIT's: to the message itself when the transaction got that far."""
        replies = self.replies()
        if replies and replies[-1].startswith("221"):
            replies = replies[:-1]
        return replies[-1] if replies else ""

    @property
    def queue_id(self) -> str | None:
        match = re.search(r"queued as ([0-9A-Za-z]{1,32})", self.final())
        return match.group(1) if match else None


def swaks(
    port: int,
    sender: str,
    recipients: Sequence[str],
    data: bytes,
    *,
    timeout: float = 30.0,
    workdir: Path,
) -> SwaksResult:
    """Send one message with swaks, the message given as it is (only line endings normalised)."""
    path = workdir / f"swaks-{time.monotonic_ns()}.eml"
    path.write_bytes(data.replace(b"\r\n", b"\n"))
    try:
        done = subprocess.run(
            [
                SWAKS,
                "--server",
                "127.0.0.1",
                "--port",
                str(port),
                "--helo",
                "client.test",
                "--from",
                sender,
                "--to",
                ",".join(recipients),
                "--data",
                f"@{path}",
                "--timeout",
                str(int(timeout)),
                "--suppress-data",
            ],
            capture_output=True,
            text=True,
            timeout=timeout + 10,
            check=False,
        )
    finally:
        path.unlink(missing_ok=True)
    return SwaksResult(done.returncode, done.stdout + done.stderr)


class Postfix:
    """One private Postfix instance; `start` replaces whatever a previous run left behind."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.config = root / "etc"
        self.queue_dir = root / "queue"
        self.log = root / "postfix.log"
        self.sockets = root / "milter"
        self.env = {**os.environ, "MAIL_CONFIG": str(self.config)}
        self.listeners: list[int] = []

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), capture_output=True, text=True, env=self.env, check=check, timeout=60
        )

    def running(self) -> bool:
        if not (self.config / "main.cf").exists():
            return False
        return self._run(POSTFIX, "-c", str(self.config), "status", check=False).returncode == 0

    def stop(self) -> None:
        stopped = self.running() and self._run(POSTFIX, "-c", str(self.config), "stop", check=False)
        if stopped and stopped.returncode != 0:
            self._run(POSTFIX, "-c", str(self.config), "abort", check=False)
        pid_file = self.queue_dir / "pid" / "master.pid"
        if pid_file.exists():
            try:
                pid = int(pid_file.read_text().strip())
            except ValueError:
                return
            wait_for(lambda: not _alive(pid), 10, "the Postfix master to exit")

    def start(self, relay_port: int, listeners: Mapping[int, str | None]) -> None:
        self.configure(relay_port, listeners)
        self.launch()

    def configure(self, relay_port: int, listeners: Mapping[int, str | None]) -> None:
        """Stop what a previous run left, write the instance anew; `listeners` maps each smtpd
        port to its milter (or None)."""
        self.stop()
        if self.root.exists():
            shutil.rmtree(self.root)
        self.config.mkdir(parents=True)
        self.sockets.mkdir()
        self.queue_dir.mkdir()
        for path in (self.root, self.sockets, self.queue_dir):
            path.chmod(0o755)
        master = _without_chroot(Path("/usr/share/postfix/master.cf.dist").read_text())
        master = "".join(
            line
            for line in master.splitlines(keepends=True)
            if line.split()[:2] != ["smtp", "inet"]
        )
        for port, milter in listeners.items():
            spec = f"127.0.0.1:{port}"
            master += f"{spec} inet n - n - - smtpd -o smtpd_milters={milter or ''}\n"
        (self.config / "master.cf").write_text(master)
        (self.config / "main.cf").write_text(self._main_cf(relay_port))
        self.listeners = list(listeners)

    def launch(self) -> None:
        self._run(POSTFIX, "-c", str(self.config), "start")
        for port in self.listeners:
            wait_for(lambda p=port: _accepts(p), 10, f"Postfix to listen on {port}")

    def _main_cf(self, relay_port: int) -> str:
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.root / "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postfix.missend.test",
            "mydomain": "missend.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "relayhost": f"[127.0.0.1]:{relay_port}",
            "default_transport": "smtp",
            "relay_transport": "smtp",
            "smtp_dns_support_level": "disabled",
            "smtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "maillog_file": str(self.log),
            "maillog_file_prefixes": str(self.root),
            "milter_protocol": "6",
            "milter_default_action": "tempfail",
            "smtpd_milters": "",
            "non_smtpd_milters": "",
            "biff": "no",
            "smtpd_recipient_limit": "2000",
            "message_size_limit": "52428800",
        }
        return "".join(f"{k} = {v}\n" for k, v in settings.items())

    def queue(self) -> list[dict[str, Any]]:
        """Postfix's queue as `postqueue -j` lists it (one JSON object per message)."""
        out = self._run(POSTQUEUE, "-c", str(self.config), "-j").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def in_hold(self) -> dict[str, dict[str, Any]]:
        return {m["queue_id"]: m for m in self.queue() if m.get("queue_name") == "hold"}

    def delete_all(self) -> None:
        self._run(POSTSUPER, "-c", str(self.config), "-d", "ALL", check=False)

    def log_text(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else ""


def _without_chroot(master_cf: str) -> str:
    """master.cf with every service out of the chroot (a unix-socket milter lives outside it)."""
    lines = []
    for line in master_cf.splitlines():
        fields = line.split()
        service = line[:1].strip() and not line.startswith("#") and len(fields) >= 8
        lines.append(" ".join([*fields[:4], "n", *fields[5:]]) if service else line)
    return "\n".join(lines) + "\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class MilterProcess:
    """`missend serve milter` in its own process, as an MTA host would run it."""

    def __init__(
        self,
        listen: str,
        db_url: str,
        *,
        config: Path | None = None,
        extra: Sequence[str] = (),
        log: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.spec = listen
        self.log = log
        self.env = dict(env or os.environ)
        args = ["serve", "milter", "--listen", listen, "--db", db_url, *extra]
        if config is not None:
            args += ["--config", str(config)]
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return Path(self.spec.removeprefix("unix:"))

    def start(self) -> MilterProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from missend.cli.app import main; main()", *self.args],
                stdout=log,
                stderr=log,
                env=self.env,
            )
        return self

    def _connects(self) -> bool:
        try:
            if self.spec.startswith("unix:"):
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(str(self.socket_path))
            else:
                host, _, port = self.spec.removeprefix("inet:").rpartition(":")
                socket.create_connection((host, int(port)), timeout=1).close()
        except OSError:
            return False
        return True

    def wait_ready(self, timeout: float = 30.0) -> MilterProcess:
        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the milter exited early:\n{self.log_text()}")
            return self._connects()

        wait_for(ready, timeout, f"the milter on {self.spec}")
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, as a service manager stops it; the exit status (None if it had to be killed)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
            return None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_text(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else ""
