"""The notice to a sender whose message the milter held, submitted through the MTA's own sendmail.

The held message sits in Postfix's hold queue, so the notice goes out the same way as any local
mail: `sendmail` hands it to Postfix's pickup, which does not pass it through `smtpd_milters` again.
It is sent from a thread after the MTA has its answer, so the sender's SMTP session never waits
for it; a notice that cannot be sent is logged, and the message stays safely held all the same.
"""

from __future__ import annotations

import logging
import queue
import shutil
import subprocess
import threading
from pathlib import Path

from missend.config import ConfigError, HoldConfig
from missend.hold.notice import sender_notice
from missend.hold.queue import Held

log = logging.getLogger(__name__)
TIMEOUT = 60.0


def read_secret(path: str | None) -> bytes | None:
    """The key that signs release/cancel links; None when no file is configured."""
    if path is None:
        return None
    try:
        secret = Path(path).read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"hold.secret_file {path}: cannot read ({exc.strerror})") from exc
    if len(secret) < 16:
        raise ConfigError(f"hold.secret_file {path}: the secret must be at least 16 bytes")
    return secret


def sendmail_command() -> str:
    found = shutil.which("sendmail") or shutil.which("sendmail", path="/usr/sbin:/usr/lib")
    if found is None:
        raise ConfigError("hold notices need the MTA's sendmail command, and none was found")
    return found


class Notices:
    def __init__(self, config: HoldConfig, secret: bytes, command: str | None = None) -> None:
        self.config = config
        self.secret = secret
        self.command = command or sendmail_command()
        self.sent = 0
        self._queue: queue.Queue[Held | None] = queue.Queue(1000)
        self._thread = threading.Thread(target=self._run, name="missend-notices", daemon=True)

    def start(self) -> Notices:
        self._thread.start()
        return self

    def submit(self, held: Held) -> None:
        if not held.sender or held.reason != "hold":
            return
        try:
            self._queue.put_nowait(held)
        except queue.Full:
            log.warning("too many notices waiting; %s's sender is not told", held.id)

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        while (held := self._queue.get()) is not None:
            try:
                self.send(held)
            except Exception as exc:  # the message is held either way; only the notice is lost
                log.warning("could not send the notice for %s: %s", held.id, exc)

    def send(self, held: Held) -> None:
        notice = sender_notice(
            held,
            notice_from=self.config.notice_from,
            secret=self.secret,
            ttl_seconds=self.config.token_hours * 3600,
            base_url=self.config.base_url,
        )
        done = subprocess.run(
            [self.command, "-i", "-f", self.config.notice_from, "--", held.sender],
            input=notice.as_bytes(),
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode("utf-8", "replace").strip() or "sendmail failed")
        self.sent += 1
