"""The notification clock: GDPR Art. 33(1) gives 72 hours from becoming aware of a breach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NOTIFY_WITHIN = timedelta(hours=72)


def deadline(aware_at: datetime) -> datetime:
    return as_utc(aware_at) + NOTIFY_WITHIN


def remaining(deadline_at: datetime, at: datetime | None = None) -> timedelta:
    """Time left before the deadline; negative once it has passed."""
    return as_utc(deadline_at) - (at or datetime.now(UTC))


def as_utc(value: datetime) -> datetime:
    """Naive times are taken as UTC, as the store keeps them."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
