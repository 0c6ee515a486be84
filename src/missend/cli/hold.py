"""`missend hold ...`: look at, release or cancel messages kept back by the relay or the milter.

Any node sharing the store can do this: release hands the message to the releaser of the delivery
point that took it in (its `source`), which sends it on from here.
"""

from __future__ import annotations

import getpass
import importlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from missend.cli.serve_smtp import ConfigOption, fail

if TYPE_CHECKING:
    from missend.config import Config
    from missend.hold.queue import Held, HoldQueue

hold_app = typer.Typer(
    help="Messages held for a second look or delayed for undo-send.", no_args_is_help=True
)
# Delivery points register their releasers when imported; a missing optional one is skipped.
RELEASERS = ("missend.smtp.release", "missend.milter.release")

DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL of the store (overrides the config).")
]
IdArgument = Annotated[str, typer.Argument(help="The held message's id (from `hold list`).")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who decides (recorded; default: your login).")
]


@contextmanager
def _opened(db: str | None, config_path: Path | None) -> Iterator[tuple[Config, HoldQueue]]:
    """The configuration and the hold queue; the store's connections are closed afterwards."""
    from missend.config import ConfigError, load
    from missend.history.store import Store, StoreError, default_url
    from missend.hold.queue import HoldQueue

    try:
        config = load(config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    url = db or config.store.url or default_url()
    config = config.with_overrides(store={"url": url})
    try:
        store = Store.open(url)
    except StoreError as exc:
        raise fail(str(exc)) from exc
    try:
        yield config, HoldQueue(store)
    finally:
        store.close()


def _get(queue: HoldQueue, hold_id: str) -> Held:
    from missend.history.store import StoreError

    try:
        held = queue.get(hold_id)
    except StoreError as exc:
        raise fail(str(exc)) from exc
    if held is None:
        raise fail(f"no held message {hold_id}")
    return held


def _load_releasers() -> None:
    for name in RELEASERS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


@hold_app.command("list")
def list_held(
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array, for scripts.")] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="Also released and cancelled messages.")
    ] = False,
    sender: Annotated[str | None, typer.Option(help="Only this sender's messages.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """List the messages waiting (oldest first)."""
    from missend.history.store import StoreError
    from missend.hold.queue import OPEN

    with _opened(db, config) as (_, queue):
        try:
            held = queue.find(None if everything else OPEN, sender=sender)
        except StoreError as exc:
            raise fail(str(exc)) from exc
    rows = [h.summary() for h in held]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        sys.stdout.write("nothing held\n")
    for row in rows:
        sys.stdout.write(
            f"{row['id']}  {row['status']:<9} {row['created_at'][:19]}  {row['sender']}  "
            f"{row['recipients']} rcpt  {row['action']}  {row['subject']!r}\n"
        )


@hold_app.command()
def show(
    hold_id: IdArgument,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, for scripts.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Why a message was held, and its envelope."""
    with _opened(db, config) as (_, queue):
        held = _get(queue, hold_id)
    details = {
        **held.summary(),
        "envelope_from": held.envelope_from,
        "envelope_to": list(held.envelope_to),
        "attempts": held.attempts,
        "last_error": held.last_error,
        "note": held.note,
        "size": len(held.raw),
        "findings": [
            {k: f.get(k) for k in ("detector", "severity", "action", "title", "explanation")}
            for f in held.verdict.get("findings", [])
        ],
    }
    if as_json:
        sys.stdout.write(json.dumps(details, indent=2) + "\n")
        return
    for key in ("id", "status", "reason", "sender", "subject", "created_at", "release_after"):
        sys.stdout.write(f"{key}: {details[key]}\n")
    sys.stdout.write(f"recipients ({len(held.envelope_to)}): {', '.join(held.envelope_to)}\n")
    if held.last_error:
        sys.stdout.write(f"last error (attempt {held.attempts}): {held.last_error}\n")
    for finding in details["findings"]:
        sys.stdout.write(f"- [{finding['action']}] {finding['explanation']}\n")


@hold_app.command()
def release(
    hold_id: IdArgument,
    by: ByOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Send a held message on as it is."""
    from missend.hold.release import release as do_release

    _load_releasers()
    with _opened(db, config) as (settings, queue):
        try:
            done = do_release(queue, settings, hold_id, by=_who(by))
        except LookupError as exc:
            raise fail(str(exc)) from exc
        except Exception as exc:  # the releaser's reason; the message is back in the queue
            raise fail(f"{hold_id} was not released and stays held: {exc}") from exc
    sys.stdout.write(f"released {done.id} to {len(done.envelope_to)} recipient(s)\n")


@hold_app.command()
def cancel(
    hold_id: IdArgument,
    note: Annotated[str | None, typer.Option(help="Why (recorded).")] = None,
    by: ByOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Stop a held or delayed message for good."""
    from missend.history.store import StoreError

    with _opened(db, config) as (_, queue):
        try:
            done = queue.cancel(hold_id, _who(by), note)
            held = queue.get(hold_id) if done is None else done
        except StoreError as exc:
            raise fail(str(exc)) from exc
    if done is None:
        raise fail(f"{hold_id} cannot be cancelled (it is {held.status if held else 'unknown'})")
    sys.stdout.write(f"cancelled {done.id}\n")
