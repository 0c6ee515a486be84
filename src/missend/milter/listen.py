"""Where the milter listens, written as Postfix writes it (`unix:PATH`, `inet:HOST:PORT`).

Sendmail's notation (`inet:PORT@HOST`) is accepted too. The address is checked before start-up: a
typo must stop the service with a clear message, not bind somewhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from missend.config import ConfigError


@dataclass(frozen=True, slots=True)
class Listen:
    family: str
    """"unix", "inet" or "inet6"."""
    path: str = ""
    host: str = ""
    port: int = 0

    def __str__(self) -> str:
        if self.family == "unix":
            return f"unix:{self.path}"
        host = f"[{self.host}]" if self.family == "inet6" else self.host
        return f"inet:{host}:{self.port}"


def _port(text: str, value: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"milter.listen {value!r}: the port must be a number from 1 to 65535")
    return int(text)


def parse_listen(value: str) -> Listen:
    """`unix:/path`, `local:/path`, `/path`, `inet:HOST:PORT`, `inet:[v6]:PORT` or `inet:PORT@HOST`."""
    kind, sep, rest = value.partition(":")
    if value.startswith("/"):
        kind, rest = "unix", value
    elif not sep:
        raise ConfigError(f"milter.listen {value!r}: expected unix:/path/to.sock or inet:HOST:PORT")
    kind = kind.lower()
    if kind in ("unix", "local"):
        if not rest.startswith("/"):
            raise ConfigError(f"milter.listen {value!r}: the socket path must be absolute")
        return Listen("unix", path=rest)
    if kind not in ("inet", "inet6"):
        raise ConfigError(f"milter.listen {value!r}: unknown kind {kind!r} (use unix or inet)")
    if "@" in rest:
        port, _, host = rest.partition("@")
    else:
        host, sep, port = rest.rpartition(":")
        if not sep:
            raise ConfigError(f"milter.listen {value!r}: expected inet:HOST:PORT")
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host, kind = host[1:-1], "inet6"
    elif ":" in host:
        kind = "inet6"
    if not host:
        host = "::1" if kind == "inet6" else "127.0.0.1"
    return Listen(kind, host=host, port=_port(port.strip(), value))
