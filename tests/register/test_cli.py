"""`missend incident ...`: report the 240-recipient mis-send, list, show, report, notice, export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from missend.cli.app import app
from missend.engine import Engine
from missend.message.parse import parse_message

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "messages"
runner = CliRunner()


def test_the_240_recipient_mis_send_from_the_command_line(store_url: str, tmp_path: Path) -> None:
    config = tmp_path / "missend.toml"
    config.write_text(
        '[register]\norganisation = "Migration Office"\n'
        'dpo_contact = "Data Protection Officer <dpo@migration.example.gov.uk>"\n'
        'notice_from = "dpo@migration.example.gov.uk"\n'
    )
    common = ["--db", store_url, "--config", str(config)]
    reported = runner.invoke(
        app,
        [
            "incident",
            "report",
            str(EXAMPLES / "incident-240-eu-citizens-in-to.eml"),
            "--aware-at",
            "2026-03-02T11:15:00+00:00",
            *common,
        ],
    )
    assert reported.exit_code == 0, reported.output
    assert "INC-000001" in reported.stdout
    assert "240 people" in reported.stdout
    assert "deadline 2026-03-05 11:15 UTC" in reported.stdout

    listed = runner.invoke(app, ["incident", "list", *common])
    assert "INC-000001" in listed.stdout
    assert "OVERDUE" in listed.stdout

    shown = json.loads(runner.invoke(app, ["incident", "show", "1", *common]).stdout)
    assert shown["people"] == 240
    assert shown["dpo_contact"] == "Data Protection Officer <dpo@migration.example.gov.uk>"

    notice_path = tmp_path / "notice.eml"
    report = runner.invoke(
        app, ["incident", "show", "1", "--report", "--notice", str(notice_path), *common]
    )
    assert report.exit_code == 0, report.output
    assert "Controller: Migration Office" in report.stdout
    assert "Approximate number of data subjects concerned: 240." in report.stdout
    notice = parse_message(notice_path.read_bytes())
    assert notice.visible == ()
    assert len(notice.hidden) == 240
    assert notice.from_[0].email == "dpo@migration.example.gov.uk"
    assert not [
        d for d in Engine().check(notice).findings if d.finding.detector == "exposed-recipients"
    ]

    exported = runner.invoke(app, ["incident", "export", "--format", "csv", *common])
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["reference"], r["people"], r["recipients"]) for r in rows] == [
        ("INC-000001", "240", "240")
    ]
    out = tmp_path / "register.json"
    runner.invoke(app, ["incident", "export", "--format", "json", "-o", str(out), *common])
    assert json.loads(out.read_text())["incidents"][0]["deadline_at"].startswith("2026-03-05T11:15")

    verified = runner.invoke(app, ["audit", "verify", "--db", store_url])
    assert verified.exit_code == 0
    assert "intact: 1 entries" in verified.stdout


def test_named_recipients_and_bad_input(sqlite_url: str) -> None:
    message = str(EXAMPLES / "misdirect-wrong-john.eml")
    reported = runner.invoke(
        app,
        [
            "incident",
            "report",
            message,
            "--recipient",
            "john.smith@other.example",
            "--db",
            sqlite_url,
        ],
    )
    assert reported.exit_code == 0, reported.output
    shown = json.loads(runner.invoke(app, ["incident", "show", "1", "--db", sqlite_url]).stdout)
    assert shown["recipients"] == ["john.smith@other.example"]
    for args in (
        ["incident", "report", message, "--aware-at", "yesterday"],
        ["incident", "report", message, "--aware-at", "2026-03-02T11:15"],
        ["incident", "report", message, "--recipient", "not-an-address"],
        ["incident", "report", "/nonexistent.eml"],
        ["incident", "show", "99"],
        ["incident", "export", "--format", "xml"],
        ["incident", "list", "--status", "pending"],
        ["incident", "show", "1", "--notice", "/tmp/never-written.eml"],
    ):
        result = runner.invoke(app, [*args, "--db", sqlite_url])
        assert result.exit_code == 3, (args, result.output)
        assert "error:" in result.stderr
