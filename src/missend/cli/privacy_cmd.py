"""`missend forget`, `missend retention apply` and `missend privacy ...`: the store's own GDPR duties."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from missend.cli.api_cmd import ConfigOption, DbOption, actor, fail

if TYPE_CHECKING:
    from missend.api.settings import ServiceSettings
    from missend.config import Config
    from missend.history.store import Store
    from missend.privacy.erasure import ErasureReport

EXIT_INCOMPLETE = 1
out = Console(soft_wrap=True, highlight=False)

retention_app = typer.Typer(help="Delete what is older than the configured limits.")
privacy_app = typer.Typer(help="Keyed hashes of addresses and the store's privacy mode.")


@contextmanager
def _opened(
    db: str | None, config_path: Path | None
) -> Iterator[tuple[Config, ServiceSettings, Store]]:
    """Configuration and the migrated store, opened with the address key when one is configured."""
    from missend.api.settings import load
    from missend.config import ConfigError
    from missend.history.store import Store, StoreError, default_url
    from missend.privacy.pseudonym import AddressKeys, KeyFileError

    try:
        config, settings = load(config_path)
        keys = (
            AddressKeys.from_file(config.privacy.key_file)
            if config.privacy.hash_addresses and config.privacy.key_file
            else None
        )
    except (ConfigError, KeyFileError) as exc:
        raise fail(str(exc)) from exc
    try:
        store = Store.open(db or config.store.url or default_url(), keys=keys)
    except StoreError as exc:
        raise fail(str(exc)) from exc
    try:
        yield config, settings, store
    finally:
        store.close()


def forget(
    address: Annotated[str, typer.Argument(help="The person's e-mail address.")],
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="Also replace this name in free text (repeat)."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Delete their held messages without asking.")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify", help="Scan every text column afterwards (slow on huge stores)."
        ),
    ] = True,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Erase one person everywhere missend keeps them.

    Deleted: their history as a sender and as anyone's contact (co-recipient pairs, word profiles, thread participant lists, the keys of the messages they sent), held or delayed messages from or to them (asks first, since those messages will then never be sent; --yes for scripts), and verdict drafts from or to them waiting for a decision.

    Kept, with the address replaced by a pseudonym: the breach register and the audit log. GDPR Art. 33(5) obliges the organisation to document every personal-data breach, and Art. 17(3)(b) exempts records kept to meet a legal obligation from erasure; so each incident stays complete (what happened, how many people, what was done) without naming this person. The audit log is re-linked after the change, and the erasure itself is logged, so the log still verifies. With an address key (privacy.key_file) the pseudonym is the same every time for the same person, so the register stays consistent; without one it is random.

    Prints what was erased, with counts, and checks that no text column anywhere still holds the address (exit 1 if one does).
    """
    from missend.history.store import StoreError
    from missend.message.addresses import normalize_email
    from missend.privacy.audit import AuditChainBroken
    from missend.privacy.erasure import erase, preview
    from missend.privacy.scrub import Scrubber

    try:
        Scrubber(address, "")
    except ValueError as exc:
        raise fail(str(exc)) from exc
    email = normalize_email(address)
    with _opened(db, config) as (_, _, store):
        try:
            doomed = preview(store, email)
            if doomed and not yes:
                out.print(f"{len(doomed)} held message(s) are from or to {email}:")
                for held in doomed:
                    out.print(f"  {held.id}  {held.status:<9}  {held.subject}")
                unsent = sum(1 for h in doomed if h.status in ("held", "delayed", "releasing"))
                question = f"Delete them{f' ({unsent} not sent yet, they never will be)' if unsent else ''}?"
                if not typer.confirm(question, default=False):
                    out.print("nothing was changed")
                    raise typer.Exit(EXIT_INCOMPLETE)
            report = erase(store, address, names=name or (), by=actor(), verify=verify)
        except (StoreError, AuditChainBroken) as exc:
            raise fail(str(exc)) from exc
    _print_erasure(email, report)
    if report.remaining:
        raise typer.Exit(EXIT_INCOMPLETE)


def _print_erasure(email: str, r: ErasureReport) -> None:
    out.print(f"erased {email}; in the register and the audit log it is now {r.pseudonym}")
    lines = (
        ("history rows (as sender, as contact, pairs, profiles, thread lists)", r.history_rows),
        ("held messages deleted", r.held_deleted),
        ("  of them not yet sent", r.held_open_deleted),
        ("held messages of others with the address replaced in notes/verdicts", r.held_rewritten),
        ("verdict drafts from or to them deleted", r.drafts_deleted),
        ("verdict drafts of others mentioning them: content dropped", r.drafts_cleared),
        ("their decided verdicts deleted", r.verdicts_deleted),
        ("verdict records with the address replaced", r.verdicts_rewritten),
        ("incidents pseudonymised (kept: Art. 33(5))", r.incidents),
        ("incident actions pseudonymised", r.incident_actions),
        ("audit entries pseudonymised", r.audit_rewritten),
        ("audit entries re-linked", r.audit_relinked),
        ("API tokens revoked", r.tokens_revoked),
        ("API tokens with the address replaced", r.tokens_rewritten),
        ("dashboard accounts disabled", r.users_disabled),
        ("dashboard accounts with the address replaced", r.users_rewritten),
    )
    width = max(len(label) for label, _ in lines)
    for label, count in lines:
        out.print(f"  {label:<{width}}  {count}")
    if r.held_content_mentions:
        out.print(
            f"  note: {r.held_content_mentions} held message(s) of other people mention the "
            "address in their text; they are kept as written until released or cancelled, and "
            "deleted by `missend retention apply` after that"
        )
    for where, count in sorted(r.remaining.items()):
        out.print(f"[red]still found in {where}: {count} row(s)[/]")


