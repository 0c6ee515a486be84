"""`missend serve milter`: the milter for Postfix (`smtpd_milters`) and Sendmail (`INPUT_MAIL_FILTER`)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

import missend.milter.release  # noqa: F401  (`missend hold release` finds the milter's releaser)
from missend.cli.serve import serve_app

EXIT_ERROR = 3


def fail(message: str) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(EXIT_ERROR)


@serve_app.command("milter")
def serve_milter(
    listen: Annotated[
        str | None,
        typer.Option(
            help="unix:/path/to.sock (default: milter.listen, unix:/run/missend/milter.sock) "
            "or inet:HOST:PORT, as in Postfix's smtpd_milters."
        ),
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="SQLAlchemy URL of the store (history, hold queue).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "--policy",
            help="The TOML configuration (a policy file is one too). Flags override it.",
        ),
    ] = None,
    on_error: Annotated[
        str | None,
        typer.Option(
            help="When a message cannot be checked: tempfail (451, the default: the client "
            "retries), accept (fail open) or reject (550)."
        ),
    ] = None,
    history_ttl: Annotated[
        float,
        typer.Option(help="Seconds a sender's history is cached (0: always read the store)."),
    ] = 30.0,
    processes: Annotated[
        int,
        typer.Option(
            min=1, help="Processes sharing the socket (checks are Python: one core per process)."
        ),
    ] = 1,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Check each message Postfix or Sendmail receives: deliver, fix, hold in the MTA, or refuse."""
    from missend.config import ConfigError, load
    from missend.gateway import Gateway
    from missend.history.store import Store, StoreError, default_url
    from missend.milter.listen import parse_listen
    from missend.milter.notice import read_secret, sendmail_command

    logging.basicConfig(
        level=log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load(config).with_overrides(
            milter={"listen": listen, "on_error": on_error}, store={"url": db}
        )
        if settings.milter.on_error not in ("tempfail", "accept", "reject"):
            raise ConfigError("--on-error must be tempfail, accept or reject")
        address = parse_listen(settings.milter.listen)
        secret = read_secret(settings.hold.secret_file)
        if secret is not None and settings.hold.notify_sender:
            sendmail_command()
    except ConfigError as exc:
        raise fail(str(exc)) from exc
    try:
        store = Store.open(settings.store.url or default_url(), timeout=settings.store.timeout)
    except StoreError as exc:
        raise fail(str(exc)) from exc
    from missend.milter.server import serve

    try:
        serve(Gateway(settings, store, history_ttl=history_ttl), address, secret, processes)
    except Exception as exc:  # a socket in use or not allowed, or a worker that cannot start
        raise fail(f"the milter could not run on {address}: {exc}") from exc
    finally:
        store.close()
