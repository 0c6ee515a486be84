"""`missend user create|list|password|disable`: accounts for the dashboard from the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from missend.audit.log import AuditLog
from missend.cli.app import app
from missend.dashboard.accounts import Accounts
from missend.history.store import Store

from .conftest import PASSWORD

runner = CliRunner()


def test_create_reads_the_password_from_stdin(sqlite_url: str) -> None:
    made = runner.invoke(
        app,
        ["user", "create", "dpo@agency.example", "--role", "officer", "--db", sqlite_url],
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    assert PASSWORD not in made.output
    listed = runner.invoke(app, ["user", "list", "--db", sqlite_url])
    assert "dpo@agency.example\tofficer\tactive\tlast sign-in never" in listed.stdout
    with Store.open(sqlite_url) as store:
        assert Accounts(store).authenticate("dpo@agency.example", PASSWORD) is not None
        assert [e.action for e in AuditLog(store).entries()] == ["user.create"]


def test_refusals_exit_3_with_the_reason(sqlite_url: str) -> None:
    def create(role: str, password: str, name: str = "pat") -> tuple[int, str]:
        r = runner.invoke(
            app, ["user", "create", name, "--role", role, "--db", sqlite_url], input=password
        )
        return r.exit_code, r.stderr

    assert create("client", PASSWORD) == (3, "error: --role must be officer or admin\n")
    code, message = create("admin", "short")
    assert code == 3
    assert "at least 12 characters" in message
    assert create("admin", PASSWORD)[0] == 0
    code, message = create("admin", PASSWORD)
    assert code == 3
    assert "already a user called pat" in message


def test_password_and_disable(sqlite_url: str) -> None:
    runner.invoke(
        app, ["user", "create", "pat", "--role", "admin", "--db", sqlite_url], input=PASSWORD
    )
    changed = runner.invoke(
        app,
        ["user", "password", "pat", "--password-stdin", "--db", sqlite_url],
        input="a different long passphrase\n",
    )
    assert changed.exit_code == 0, changed.output
    assert runner.invoke(app, ["user", "disable", "pat", "--db", sqlite_url]).exit_code == 0
    assert runner.invoke(app, ["user", "disable", "nobody", "--db", sqlite_url]).exit_code == 3
    with Store.open(sqlite_url) as store:
        assert Accounts(store).authenticate("pat", "a different long passphrase") is None
        assert "disabled" in runner.invoke(app, ["user", "list", "--db", sqlite_url]).stdout
