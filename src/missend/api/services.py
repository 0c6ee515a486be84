"""Everything a request handler needs, built once per app and passed in (no globals).

Pages added later (the dashboard) reach the same objects through `services(request)`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from argon2 import PasswordHasher
from fastapi import Request

from missend.api.ratelimit import RateLimiter
from missend.api.settings import ServiceSettings
from missend.api.tokens import TokenStore
from missend.api.verdicts import VerdictRecords
from missend.audit.log import AuditLog
from missend.config import Config
from missend.engine import Engine
from missend.gateway import HistoryCache
from missend.history.store import Store, StoreError
from missend.hold.queue import HoldQueue
from missend.learning.store import models_for
from missend.register.repository import Register

_PURGE_EVERY = 600.0
log = logging.getLogger(__name__)


def _models(store: Store) -> dict[str, object]:
    """The trained models; if they cannot be read at start the rules decide alone (the checks
    that need the store will answer 503 until it is back)."""
    try:
        return models_for(store)
    except StoreError as exc:
        log.warning("no trained model loaded: %s", exc)
        return {}


@dataclass
class Services:
    config: Config
    settings: ServiceSettings
    store: Store
    engine: Engine
    histories: HistoryCache
    queue: HoldQueue
    audit: AuditLog
    register: Register
    tokens: TokenStore
    verdicts: VerdictRecords
    limiter: RateLimiter
    anonymous: RateLimiter
    secret: bytes | None
    _purged: float = field(default=0.0)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(
        cls,
        config: Config,
        store: Store,
        settings: ServiceSettings,
        secret: bytes | None = None,
        history_ttl: float = 30.0,
        hasher: PasswordHasher | None = None,
    ) -> Services:
        audit = AuditLog(store)
        api = settings.api
        return cls(
            config=config,
            settings=settings,
            store=store,
            engine=Engine(config.policy, models=_models(store)),
            histories=HistoryCache(store, history_ttl),
            queue=HoldQueue(store),
            audit=audit,
            register=Register(store, audit),
            tokens=TokenStore(store, api.token_cache_seconds, hasher),
            verdicts=VerdictRecords(store),
            limiter=RateLimiter(api.rate_per_minute, api.burst),
            anonymous=RateLimiter(max(api.rate_per_minute // 4, 10), max(api.burst // 4, 5)),
            secret=secret,
        )

    def purge_now_and_then(self) -> None:
        """Retention for undecided drafts, run from request handlers at most every ten minutes."""
        stamp = time.monotonic()
        with self._lock:
            if stamp - self._purged < _PURGE_EVERY:
                return
            self._purged = stamp
        self.verdicts.purge(timedelta(hours=self.settings.api.verdict_hours))


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
