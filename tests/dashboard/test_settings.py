"""Dashboard settings from the environment: defaults are the safe ones, mistakes stop start-up."""

from __future__ import annotations

import pytest

from missend.config import ConfigError
from missend.dashboard.settings import DashboardSettings


def test_defaults_are_secure() -> None:
    settings = DashboardSettings.from_env({})
    assert settings.secure_cookies is True
    assert settings.session_hours == 8
    assert settings.idle_minutes == 60


def test_values_are_read_and_checked() -> None:
    env = {
        "MISSEND_DASHBOARD_SECURE_COOKIES": "off",
        "MISSEND_DASHBOARD_SESSION_HOURS": "2",
        "MISSEND_DASHBOARD_IDLE_MINUTES": "15",
        "MISSEND_DASHBOARD_TREND_WEEKS": "26",
    }
    assert DashboardSettings.from_env(env) == DashboardSettings(False, 2, 15, 26)
    for name, value in (
        ("SECURE_COOKIES", "maybe"),
        ("SESSION_HOURS", "forever"),
        ("IDLE_MINUTES", "0"),
        ("TREND_WEEKS", "1000"),
    ):
        with pytest.raises(ConfigError, match=f"MISSEND_DASHBOARD_{name}"):
            DashboardSettings.from_env({f"MISSEND_DASHBOARD_{name}": value})
