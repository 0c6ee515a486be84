"""The one configuration file: the engine's policy plus the settings of the mail-path services.

The policy keys (`internal_domains`, `bands`, `actions`, `detectors`) sit at the top level, so a
policy file is a valid configuration file; the services add their own tables. Every value is
checked at start-up and a wrong one stops the service with its place named: a safety gateway
that starts with half its configuration ignored fails open.
"""

from __future__ import annotations

import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from missend.detectors import default_registry
from missend.policy import Policy, PolicyError

POLICY_KEYS = frozenset({"internal_domains", "bands", "actions", "detectors"})
DELEGATED = frozenset({"api", "register"})
"""Tables read and checked by their own services (`missend.api.settings`), allowed here."""


class ConfigError(PolicyError):
    """The configuration is unusable; the message names the key."""


@dataclass(frozen=True)
class StoreConfig:
    url: str | None = None
    timeout: float = 10.0
    """Seconds one statement may wait in the mail path (a lock, a stalled server) before the
    message is answered 4xx, instead of holding every connection of the process."""


@dataclass(frozen=True)
class SmtpConfig:
    listen: str = "127.0.0.1:10025"
    hostname: str | None = None
    max_message_size: int = 50 * 1024 * 1024
    max_recipients: int = 1000
    timeout: float = 300.0
    tls_cert: str | None = None
    tls_key: str | None = None
    require_tls: bool = False
    auth_file: str | None = None
    require_auth: bool = False


@dataclass(frozen=True)
class UpstreamConfig:
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 60.0
    connections: int = 4


@dataclass(frozen=True)
class MilterConfig:
    listen: str = "unix:/run/missend/milter.sock"
    on_error: str = "tempfail"
    timeout: float = 30.0


@dataclass(frozen=True)
class HoldConfig:
    notify_sender: bool = True
    notice_from: str = "missend@localhost"
    secret_file: str | None = None
    token_hours: int = 72
    base_url: str | None = None


@dataclass(frozen=True)
class DelayConfig:
    seconds: int = 0
    external_only: bool = True


@dataclass(frozen=True)
class LearnConfig:
    from_traffic: bool = True


@dataclass(frozen=True)
class PrivacyConfig:
    """Storage limits and pseudonymisation (`missend retention apply`, `missend forget`)."""

    retention_months: int = 24
    held_days: int = 30
    hash_addresses: bool = False
    key_file: str | None = None


@dataclass(frozen=True)
class Config:
    policy: Policy = field(default_factory=Policy)
    store: StoreConfig = field(default_factory=StoreConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    milter: MilterConfig = field(default_factory=MilterConfig)
    hold: HoldConfig = field(default_factory=HoldConfig)
    delay: DelayConfig = field(default_factory=DelayConfig)
    learn: LearnConfig = field(default_factory=LearnConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)

    def with_overrides(self, **sections: Mapping[str, Any]) -> Config:
        """Command-line flags over the file: only the values given (not None) replace the file's."""
        out = self
        for name, values in sections.items():
            given = {k: v for k, v in values.items() if v is not None}
            if given:
                out = replace(out, **{name: replace(getattr(out, name), **given)})
        return out


_T = TypeVar("_T")


def _check(value: Any, kind: Any, where: str) -> Any:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        if value is None:
            return None
        return _check(value, options[0], where)
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be text, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported setting type")


def build(cls: type[_T], table: Any, where: str) -> _T:
    """A settings dataclass from a TOML table, every key and type checked."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in names:
            raise ConfigError(f"{where}.{key}: unknown setting (known: {', '.join(sorted(names))})")
        values[name] = _check(value, hints[name], f"{where}.{key}")
    return cls(**values)


def _validate(config: Config) -> None:
    if config.milter.on_error not in ("tempfail", "accept", "reject"):
        raise ConfigError("milter.on_error must be tempfail, accept or reject")
    if bool(config.smtp.tls_cert) != bool(config.smtp.tls_key):
        raise ConfigError("smtp.tls_cert and smtp.tls_key go together")
    if config.smtp.require_tls and not config.smtp.tls_cert:
        raise ConfigError("smtp.require_tls needs smtp.tls_cert and smtp.tls_key")
    if config.smtp.require_auth and not config.smtp.auth_file:
        raise ConfigError("smtp.require_auth needs smtp.auth_file")
    if config.store.timeout <= 0:
        raise ConfigError("store.timeout must be positive")
    if config.delay.seconds < 0:
        raise ConfigError("delay.seconds cannot be negative")
    if config.privacy.retention_months <= 0:
        raise ConfigError("privacy.retention_months must be positive")
    if config.privacy.held_days < 0:
        raise ConfigError("privacy.held_days cannot be negative")
    if config.privacy.hash_addresses and not config.privacy.key_file:
        raise ConfigError("privacy.hash_addresses needs privacy.key_file (missend privacy keygen)")
    for name, value in (
        ("smtp.max_message_size", config.smtp.max_message_size),
        ("smtp.max_recipients", config.smtp.max_recipients),
        ("upstream.port", config.upstream.port),
    ):
        if value <= 0:
            raise ConfigError(f"{name} must be positive")


def from_dict(data: Mapping[str, Any]) -> Config:
    sections: dict[str, type[Any]] = {
        f.name: get_type_hints(Config)[f.name] for f in fields(Config) if f.name != "policy"
    }
    unknown = sorted(set(data) - POLICY_KEYS - DELEGATED - set(sections))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)}; expected "
            f"{', '.join(sorted(POLICY_KEYS | DELEGATED | set(sections)))}"
        )
    policy = Policy.from_dict(
        {k: v for k, v in data.items() if k in POLICY_KEYS}, default_registry().names()
    )
    built = {name: build(cls, data.get(name, {}), name) for name, cls in sections.items()}
    config = Config(policy=policy, **built)
    _validate(config)
    return config


def load(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    try:
        return from_dict(data)
    except (PolicyError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def listen_address(value: str, default_port: int) -> tuple[str, int]:
    """`HOST:PORT`, `[v6]:PORT` or `HOST` to a (host, port) pair."""
    host, sep, port = value.rpartition(":")
    if not sep or "]" in port:
        return value.strip("[]"), default_port
    try:
        number = int(port)
    except ValueError as exc:
        raise ConfigError(f"{value!r} is not HOST:PORT") from exc
    if not 0 < number < 65536:
        raise ConfigError(f"{value!r}: port out of range")
    return host.strip("[]") or "127.0.0.1", number
