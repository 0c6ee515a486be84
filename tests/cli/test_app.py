"""The command line: exit codes follow the worst verdict; JSON is one object per line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from missend.cli.app import app
from missend.message import parse_message

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    result = runner.invoke(app, ["learn", str(EXAMPLES / "history"), "--db", url])
    assert result.exit_code == 0, result.output
    return url


def test_learn_is_idempotent(db: str) -> None:
    again = runner.invoke(app, ["learn", str(EXAMPLES / "history"), "--db", db])
    assert again.exit_code == 0
    assert "learned 0 new messages" in again.output


def test_check_exit_codes_follow_the_verdict(db: str) -> None:
    msgs = EXAMPLES / "messages"
    assert (
        runner.invoke(app, ["check", str(msgs / "ok-known-contact.eml"), "--db", db]).exit_code == 0
    )
    assert (
        runner.invoke(app, ["check", str(msgs / "misdirect-typo-domain.eml"), "--db", db]).exit_code
        == 1
    )
    assert (
        runner.invoke(
            app, ["check", str(msgs / "incident-12-members-of-public.eml"), "--db", db]
        ).exit_code
        == 2
    )


def test_a_folder_gives_one_json_line_per_file_and_the_worst_exit_code(db: str) -> None:
    result = runner.invoke(app, ["check", str(EXAMPLES / "messages"), "--json", "--db", db])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    files = {Path(x["file"]).name: x for x in lines}
    assert len(files) == len(list((EXAMPLES / "messages").glob("*.eml")))
    assert files["incident-240-eu-citizens-in-to.eml"]["action"] == "fix"
    assert files["lookalike-300-all-staff.eml"]["action"] == "allow"
    assert files["lookalike-reply-to-known-thread.eml"]["action"] == "allow"
    assert result.exit_code == 2


def test_envelope_recipients_become_the_bcc_set(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "check",
            str(EXAMPLES / "messages" / "ok-known-contact.eml"),
            "--json",
            "--no-history",
            "--envelope-to",
            "hidden@elsewhere.example",
            "--envelope-to",
            "john.smith@harbourfreight.com",
        ],
    )
    assert json.loads(result.stdout)["recipients"] == 2


def test_fix_moves_exposed_recipients_to_bcc_and_keeps_the_body(tmp_path: Path, db: str) -> None:
    src = EXAMPLES / "messages" / "incident-240-eu-citizens-in-to.eml"
    out = tmp_path / "fixed.eml"
    result = runner.invoke(app, ["fix", str(src), "-o", str(out), "--db", db])
    assert result.exit_code == 0, result.output
    fixed = parse_message(out.read_bytes())
    assert fixed.visible == ()
    assert len(fixed.hidden) == 240
    assert out.read_bytes().split(b"\n\n", 1)[1] == src.read_bytes().split(b"\n\n", 1)[1]
    assert runner.invoke(app, ["check", str(out), "--db", db]).exit_code == 0


def test_fix_all_replaces_the_misdirected_recipient(tmp_path: Path, db: str) -> None:
    out = tmp_path / "fixed.eml"
    src = EXAMPLES / "messages" / "misdirect-typo-domain.eml"
    runner.invoke(app, ["fix", str(src), "-o", str(out), "--all", "--db", db])
    emails = [r.email for r in parse_message(out.read_bytes()).recipients]
    assert "tom.reed@northwind-energy.co.uk" in emails
    assert "tom.reed@northwind-energy.co" not in emails


def test_bad_policy_stops_with_exit_3_and_names_the_key(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text("[actions.exposed-recipients]\nhigh = 'maybe'\n")
    result = runner.invoke(
        app, ["check", str(EXAMPLES / "messages"), "--policy", str(policy), "--no-history"]
    )
    assert result.exit_code == 3
    assert "actions.exposed-recipients.high" in result.output


def test_unreachable_store_is_an_error_not_an_allow(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "check",
            str(EXAMPLES / "messages" / "ok-known-contact.eml"),
            "--db",
            "postgresql+psycopg://nobody@127.0.0.1:1/none",
        ],
    )
    assert result.exit_code == 3


def test_unreadable_file_is_exit_3(tmp_path: Path) -> None:
    missing = tmp_path / "nope.eml"
    result = runner.invoke(app, ["check", str(missing), "--no-history"])
    assert result.exit_code == 3


def test_evaluate_prints_the_tables_and_writes_the_json_the_issue_asks_for(tmp_path: Path) -> None:
    import mailbox

    from missend.testing import synthetic_archive

    box = mailbox.mbox(tmp_path / "pat.mbox")
    for raw in synthetic_archive("pat.lowe@org.example", messages=1600, seed=5):
        box.add(mailbox.mboxMessage(raw))
    box.flush()
    box.close()
    out = tmp_path / "evaluation.json"
    result = runner.invoke(
        app, ["evaluate", str(tmp_path / "pat.mbox"), "--json", str(out), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "autocomplete" in result.output
    assert re.search(r"(\d+%|-) / (\d+%|-)", result.output)  # flagged where quoted / not quoted
    report = json.loads(out.read_text())
    assert set(report["flagged_at"]) == set(report["top1_at"]) == {"0.005", "0.01", "0.02"}
    split = report["misdirect"]["model"]["0.01"]["by_quoting"]
    by_scenario = report["misdirect"]["model"]["0.01"]["by_scenario"]
    for name, kinds in split.items():
        assert sum(k["cases"] for k in kinds.values()) == by_scenario[name]["cases"]
    for name, kinds in report["misdirect"]["model"]["0.01"]["by_intended"].items():
        assert name in {"autocomplete", "typo", "other-address"}
        assert sum(k["cases"] for k in kinds.values()) == by_scenario[name]["cases"]
    held = report["misdirect"]["held_out"]
    assert set(held) == {"0.005", "0.01", "0.02"}
    assert set(held["0.01"]["by_scenario"]) == {
        "keyboard-typo",
        "ranked-autocomplete",
        "other-provider",
        "recent-contact",
    }
    assert held["0.005"]["flagged"] <= held["0.01"]["flagged"] <= held["0.02"]["flagged"]
    assert "recipes never trained on" in result.output
