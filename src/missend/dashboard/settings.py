"""How the dashboard's sessions behave, read from the environment of `missend serve api`.

Environment variables rather than a `[dashboard]` table because the config file's tables are
checked by their owners and this one has none yet; the names are the ones a table would use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from missend.config import ConfigError

PREFIX = "MISSEND_DASHBOARD_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class DashboardSettings:
    secure_cookies: bool = True
    session_hours: float = 8.0
    idle_minutes: float = 60.0
    trend_weeks: int = 12

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DashboardSettings:
        """Unset means the default; a value that is set but wrong stops start-up, naming it."""
        env = os.environ if env is None else env
        secure = _flag(env, "SECURE_COOKIES", cls.secure_cookies)
        hours = _number(env, "SESSION_HOURS", cls.session_hours, 0.05, 24 * 30)
        idle = _number(env, "IDLE_MINUTES", cls.idle_minutes, 1, 24 * 60)
        weeks = int(_number(env, "TREND_WEEKS", cls.trend_weeks, 1, 104))
        return cls(secure, hours, idle, weeks)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(PREFIX + name)
    if value is None or not value.strip():
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ConfigError(f"{PREFIX}{name} must be true or false, not {value!r}")


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    value = env.get(PREFIX + name)
    if value is None or not value.strip():
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a number, not {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{PREFIX}{name} must be between {low:g} and {high:g}")
    return number
