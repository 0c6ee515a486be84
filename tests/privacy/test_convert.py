"""Converting a clear history to keyed hashes keeps what the detectors read, and no address."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from missend.cli.app import app
from missend.engine import Engine
from missend.history.archive import iter_archive
from missend.history.store import Store
from missend.message import parse_message
from missend.privacy.pseudonym import AddressKeys
from missend.verdict import Verdict

from .scan import text_hits

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def decisions(verdict: Verdict) -> tuple[object, ...]:
    """What was decided, not how it was worded (names are not kept in hashed mode)."""
    return (
        str(verdict.action),
        sorted(
            (d.finding.detector, round(d.finding.severity, 6), str(d.action))
            for d in verdict.findings
        ),
    )


def test_a_converted_history_decides_as_before_and_keeps_no_address(
    store_url: str, key_file: Path, tmp_path: Path
) -> None:
    mail = [parse_message(raw) for _, raw in iter_archive(EXAMPLES / "history")]
    drafts = [parse_message(p.read_bytes()) for p in sorted((EXAMPLES / "messages").glob("*.eml"))]
    engine = Engine()
    with Store.open(store_url) as store:
        store.learn(mail)
        before = [
            decisions(engine.check(d, store.snapshot(d.sender.email)))  # type: ignore[union-attr]
            for d in drafts
        ]
    config = tmp_path / "missend.toml"
    config.write_text(f'[privacy]\nhash_addresses = true\nkey_file = "{key_file}"\n')
    args = ["privacy", "hash-addresses", "--convert", "--db", store_url, "--config", str(config)]
    refused = runner.invoke(app, args, input="n\n")
    assert refused.exit_code == 1
    done = runner.invoke(app, [*args, "--yes"])
    assert done.exit_code == 0, done.output
    assert "hashed 2 senders" in done.output
    emails = {e for m in mail for e in (*m.recipient_emails, m.sender.email)}  # type: ignore[union-attr]
    assert text_hits(store_url, sorted(emails)) == []
    with Store.open(store_url, keys=AddressKeys.from_file(key_file)) as store:
        assert store.learn(mail).learned == 0
        after = [
            decisions(engine.check(d, store.snapshot(d.sender.email, d.recipients)))  # type: ignore[union-attr]
            for d in drafts
        ]
    changed = [d.subject for d, b, a in zip(drafts, before, after, strict=True) if b != a]
    assert changed == ["Transformer delivery"]  # the namesake: another contact's name is gone
