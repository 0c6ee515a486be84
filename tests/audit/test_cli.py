"""`missend audit verify`: 0 when intact, non-zero naming the first edited entry."""

from __future__ import annotations

from sqlalchemy import update
from typer.testing import CliRunner

from missend.audit.log import AuditLog
from missend.cli.app import app
from missend.history.schema import audit_log
from missend.history.store import Store

runner = CliRunner()


def test_verify_passes_then_fails_after_one_entry_is_edited(store_url: str) -> None:
    with Store.open(store_url) as store:
        log = AuditLog(store)
        for i in range(4):
            log.record("cli:test", "incident.update", str(i), {"fields": ["people"]})
    intact = runner.invoke(app, ["audit", "verify", "--db", store_url])
    assert intact.exit_code == 0
    assert "intact: 4 entries" in intact.stdout

    with Store(store_url) as store, store.engine.begin() as conn:
        conn.execute(
            update(audit_log).where(audit_log.c.seq == 3).values(details='{"fields":["status"]}')
        )
    broken = runner.invoke(app, ["audit", "verify", "--db", store_url])
    assert broken.exit_code == 1
    assert "entry 3" in broken.stdout
    assert "2 entries verified" in broken.stdout
