"""Releasing a message the relay held: send it to the configured next hop, from any process.

`missend hold release` runs this on whatever node the officer is on; it needs only the shared store
and the next hop, not the relay process that took the message in.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import replace
from datetime import timedelta

from missend.config import Config
from missend.history.store import Store, StoreError, default_url
from missend.hold.queue import Held, HoldQueue
from missend.hold.release import register
from missend.smtp.outbox import SOURCE, learnable, settle
from missend.smtp.upstream import Delivery, Upstream

log = logging.getLogger(__name__)


async def send_held(config: Config, held: Held) -> Delivery:
    upstream = Upstream(
        replace(config.upstream, connections=1), local_hostname=config.smtp.hostname
    )
    try:
        return await upstream.send(held.envelope_from, held.envelope_to, held.raw)
    finally:
        await upstream.close()


def release_smtp(config: Config, held: Held) -> None:
    """Deliver a held message; raises UpstreamError when the next hop takes it for nobody."""
    delivery = asyncio.run(send_held(config, held))
    message = learnable(held) if config.learn.from_traffic else None
    if not delivery.refused and message is None:
        return
    with Store(config.store.url or default_url()) as store:
        if message is not None and message.sender is not None:
            try:
                store.learn([message])
            except StoreError as exc:  # delivered all the same; only the history misses it
                log.warning("could not learn from a released message: %s", exc)
        if not delivery.refused:
            return
        settle(
            HoldQueue(store),
            delivery,
            data=held.raw,
            mail_from=held.envelope_from,
            sender=held.sender,
            subject=held.subject,
            verdict=held.verdict,
            host=config.smtp.hostname or socket.getfqdn(),
            retry_in=timedelta(minutes=1),
        )


register(SOURCE, release_smtp)
