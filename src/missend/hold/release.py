"""Releasing a held message is done by whoever took it in: the relay sends it upstream, the milter
lets Postfix deliver it from its own hold queue. Each delivery point registers its releaser here
under the `source` name it stores with the held message."""

from __future__ import annotations

from collections.abc import Callable

from missend.config import Config
from missend.hold.queue import Held, HoldQueue

Releaser = Callable[[Config, Held], None]
"""Deliver the held message; raise to leave it in the queue (the error is recorded)."""

_RELEASERS: dict[str, Releaser] = {}


def register(source: str, releaser: Releaser) -> None:
    _RELEASERS[source] = releaser


def releaser_for(source: str) -> Releaser:
    if source not in _RELEASERS:
        raise LookupError(f"no releaser for messages held by {source!r}")
    return _RELEASERS[source]


def release(queue: HoldQueue, config: Config, hold_id: str, by: str | None = None) -> Held:
    """Claim, deliver, and mark released; on failure the message goes back to the queue."""
    claimed = queue.claim(hold_id, by)
    if claimed is None:
        current = queue.get(hold_id)
        state = current.status if current else "unknown"
        raise LookupError(f"{hold_id} cannot be released (it is {state})")
    try:
        releaser_for(claimed.source)(config, claimed)
    except Exception as exc:
        queue.release_failed(hold_id, f"{type(exc).__name__}: {exc}")
        raise
    done = queue.released(hold_id)
    assert done is not None
    return done
