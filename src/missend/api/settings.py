"""The API's and the register's settings: the `[api]` and `[register]` tables of the config file.

They sit in the one configuration file beside the engine's policy and the mail-path services and
are checked the same way (`config.build`): a wrong key or type stops start-up with its place named.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from missend.config import Config, ConfigError, build, from_dict
from missend.policy import PolicyError
from missend.verdict import Action

SECTIONS = ("api", "register")


@dataclass(frozen=True)
class ApiSettings:
    listen: str = "127.0.0.1:8025"
    max_body_bytes: int = 30 * 1024 * 1024
    rate_per_minute: int = 120
    burst: int = 60
    verdict_hours: int = 24
    token_cache_seconds: int = 60


@dataclass(frozen=True)
class RegisterSettings:
    organisation: str = ""
    dpo_contact: str = ""
    notice_from: str = ""
    incident_at: str = "hold"

    @property
    def threshold(self) -> Action:
        return Action(self.incident_at)


@dataclass(frozen=True)
class ServiceSettings:
    api: ApiSettings = field(default_factory=ApiSettings)
    register: RegisterSettings = field(default_factory=RegisterSettings)


def _validate(settings: ServiceSettings) -> None:
    api = settings.api
    for name in ("max_body_bytes", "rate_per_minute", "burst", "verdict_hours"):
        if getattr(api, name) <= 0:
            raise ConfigError(f"api.{name} must be positive")
    if api.token_cache_seconds < 0:
        raise ConfigError("api.token_cache_seconds cannot be negative")
    try:
        Action(settings.register.incident_at)
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise ConfigError(f"register.incident_at must be one of {choices}") from None


def from_tables(data: dict[str, Any]) -> tuple[Config, ServiceSettings]:
    rest = {k: v for k, v in data.items() if k not in SECTIONS}
    settings = ServiceSettings(
        api=build(ApiSettings, data.get("api", {}), "api"),
        register=build(RegisterSettings, data.get("register", {}), "register"),
    )
    _validate(settings)
    return from_dict(rest), settings


def load(path: str | Path | None) -> tuple[Config, ServiceSettings]:
    """The whole configuration file; no file means the defaults for everything."""
    if path is None:
        return Config(), ServiceSettings()
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    try:
        return from_tables(data)
    except (PolicyError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def read_secret(path: str | None) -> bytes | None:
    """The key that signs the links in sender notices (`hold.secret_file`)."""
    if not path:
        return None
    try:
        secret = Path(path).read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"hold.secret_file {path}: cannot read ({exc.strerror})") from exc
    if len(secret) < 16:
        raise ConfigError(f"hold.secret_file {path}: the secret must be at least 16 bytes")
    return secret
