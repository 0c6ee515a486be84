"""`missend user ...`: the people who may sign in to the dashboard.

The password is asked for twice on a terminal, or read from the first line of standard input
when that is not a terminal (for provisioning scripts); it never appears on the command line,
where other users of the machine could read it from the process list.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from missend.cli.api_cmd import actor, fail, opened

user_app = typer.Typer(help="Dashboard users (officers and admins).", no_args_is_help=True)

DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL of the store (overrides the config).")
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="The TOML configuration file.")]


def _password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise fail("the two passwords differ")
    return first


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="The name to sign in with, e.g. an e-mail address.")],
    role: Annotated[str, typer.Option("--role", help="officer or admin.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a dashboard user; the password is stored only as an argon2id hash."""
    from missend.dashboard.accounts import AccountError, Accounts, check_password, clean_name

    if role not in ("officer", "admin"):
        raise fail("--role must be officer or admin")
    try:
        clean_name(name)
        password = _password(password_stdin)
        check_password(password)
    except AccountError as exc:
        raise fail(str(exc)) from exc
    with opened(db, config) as (_, _, store):
        try:
            user = Accounts(store).create(name, password, role, by=actor())
        except AccountError as exc:
            raise fail(str(exc)) from exc
        from missend.audit.log import AuditLog

        AuditLog(store).record(actor(), "user.create", str(user.id), {"role": role})
    sys.stderr.write(f"user {user.name} ({user.role}) created\n")


@user_app.command("list")
def user_list(db: DbOption = None, config: ConfigOption = None) -> None:
    """The dashboard users, their roles and when they last signed in."""
    from missend.dashboard.accounts import Accounts

    with opened(db, config) as (_, _, store):
        for user in Accounts(store).list():
            state = f"disabled {user.disabled_at:%Y-%m-%d}" if user.disabled_at else "active"
            last = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
            sys.stdout.write(f"{user.name}\t{user.role}\t{state}\tlast sign-in {last}\n")


@user_app.command("password")
def user_password(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Set a new password; the user is signed out everywhere."""
    from missend.audit.log import AuditLog
    from missend.dashboard.accounts import AccountError, Accounts

    password = _password(password_stdin)
    with opened(db, config) as (_, _, store):
        accounts = Accounts(store)
        try:
            changed = accounts.set_password(name, password)
        except AccountError as exc:
            raise fail(str(exc)) from exc
        if not changed:
            raise fail(f"no user {name}")
        found = accounts.find(name)
        AuditLog(store).record(actor(), "user.password", str(found.id if found else ""))
    sys.stderr.write(f"password of {name} changed; their sessions were ended\n")


@user_app.command("disable")
def user_disable(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Stop a user signing in and end their sessions now."""
    from missend.audit.log import AuditLog
    from missend.dashboard.accounts import Accounts

    with opened(db, config) as (_, _, store):
        accounts = Accounts(store)
        if not accounts.disable(name):
            raise fail(f"no user {name}")
        found = accounts.find(name)
        AuditLog(store).record(actor(), "user.disable", str(found.id if found else ""))
    sys.stderr.write(f"user {name} disabled\n")
