"""Token buckets per caller: a steady rate with room for a burst, kept in this process's memory.

Each API node limits on its own, so N nodes behind a balancer allow up to N times the rate; the
limit is there to stop a runaway client or a guessing loop, not to meter usage.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

_KEYS = 50_000


class RateLimiter:
    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Take one request; None when allowed, else the seconds to wait before the next."""
        stamp = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, stamp))
            tokens = min(self.burst, tokens + (stamp - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, stamp)
            while len(self._buckets) > _KEYS:
                self._buckets.popitem(last=False)
        if allowed:
            return None
        return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0
