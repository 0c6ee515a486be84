"""`missend serve smtp`: the relay, and `missend serve smtp-password` for its user file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from missend.cli.serve import serve_app

EXIT_ERROR = 3

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "--policy",
        help="The TOML configuration (a policy file is one too). Flags override it.",
    ),
]


def fail(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(EXIT_ERROR)


@serve_app.command("smtp")
def serve_smtp(
    listen: Annotated[
        str | None, typer.Option(help="HOST:PORT to take mail on (port 0: any free port).")
    ] = None,
    upstream: Annotated[str | None, typer.Option(help="HOST:PORT of the next mail server.")] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="SQLAlchemy URL of the store (history, hold queue).")
    ] = None,
    config: ConfigOption = None,
    history_ttl: Annotated[
        float,
        typer.Option(help="Seconds a sender's history is cached (0: always read the store)."),
    ] = 30.0,
    workers: Annotated[int, typer.Option(help="Threads that check messages.")] = 4,
    poll: Annotated[float, typer.Option(help="Seconds between looks for delayed mail.")] = 1.0,
    stale_after: Annotated[
        float | None,
        typer.Option(
            help="Seconds after which a release a crashed node left unfinished is retried "
            "(default: the larger of 300 and 3x the upstream timeout)."
        ),
    ] = None,
    learn_every: Annotated[
        float,
        typer.Option(
            help="Seconds between writes of what relayed mail taught the history (checks use "
            "it once --history-ttl has passed)."
        ),
    ] = 2.0,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Relay mail to the next hop after checking it: deliver, fix, hold or refuse each message."""
    from missend.config import ConfigError, listen_address, load
    from missend.history.store import Store, StoreError, default_url
    from missend.smtp.server import Relay, bind_address, serve

    logging.basicConfig(
        level=log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load(config)
        overrides: dict[str, object] = {}
        if upstream is not None:
            host, port = listen_address(upstream, 25)
            overrides = {"host": host, "port": port}
        settings = settings.with_overrides(
            smtp={"listen": listen}, upstream=overrides, store={"url": db}
        )
        bind_address(settings.smtp.listen)
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    try:
        store = Store.open(settings.store.url or default_url(), timeout=settings.store.timeout)
    except StoreError as exc:
        raise fail(str(exc)) from exc
    try:
        relay = Relay(
            settings,
            store,
            history_ttl=history_ttl,
            workers=workers,
            poll=poll,
            stale_after=stale_after,
            learn_every=learn_every,
        )
    except ConfigError as exc:
        store.close()
        raise fail(str(exc)) from exc

    def ready(host: str, port: int) -> None:
        sys.stderr.write(f"missend relay listening on {host}:{port}\n")
        sys.stderr.flush()

    try:
        serve(relay, ready)
    except OSError as exc:
        raise fail(f"cannot listen on {settings.smtp.listen}: {exc.strerror}") from exc
    finally:
        store.close()


@serve_app.command("smtp-password")
def smtp_password(
    user: Annotated[str, typer.Argument(help="The login name.")],
) -> None:
    """Print a `user:hash` line for the relay's smtp.auth_file (asks for the password)."""
    from missend.smtp.auth import hash_password

    if ":" in user or not user.strip():
        raise fail("the user name cannot be empty or contain ':'")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    sys.stdout.write(f"{user}:{hash_password(password)}\n")
