"""Releasing a message the milter held: Postfix delivers its own quarantined copy.

The milter quarantined the message in Postfix's hold queue under the queue id stored with it;
`postsuper -H` takes it out of hold and `postqueue -i` asks for delivery now rather than at the next
queue run. This runs where `missend hold release` runs, so that must be the Postfix host (with
MAIL_CONFIG set when Postfix uses another configuration directory).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess

from missend.config import Config
from missend.hold.queue import Held
from missend.hold.release import register
from missend.milter import SOURCE

log = logging.getLogger(__name__)
_QUEUE_ID = re.compile(r"\A[0-9A-Za-z]{1,32}\Z")
_RELEASED = re.compile(r"Released from hold: (\d{1,9}) message")
_DELETED = re.compile(r"Deleted: (\d{1,9}) message")
TIMEOUT = 30.0


class ReleaseError(RuntimeError):
    """Postfix did not release the message; it stays held in missend's queue too."""


def _command(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if found is None:
        raise ReleaseError(f"{name} not found: release must run on the Postfix host")
    return found


def _config_args() -> list[str]:
    directory = os.environ.get("MAIL_CONFIG")
    return ["-c", directory] if directory else []


def release_from_postfix(queue_id: str) -> None:
    """Move the message out of Postfix's hold queue and have it delivered now."""
    if not _QUEUE_ID.match(queue_id):
        raise ReleaseError(f"{queue_id!r} is not a Postfix queue id")
    done = subprocess.run(
        [_command("postsuper"), *_config_args(), "-H", queue_id],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    found = _RELEASED.search(done.stderr + done.stdout)
    if done.returncode != 0 or found is None or int(found.group(1)) < 1:
        detail = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise ReleaseError(f"Postfix has no held message {queue_id} ({detail})")
    flush = subprocess.run(
        [_command("postqueue"), *_config_args(), "-i", queue_id],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if flush.returncode != 0:  # released all the same: the next queue run delivers it
        log.warning("%s released, but not scheduled now: %s", queue_id, flush.stderr.strip())


def postfix_hold_queue() -> set[str]:
    """Queue ids of the messages in Postfix's hold queue."""
    done = subprocess.run(
        [_command("postqueue"), *_config_args(), "-j"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise ReleaseError(f"postqueue -j failed: {done.stderr.strip()}")
    held = set()
    for line in done.stdout.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("queue_name") == "hold" and isinstance(entry.get("queue_id"), str):
            held.add(entry["queue_id"])
    return held


def delete_from_postfix(queue_id: str) -> None:
    """Delete a message from Postfix's hold queue (only from there: a released one is left alone)."""
    if not _QUEUE_ID.match(queue_id):
        raise ReleaseError(f"{queue_id!r} is not a Postfix queue id")
    done = subprocess.run(
        [_command("postsuper"), *_config_args(), "-d", queue_id, "hold"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    found = _DELETED.search(done.stderr + done.stdout)
    if done.returncode != 0 or found is None or int(found.group(1)) < 1:
        detail = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise ReleaseError(f"Postfix has no held message {queue_id} ({detail})")


def release_held(config: Config, held: Held) -> None:
    if not held.mta_queue_id:
        raise ReleaseError(f"{held.id} has no Postfix queue id, so it cannot be found in Postfix")
    release_from_postfix(held.mta_queue_id)


register(SOURCE, release_held)