@retention_app.command("apply")
def retention_apply(
    older_than_months: Annotated[
        int | None,
        typer.Option(
            "--older-than-months",
            min=1,
            help="Forget history not written to for this many months (default: privacy.retention_months).",
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Forget history older than the limit, delete decided held messages after privacy.held_days,
    and drop verdict drafts nobody decided on within api.verdict_hours. The breach register and
    the audit log are kept (legal records)."""
    from missend.history.store import StoreError
    from missend.privacy.retention import apply_retention

    with _opened(db, config) as (loaded, settings, store):
        months = older_than_months or loaded.privacy.retention_months
        try:
            result = apply_retention(
                store,
                months=months,
                held_days=loaded.privacy.held_days,
                verdict_hours=settings.api.verdict_hours,
                by=actor(),
            )
        except StoreError as exc:
            raise fail(str(exc)) from exc
    out.print(f"history not written to since {result.cutoff:%Y-%m-%d} ({months} months):")
    out.print(f"  senders forgotten        {result.senders}")
    out.print(f"  contacts forgotten       {result.history.contacts}")
    out.print(f"  threads forgotten        {result.history.threads}")
    out.print(f"  recipient sets forgotten {result.history.recipient_sets}")
    out.print(
        f"held messages decided before {result.held_cutoff:%Y-%m-%d %H:%M}: {result.held} deleted"
    )
    out.print(f"verdict drafts and old verdict rows purged: {result.verdicts}")


@privacy_app.command("keygen")
def keygen(
    path: Annotated[Path, typer.Argument(help="Where to write the new key (must not exist).")],
) -> None:
    """Write a new random address key, readable only by you. Keep a copy: without it a hashed
    history cannot be read, and with it anyone can test guessed addresses against the store."""
    from missend.privacy.pseudonym import write_key_file

    try:
        write_key_file(path)
    except FileExistsError as exc:
        raise fail(f"{path} exists; a key is never overwritten") from exc
    except OSError as exc:
        raise fail(f"{path}: cannot write ({exc.strerror})") from exc
    out.print(
        f"wrote {path}; set privacy.hash_addresses = true and privacy.key_file = {str(path)!r}"
    )


@privacy_app.command("status")
def status(db: DbOption = None, config: ConfigOption = None) -> None:
    """Whether the store keeps addresses in clear or as keyed hashes, and with which key file."""
    from missend.privacy.mode import read_mode

    with _opened(db, config) as (_, _, store), store.engine.connect() as conn:
        mode = read_mode(conn)
    if mode.hashed:
        since = f" since {mode.since:%Y-%m-%d}" if mode.since else ""
        out.print(f"addresses are kept as keyed hashes{since}; key file: {mode.key_file}")
    else:
        out.print("addresses are kept in clear")


@privacy_app.command("hash-addresses")
def hash_addresses(
    convert: Annotated[
        bool,
        typer.Option(
            "--convert",
            help="Hash the history already in the store (asks first; --yes for scripts).",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Convert without asking.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Keep addresses in the history only as keyed hashes (privacy.key_file). There is no way back: a hashed history cannot be turned into addresses again. Restart the services afterwards."""
    from missend.history.store import StoreError
    from missend.privacy.convert import convert as convert_history

    with _opened(db, config) as (loaded, _, store):
        if store.keys is None:
            raise fail("set privacy.hash_addresses = true and privacy.key_file in --config first")
        try:
            if convert:
                if not yes and not typer.confirm(
                    "Replace every address in the history by its keyed hash? This cannot be undone.",
                    default=False,
                ):
                    out.print("nothing was changed")
                    raise typer.Exit(EXIT_INCOMPLETE)
                done = convert_history(store, store.keys)
                out.print(
                    f"hashed {done.senders} senders, {done.contacts} contacts and "
                    f"{done.threads} threads; dropped {done.recipient_sets_dropped} recipient-set digests"
                )
            else:
                store.address_keys()
        except StoreError as exc:
            raise fail(str(exc)) from exc
    out.print(f"the store now keeps addresses as keyed hashes ({loaded.privacy.key_file})")
