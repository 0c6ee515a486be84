"""`missend incident ...` (the breach register) and `missend audit verify`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from missend.cli.api_cmd import ConfigOption, DbOption, actor, fail, opened

if TYPE_CHECKING:
    from missend.register.model import Incident

incident_app = typer.Typer(help="The breach register (GDPR Art. 33(5)).", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

EXIT_TAMPERED = 1


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{value!r} is not a date and time (e.g. 2026-03-02T11:15+00:00)") from None
    if parsed.tzinfo is None:
        raise fail(f"{value!r} needs a time zone (e.g. +00:00 or Z)")
    return parsed


def _summary(incident: Incident) -> str:
    left = incident.deadline_at - datetime.now(UTC)
    hours = left.total_seconds() / 3600
    clock = (
        "regulator notified"
        if incident.regulator_notified_at
        else "no notification needed"
        if incident.notify_regulator is False
        else f"{hours:.0f} h left"
        if hours >= 0
        else f"OVERDUE by {-hours:.0f} h"
    )
    return (
        f"{incident.reference}  {incident.status:<6}  deadline {incident.deadline_at:%Y-%m-%d %H:%M} UTC"
        f" ({clock})  {incident.people} people  {incident.title}"
    )


@incident_app.command("report")
def incident_report(
    message: Annotated[Path, typer.Argument(help="The message that was sent (.eml).")],
    recipient: Annotated[
        list[str] | None,
        typer.Option(
            "--recipient", help="Who received it and should not have (repeat; default: findings)."
        ),
    ] = None,
    affected: Annotated[
        list[str] | None,
        typer.Option("--affected", help="Address of someone whose data it disclosed (repeat)."),
    ] = None,
    aware_at: Annotated[
        str | None,
        typer.Option(help="When the organisation became aware (ISO 8601; default: now)."),
    ] = None,
    description: Annotated[str, typer.Option(help="What happened, in a sentence.")] = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Report a message sent to the wrong people: opens an incident drafted from its findings."""
    from missend.engine import Engine
    from missend.register.intake import draft_from_message
    from missend.register.repository import InvalidChange, Register

    try:
        raw = message.read_bytes()
    except OSError as exc:
        raise fail(f"{message}: cannot read ({exc.strerror})") from exc
    aware = _when(aware_at) or datetime.now(UTC)
    with opened(db, config) as (loaded, service, store):
        from missend.message.parse import parse_message

        parsed = parse_message(raw, headers_only=True)
        sender = parsed.sender.email if parsed.sender else ""
        try:
            draft = draft_from_message(
                raw,
                Engine(loaded.policy),
                aware_at=aware,
                reported_by=actor(),
                history=store.snapshot(sender) if sender else None,
                recipients=recipient or (),
                affected=affected or (),
                description=description,
                dpo_contact=service.register.dpo_contact,
            )
            incident = Register(store).open(draft, actor())
        except InvalidChange as exc:
            raise fail(str(exc)) from exc
    sys.stdout.write(_summary(incident) + "\n")
    sys.stdout.write(
        f"  {len(incident.recipients)} recipients, {incident.records} records; "
        f"categories: {', '.join(incident.categories) or 'to be completed'}\n"
    )


@incident_app.command("list")
def incident_list(
    status: Annotated[str | None, typer.Option(help="open or closed (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a list.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The register, newest first, with each deadline."""
    from missend.register.export import to_json
    from missend.register.model import Status
    from missend.register.repository import Register

    try:
        wanted = Status(status) if status else None
    except ValueError:
        raise fail("--status must be open or closed") from None
    with opened(db, config) as (_, _, store):
        found = Register(store).find(wanted, limit=100_000)
    if as_json:
        sys.stdout.write(to_json(found) + "\n")
        return
    for incident in found:
        sys.stdout.write(_summary(incident) + "\n")


@incident_app.command("show")
def incident_show(
    incident_id: Annotated[int, typer.Argument(help="The incident's number (INC-000012 is 12).")],
    report: Annotated[
        bool, typer.Option("--report", help="Print the draft notification to the regulator.")
    ] = False,
    notice: Annotated[
        Path | None,
        typer.Option("--notice", help="Write the notice to the people affected (.eml) here."),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """One incident as JSON; optionally its regulator report draft and the Bcc-only notice."""
    from missend.register.notice import NoticeError, subjects_notice
    from missend.register.report import regulator_report
    from missend.register.repository import IncidentNotFound, Register

    with opened(db, config) as (loaded, service, store):
        try:
            incident = Register(store).get(incident_id)
        except IncidentNotFound as exc:
            raise fail(str(exc)) from exc
    settings = service.register
    if report:
        draft = regulator_report(
            incident, organisation=settings.organisation, dpo_contact=settings.dpo_contact
        )
        sys.stdout.write(draft.as_text())
    else:
        sys.stdout.write(json.dumps(incident.to_dict(), indent=2, ensure_ascii=False) + "\n")
    if notice is not None:
        try:
            raw = subjects_notice(
                incident,
                notice_from=settings.notice_from or loaded.hold.notice_from,
                organisation=settings.organisation,
                contact=incident.dpo_contact or settings.dpo_contact,
            )
        except NoticeError as exc:
            raise fail(str(exc)) from exc
        notice.write_bytes(raw)
        sys.stderr.write(f"wrote {notice}: {len(incident.affected)} people, every address in Bcc\n")


@incident_app.command("export")
def incident_export(
    format_: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")
    ] = None,
    status: Annotated[str | None, typer.Option(help="open or closed (default: all).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The register as CSV (recipients counted, not named) or JSON (everything)."""
    from missend.register.export import to_csv, to_json
    from missend.register.model import Status
    from missend.register.repository import Register

    if format_ not in ("csv", "json"):
        raise fail("--format must be csv or json")
    try:
        wanted = Status(status) if status else None
    except ValueError:
        raise fail("--status must be open or closed") from None
    with opened(db, config) as (_, _, store):
        found = Register(store).find(wanted, limit=1_000_000)
    text = to_csv(found) if format_ == "csv" else to_json(found) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, "utf-8", newline="")
        sys.stderr.write(f"wrote {len(found)} incident(s) to {output}\n")


@audit_app.command("verify")
def audit_verify(db: DbOption = None, config: ConfigOption = None) -> None:
    """Walk the hash chain; exit 1 naming the first entry that was changed or removed."""
    from missend.audit.log import AuditLog

    with opened(db, config) as (_, _, store):
        result = AuditLog(store).verify()
    if result.ok:
        sys.stdout.write(f"audit log intact: {result.entries} entries\n")
        return
    sys.stdout.write(
        f"audit log BROKEN at entry {result.first_bad}: {result.reason} "
        f"({result.entries} entries verified before it)\n"
    )
    raise typer.Exit(EXIT_TAMPERED)
