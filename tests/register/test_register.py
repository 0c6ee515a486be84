"""The breach register: incidents keep the Art. 33(5) record, and every change is audited."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from missend.audit.log import AuditLog
from missend.engine import Engine
from missend.history.store import Store
from missend.message.parse import parse_message
from missend.register import (
    ActionKind,
    IncidentNotFound,
    InvalidChange,
    Level,
    NewIncident,
    Register,
    Source,
    Status,
    VersionConflict,
)
from missend.register.export import to_csv, to_json
from missend.register.intake import draft_from_message
from missend.register.notice import NoticeError, subjects_notice
from missend.register.report import MISSING, regulator_report

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "messages"
AWARE = datetime(2026, 3, 2, 11, 15, tzinfo=UTC)


@pytest.fixture
def register(store_url: str) -> Iterator[Register]:
    with Store.open(store_url) as store:
        yield Register(store)


def simple(**changes: object) -> NewIncident:
    values: dict[str, object] = {
        "title": "Payroll sent to a supplier",
        "source": Source.REPORT,
        "aware_at": AWARE,
        "recipients": ["Accounts@Supplier.example"],
        "people": 400,
        "records": 400,
        "categories": ["national insurance numbers"],
    }
    values.update(changes)
    return NewIncident(**values)  # type: ignore[arg-type]


def test_the_240_recipient_mis_send_reported_end_to_end(register: Register) -> None:
    raw = (EXAMPLES / "incident-240-eu-citizens-in-to.eml").read_bytes()
    draft = draft_from_message(raw, Engine(), aware_at=AWARE, reported_by="dpo@migration.example")
    incident = register.open(draft, "cli:dpo")

    assert incident.people == 240
    assert incident.records == 240
    assert len(incident.recipients) == 240
    assert len(incident.affected) == 240
    assert incident.deadline_at - incident.aware_at == timedelta(hours=72)
    assert incident.deadline_at == datetime(2026, 3, 5, 11, 15, tzinfo=UTC)
    assert incident.subject == "Your application under the EU Settlement Scheme"
    assert incident.message_id == "<1.20260302@migration.example.gov.uk>"
    assert "contact details (e-mail addresses)" in incident.categories

    report = regulator_report(
        incident, organisation="Migration Office", dpo_contact="DPO <dpo@migration.example>"
    ).as_text()
    assert "Approximate number of data subjects concerned: 240." in report
    assert "Approximate number of personal data records concerned: 240." in report
    assert "DPO <dpo@migration.example>" in report
    assert "2026-03-05 11:15 UTC" in report
    assert "(c) Likely consequences" in report
    assert "(d) Measures taken or proposed" in report

    notice = subjects_notice(
        incident, notice_from="dpo@migration.example.gov.uk", organisation="Migration Office"
    )
    parsed = parse_message(notice)
    assert parsed.visible == ()
    assert {r.email for r in parsed.hidden} == set(incident.affected)
    verdict = Engine().check(parsed)
    assert [d for d in verdict.findings if d.finding.detector == "exposed-recipients"] == []
    assert b"undisclosed-recipients:;" in notice

    assert AuditLog(register.store).verify().ok


def test_reported_recipients_replace_the_suggestion(register: Register) -> None:
    raw = (EXAMPLES / "ok-known-contact.eml").read_bytes()
    draft = draft_from_message(
        raw,
        Engine(),
        aware_at=AWARE,
        reported_by="cli",
        recipients=["wrong@elsewhere.example"],
        affected=["client@example.org"],
    )
    incident = register.open(draft, "cli")
    assert incident.recipients == ("wrong@elsewhere.example",)
    assert incident.affected == ("client@example.org",)
    assert incident.people >= 1


def test_decisions_need_reasons_and_closing_needs_decisions(register: Register) -> None:
    incident = register.open(simple(), "cli")
    with pytest.raises(InvalidChange, match="regulator_reasoning"):
        register.update(incident.id, {"notify_regulator": False}, "cli")
    with pytest.raises(InvalidChange, match="cannot be closed"):
        register.update(incident.id, {"status": "closed"}, "cli")
    updated = register.update(
        incident.id,
        {
            "likelihood": "high",
            "severity": "high",
            "notify_regulator": True,
            "regulator_reasoning": "identity numbers of 400 people outside the organisation",
            "notify_subjects": True,
            "subjects_reasoning": "high risk of identity fraud",
        },
        "cli",
    )
    assert updated.risk is not None
    assert str(updated.risk) == "high"
    assert updated.version == incident.version + 1
    closed = register.update(incident.id, {"status": "closed"}, "cli")
    assert closed.status == Status.CLOSED


def test_moving_awareness_moves_the_deadline(register: Register) -> None:
    incident = register.open(simple(), "cli")
    later = AWARE + timedelta(hours=5)
    updated = register.update(incident.id, {"aware_at": later}, "cli")
    assert updated.deadline_at == later + timedelta(hours=72)


def test_stale_versions_are_refused(register: Register) -> None:
    incident = register.open(simple(), "cli")
    register.update(incident.id, {"people": 401}, "officer-a", expected_version=incident.version)
    with pytest.raises(VersionConflict):
        register.update(
            incident.id, {"people": 402}, "officer-b", expected_version=incident.version
        )


@pytest.mark.parametrize(
    "change",
    [
        {"people": -1},
        {"recipients": ["not an address"]},
        {"likelihood": "extreme"},
        {"id": 7},
        {"status": "deleted"},
        {"title": "  "},
        {"aware_at": "yesterday"},
    ],
)
def test_bad_changes_are_refused_with_a_reason(sqlite_url: str, change: dict[str, object]) -> None:
    with Store.open(sqlite_url) as store:
        register = Register(store)
        incident = register.open(simple(), "cli")
        with pytest.raises(InvalidChange):
            register.update(incident.id, change, "cli")
        assert register.get(incident.id).version == incident.version


def test_actions_are_kept_in_order_and_notification_stamps_the_incident(
    register: Register,
) -> None:
    incident = register.open(simple(), "cli")
    register.add_action(
        incident.id,
        ActionKind.DELETION_REQUEST,
        "cli",
        recipient="accounts@supplier.example",
        description="Asked to delete the file",
        taken_at=AWARE + timedelta(hours=2),
    )
    register.add_action(
        incident.id, ActionKind.RECALL_REQUEST, "cli", taken_at=AWARE + timedelta(hours=1)
    )
    done = register.add_action(
        incident.id, ActionKind.REGULATOR_NOTIFIED, "cli", taken_at=AWARE + timedelta(hours=30)
    )
    assert [a.kind for a in done.actions] == [
        ActionKind.RECALL_REQUEST,
        ActionKind.DELETION_REQUEST,
        ActionKind.REGULATOR_NOTIFIED,
    ]
    assert done.regulator_notified_at == AWARE + timedelta(hours=30)
    assert not done.overdue(AWARE + timedelta(days=10))
    report = regulator_report(done).as_text()
    assert "deletion request (accounts@supplier.example): Asked to delete the file" in report
    with pytest.raises(IncidentNotFound):
        register.add_action(999, ActionKind.APOLOGY, "cli")


def test_an_unnotified_incident_past_its_deadline_is_overdue(register: Register) -> None:
    incident = register.open(simple(), "cli")
    assert incident.overdue(AWARE + timedelta(hours=73))
    assert not incident.overdue(AWARE + timedelta(hours=71))
    late = regulator_report(incident, at=AWARE + timedelta(hours=80)).as_text()
    assert "after the 72-hour deadline" in late
    assert regulator_report(incident).contact == MISSING


def test_every_change_is_in_the_audit_log_without_addresses(register: Register) -> None:
    incident = register.open(simple(), "officer")
    register.update(incident.id, {"severity": "high"}, "officer")
    register.add_action(incident.id, ActionKind.APOLOGY, "officer", recipient="x@y.example")
    entries = AuditLog(register.store).entries()
    assert [e.action for e in entries] == ["incident.open", "incident.update", "incident.action"]
    assert all(e.subject == str(incident.id) for e in entries)
    assert entries[1].details["fields"] == ["severity"]
    assert "supplier.example" not in json.dumps([e.to_dict() for e in entries])
    assert "x@y.example" not in json.dumps([e.to_dict() for e in entries])


def test_export_csv_and_json(register: Register) -> None:
    first = register.open(simple(title="=HYPERLINK(evil)"), "cli")
    register.open(simple(title="Second", people=3), "cli")
    incidents = register.find()
    assert [i.id for i in incidents] == [first.id + 1, first.id]
    rows = list(csv.DictReader(io.StringIO(to_csv(incidents))))
    assert rows[1]["title"] == "'=HYPERLINK(evil)"
    assert rows[0]["people"] == "3"
    assert rows[1]["recipients"] == "1"
    assert "supplier.example" not in to_csv(incidents)
    data = json.loads(to_json(incidents))
    assert data["incidents"][1]["recipients"] == ["accounts@supplier.example"]
    assert data["incidents"][0]["deadline_at"].startswith("2026-03-05T11:15")


def test_a_notice_needs_someone_to_tell(register: Register) -> None:
    incident = register.open(simple(), "cli")
    with pytest.raises(NoticeError):
        subjects_notice(incident, notice_from="dpo@example.org")


def test_find_filters_by_status(register: Register) -> None:
    a = register.open(simple(), "cli")
    register.open(simple(), "cli")
    register.update(
        a.id,
        {
            "notify_regulator": False,
            "regulator_reasoning": "encrypted attachment, key not sent",
            "notify_subjects": False,
            "subjects_reasoning": "no risk",
            "status": "closed",
        },
        "cli",
    )
    assert [i.id for i in register.find(Status.CLOSED)] == [a.id]
    assert register.count(Status.OPEN) == 1
    assert register.get(a.id).severity is None or isinstance(register.get(a.id).severity, Level)
