"""`missend forget`, `missend retention apply` and `missend privacy ...` from the command line."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from missend.cli.app import app
from missend.config import ConfigError, load
from missend.history.store import Store
from missend.hold.queue import HoldQueue
from missend.message import parse_message
from missend.testing import raw_message

from .scan import text_hits

runner = CliRunner()
ALICE = "alice@example.org"
DAVE = "dave@corp.example"


def seeded(url: str) -> str:
    """A store where Alice is a contact and has one held message waiting to be sent."""
    with Store.open(url) as store:
        now = datetime.now(UTC)
        store.learn([parse_message(raw_message(DAVE, [ALICE, "erin@x.example"], date=now))])
        raw = raw_message(ALICE, ["bob@x.example"], subject="Minutes")
        return (
            HoldQueue(store)
            .hold(raw, ALICE, ["bob@x.example"], {}, sender=ALICE, subject="Minutes")
            .id
        )


def test_forget_asks_before_deleting_held_mail_and_changes_nothing_when_told_no(
    sqlite_url: str,
) -> None:
    held = seeded(sqlite_url)
    result = runner.invoke(app, ["forget", ALICE, "--db", sqlite_url], input="n\n")
    assert result.exit_code == 1
    assert held in result.output
    assert "Minutes" in result.output
    assert "nothing was changed" in result.output
    assert text_hits(sqlite_url, [ALICE])


def test_forget_with_yes_erases_and_prints_the_counts(sqlite_url: str) -> None:
    seeded(sqlite_url)
    result = runner.invoke(app, ["forget", ALICE.upper(), "--db", sqlite_url, "--yes"])
    assert result.exit_code == 0, result.output
    assert f"erased {ALICE}" in result.output
    assert "@erased.invalid" in result.output
    lines = {
        line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1]
        for line in result.output.splitlines()
        if line.startswith("  ") and line.rstrip()[-1:].isdigit()
    }
    assert lines["held messages deleted"] == "1"
    assert lines["of them not yet sent"] == "1"
    assert int(lines["history rows (as sender, as contact, pairs, profiles, thread lists)"]) >= 1
    assert text_hits(sqlite_url, [ALICE]) == []


def test_forget_rejects_something_that_is_not_an_address(sqlite_url: str) -> None:
    result = runner.invoke(app, ["forget", "alice", "--db", sqlite_url])
    assert result.exit_code == 3


def test_retention_apply_reports_what_it_deleted(sqlite_url: str, tmp_path: Path) -> None:
    seeded(sqlite_url)
    config = tmp_path / "missend.toml"
    config.write_text("[privacy]\nretention_months = 6\nheld_days = 10\n")
    result = runner.invoke(app, ["retention", "apply", "--db", sqlite_url, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "(6 months)" in result.output
    assert "contacts forgotten       0" in result.output
    result = runner.invoke(
        app, ["retention", "apply", "--db", sqlite_url, "--older-than-months", "1"]
    )
    assert "(1 months)" in result.output


def test_keygen_status_and_switching_a_store_to_hashes(sqlite_url: str, tmp_path: Path) -> None:
    key = tmp_path / "address.key"
    assert runner.invoke(app, ["privacy", "keygen", str(key)]).exit_code == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert runner.invoke(app, ["privacy", "keygen", str(key)]).exit_code == 3
    config = tmp_path / "missend.toml"
    config.write_text(f'[privacy]\nhash_addresses = true\nkey_file = "{key}"\n')
    status = runner.invoke(app, ["privacy", "status", "--db", sqlite_url])
    assert "in clear" in status.output
    switched = runner.invoke(
        app, ["privacy", "hash-addresses", "--db", sqlite_url, "--config", str(config)]
    )
    assert switched.exit_code == 0, switched.output
    status = runner.invoke(app, ["privacy", "status", "--db", sqlite_url])
    assert "keyed hashes" in status.output
    assert str(key.resolve()) in status.output
    learned = runner.invoke(app, ["learn", str(tmp_path / "m.eml"), "--db", sqlite_url])
    assert learned.exit_code == 3  # no such file; the store itself stays usable
    seeded(sqlite_url)
    assert text_hits(sqlite_url, ["erin@x.example", DAVE]) == []
    forgot = runner.invoke(app, ["forget", "erin@x.example", "--db", sqlite_url])
    assert forgot.exit_code == 0, forgot.output
    with Store.open(sqlite_url) as store:
        history = store.snapshot(DAVE, [ALICE, "erin@x.example"])
    assert history.contact("erin@x.example") is None
    assert history.contact(ALICE) is not None


def test_the_privacy_table_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "missend.toml"
    config.write_text("[privacy]\nhash_addresses = true\n")
    with pytest.raises(ConfigError, match="key_file"):
        load(config)
    config.write_text("[privacy]\nretention_months = 0\n")
    with pytest.raises(ConfigError, match="retention_months"):
        load(config)
    config.write_text("[privacy]\nretention-months = 12\nheld_days = 7\n")
    loaded = load(config)
    assert (loaded.privacy.retention_months, loaded.privacy.held_days) == (12, 7)
    assert loaded.privacy.hash_addresses is False


def test_an_unreachable_store_is_an_error_not_a_silent_success() -> None:
    down = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    assert runner.invoke(app, ["forget", ALICE, "--db", down, "--yes"]).exit_code == 3
    assert runner.invoke(app, ["retention", "apply", "--db", down]).exit_code == 3
