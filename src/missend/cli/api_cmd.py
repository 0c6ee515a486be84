"""`missend serve api` and `missend token ...`: the HTTP API and the tokens that let clients in."""

from __future__ import annotations

import getpass
import importlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from missend.cli.serve import serve_app

if TYPE_CHECKING:
    from missend.api.settings import ServiceSettings
    from missend.config import Config
    from missend.history.store import Store

EXIT_ERROR = 3
# Delivery points register their releasers when imported; one not installed here is skipped.
RELEASERS = ("missend.smtp.release", "missend.milter.release")

token_app = typer.Typer(
    help="API tokens for mail clients, officers and admins.", no_args_is_help=True
)

DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL of the store (overrides the config).")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="The TOML configuration ([api] and [register] tables too)."),
]


def fail(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(EXIT_ERROR)


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def opened(
    db: str | None, config_path: Path | None
) -> Iterator[tuple[Config, ServiceSettings, Store]]:
    """Configuration, service settings and the migrated store, closed afterwards."""
    from missend.api.settings import load
    from missend.config import ConfigError
    from missend.history.store import Store, StoreError, default_url

    try:
        config, settings = load(config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    url = db or config.store.url or default_url()
    config = config.with_overrides(store={"url": url})
    try:
        store = Store.open(url, timeout=config.store.timeout)
    except StoreError as exc:
        raise fail(str(exc)) from exc
    try:
        yield config, settings, store
    finally:
        store.close()


def load_releasers() -> list[str]:
    found: list[str] = []
    for name in RELEASERS:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            logging.getLogger(__name__).info("releaser %s not available: %s", name, exc)
            continue
        found.append(name)
    return found


@serve_app.command("api")
def serve_api(
    listen: Annotated[
        str | None, typer.Option(help="HOST:PORT to serve on (default: api.listen).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Serve the HTTP API (check, decisions, holds, incidents, tokens, audit)."""
    import uvicorn

    from missend.api.app import create_app
    from missend.api.settings import read_secret
    from missend.config import ConfigError, listen_address

    logging.basicConfig(
        level=log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with opened(db, config) as (loaded, service, store):
        try:
            host, port = listen_address(listen or service.api.listen, 8025)
            secret = read_secret(loaded.hold.secret_file)
        except ConfigError as exc:
            raise fail(str(exc)) from exc
        load_releasers()
        api = create_app(loaded, store, service, secret=secret)
        sys.stderr.write(f"missend API listening on http://{host}:{port}\n")
        sys.stderr.flush()
        try:
            uvicorn.run(
                api,
                host=host,
                port=port,
                log_level=log_level.lower(),
                proxy_headers=False,
                server_header=False,
            )
        except OSError as exc:
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option("--role", help="client, officer or admin.")],
    sender: Annotated[
        str | None,
        typer.Option("--sender", help="The one sender address a client token may act for."),
    ] = None,
    label: Annotated[str, typer.Option(help="A note to recognise the token by.")] = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a token and print it once; only its argon2id hash is stored."""
    from missend.api.tokens import Role, TokenError, TokenStore
    from missend.audit.log import AuditLog

    try:
        Role(role)
    except ValueError:
        raise fail("--role must be client, officer or admin") from None
    with opened(db, config) as (_, _, store):
        try:
            issued = TokenStore(store).create(role, sender=sender, label=label, by=actor())
        except TokenError as exc:
            raise fail(str(exc)) from exc
        AuditLog(store).record(actor(), "token.create", issued.info.id, {"role": role})
    sys.stdout.write(issued.token + "\n")
    bound = f" for {issued.info.sender}" if issued.info.sender else ""
    sys.stderr.write(
        f"token {issued.info.id} ({issued.info.role}{bound}) created; it is shown only now\n"
    )


@token_app.command("list")
def token_list(db: DbOption = None, config: ConfigOption = None) -> None:
    """The tokens, without their secrets."""
    from missend.api.tokens import TokenStore

    with opened(db, config) as (_, _, store):
        for info in TokenStore(store).list():
            state = f"revoked {info.revoked_at:%Y-%m-%d}" if info.revoked_at else "active"
            sys.stdout.write(
                f"{info.id}\t{info.role}\t{info.sender or '-'}\t{state}\t{info.label}\n"
            )


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `token list`).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke a token; API nodes stop accepting it within api.token_cache_seconds."""
    from missend.api.tokens import TokenStore
    from missend.audit.log import AuditLog

    with opened(db, config) as (_, _, store):
        if not TokenStore(store).revoke(token_id):
            raise fail(f"no active token {token_id}")
        AuditLog(store).record(actor(), "token.revoke", token_id)
    sys.stderr.write(f"token {token_id} revoked\n")
