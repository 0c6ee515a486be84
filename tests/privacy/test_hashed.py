"""Keyed hashes of addresses: nothing in clear in the store, and the same exposure verdicts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from missend.engine import Engine
from missend.history.archive import iter_archive
from missend.history.model import SenderHistory
from missend.history.store import Store, StoreError
from missend.message import Message, parse_message
from missend.privacy.pseudonym import AddressKeys, KeyFileError, read_key_file
from missend.testing import message, synthetic_archive
from missend.verdict import Verdict

from .scan import text_hits

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)*\.[a-z]{2,}")
HASHED = re.compile(r"[0-9a-f]{64}@[0-9a-f]{16}")


def sent_mail() -> list[Message]:
    return [parse_message(raw) for _, raw in iter_archive(EXAMPLES / "history")]


def exposure(verdict: Verdict) -> list[tuple[object, ...]]:
    return [
        (
            d.finding.severity,
            str(d.action),
            d.finding.recipients,
            sorted(d.finding.evidence.items()),
        )
        for d in verdict.findings
        if d.finding.detector == "exposed-recipients"
    ]


@pytest.fixture
def stores(store_url: str, sqlite_url: str, keys: AddressKeys) -> Iterator[tuple[Store, Store]]:
    """The example history learned twice: in clear (SQLite) and hashed (SQLite and PostgreSQL)."""
    mail = sent_mail()
    with (
        Store.open(sqlite_url.replace("history", "clear")) as clear,
        Store.open(store_url, keys=keys) as hashed,
    ):
        clear.learn(mail)
        hashed.learn(mail)
        yield clear, hashed


def test_no_address_is_kept_in_clear(stores: tuple[Store, Store], store_url: str) -> None:
    _, hashed = stores
    emails = {e for m in sent_mail() for e in (*m.recipient_emails, m.sender.email)}  # type: ignore[union-attr]
    assert len(emails) >= 10
    assert text_hits(store_url, sorted(emails)) == []
    assert text_hits(store_url, ["@acme-grid.com", "@gmail.com", "Stone"]) == []
    with hashed.engine.connect() as conn:
        keys = [r[0] for r in conn.exec_driver_sql("SELECT address FROM contacts")]
    assert keys
    assert all(HASHED.fullmatch(k) for k in keys)


@pytest.mark.parametrize(
    "name",
    [
        "incident-240-eu-citizens-in-to.eml",
        "lookalike-reply-to-known-thread.eml",
        "lookalike-partner-company-with-colleague.eml",
        "incident-170-visa-applicants-and-lawyers.eml",
        "lookalike-300-all-staff.eml",
    ],
)
def test_exposure_verdicts_are_the_same_as_in_clear(stores: tuple[Store, Store], name: str) -> None:
    clear, hashed = stores
    draft = parse_message((EXAMPLES / "messages" / name).read_bytes())
    sender = draft.sender.email  # type: ignore[union-attr]
    engine = Engine()
    in_clear = engine.check(draft, clear.snapshot(sender))
    keyed = engine.check(draft, hashed.snapshot(sender, draft.recipients))
    assert exposure(keyed) == exposure(in_clear)
    assert keyed.action == in_clear.action


def test_the_reply_in_a_known_thread_is_only_allowed_because_the_thread_is_known(
    stores: tuple[Store, Store],
) -> None:
    _, hashed = stores
    draft = parse_message(
        (EXAMPLES / "messages" / "lookalike-reply-to-known-thread.eml").read_bytes()
    )
    sender = draft.sender.email  # type: ignore[union-attr]
    engine = Engine()
    assert exposure(engine.check(draft, hashed.snapshot(sender, draft.recipients))) == []
    assert exposure(engine.check(draft, SenderHistory(sender))) != []


def test_a_revealed_history_answers_like_the_clear_one_for_the_drafts_recipients(
    sqlite_url: str, keys: AddressKeys
) -> None:
    mail = [parse_message(r) for r in synthetic_archive(messages=300)]
    sender = "pat.lowe@org.example"
    with Store.open(sqlite_url, keys=keys) as hashed:
        hashed.learn(mail)
        raw = hashed.snapshot(sender)
        clear = SenderHistory(sender)
        for m in mail:
            clear.observe(m)
        for draft in mail[-20:]:
            emails = list(draft.recipient_emails)
            seen = hashed.reveal(raw, draft.recipients)
            assert seen.message_count == clear.message_count
            for e in emails:
                c, h = clear.contact(e), seen.contact(e)
                assert c is not None
                assert h is not None
                assert (h.count, h.first_seen, h.last_seen) == (c.count, c.first_seen, c.last_seen)
                assert h.name == (next(r.address.name for r in draft.recipients if r.email == e))
                assert seen.profiles.get(e) == clear.profiles.get(e)
                for o in emails:
                    assert seen.together(e, o) == clear.together(e, o)
                known = {n for n in clear.neighbours.get(e, ()) if n in emails}
                assert {n for n in seen.neighbours.get(e, ()) if n in emails} == known
            assert seen.thread_participants(draft.thread_ids) & set(emails) == (
                clear.thread_participants(draft.thread_ids) & set(emails)
            )
            domains = {e.rpartition("@")[2] for e in emails}
            for d in domains:
                at = sum(1 for k in seen.contacts if k.endswith("@" + d))
                assert at == sum(1 for k in clear.contacts if k.endswith("@" + d))


def test_a_store_hashed_with_one_key_refuses_another(
    sqlite_url: str, keys: AddressKeys, tmp_path: Path
) -> None:
    with Store.open(sqlite_url, keys=keys) as store:
        store.learn([message("a@x.example", ["b@y.example"])])
    other = AddressKeys(b"another key of enough length!!!!")
    with (
        Store.open(sqlite_url, keys=other) as store,
        pytest.raises(StoreError, match="another key"),
    ):
        store.snapshot("a@x.example")


def test_a_process_without_the_settings_uses_the_key_the_store_names(
    sqlite_url: str, keys: AddressKeys
) -> None:
    with Store.open(sqlite_url, keys=keys) as store:
        store.learn([message("a@x.example", ["b@y.example"])])
    with Store.open(sqlite_url) as store:
        store.learn([message("a@x.example", ["c@y.example"])])
        history = store.snapshot("a@x.example", ["b@y.example", "c@y.example"])
    assert history.contact("b@y.example") is not None
    assert history.contact("c@y.example") is not None
    assert text_hits(sqlite_url, ["b@y.example", "c@y.example", "a@x.example"]) == []


def test_without_the_key_file_learning_stops_instead_of_writing_addresses(
    sqlite_url: str, key_file: Path
) -> None:
    with Store.open(sqlite_url, keys=AddressKeys.from_file(key_file)) as store:
        store.learn([message("a@x.example", ["b@y.example"])])
    key_file.unlink()
    with Store.open(sqlite_url) as store, pytest.raises(StoreError, match="keyed hashes"):
        store.learn([message("a@x.example", ["c@y.example"])])
    assert text_hits(sqlite_url, ["c@y.example"]) == []


def test_hashing_is_not_turned_on_over_a_clear_history(sqlite_url: str, keys: AddressKeys) -> None:
    with Store.open(sqlite_url) as store:
        store.learn([message("a@x.example", ["b@y.example"])])
    with Store.open(sqlite_url, keys=keys) as store, pytest.raises(StoreError, match="in clear"):
        store.learn([message("a@x.example", ["c@y.example"])])


def test_a_clear_learner_sees_hashing_turned_on_by_another_process(
    sqlite_url: str, keys: AddressKeys
) -> None:
    with Store.open(sqlite_url) as running:
        assert running.snapshot("a@x.example").message_count == 0
        with Store.open(sqlite_url, keys=keys) as admin:
            admin.address_keys()
        running.learn([message("a@x.example", ["b@y.example"])])
    assert text_hits(sqlite_url, ["b@y.example", "a@x.example"]) == []


def test_key_files(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("abcd\n")
    with pytest.raises(KeyFileError, match="too short"):
        read_key_file(short)
    with pytest.raises(KeyFileError, match="cannot read"):
        read_key_file(tmp_path / "missing")
    raw = tmp_path / "raw"
    raw.write_bytes(b"x" * 40)
    assert read_key_file(raw) == b"x" * 40


def test_the_same_address_always_hashes_the_same_and_domains_group(keys: AddressKeys) -> None:
    a, b = keys.address("ann@acme.co.uk"), keys.address("bob@mail.acme.co.uk")
    assert a == keys.address("ann@acme.co.uk")
    assert a.partition("@")[2] == b.partition("@")[2]
    assert a.partition("@")[0] != b.partition("@")[0]
    assert AddressKeys(b"k" * 32).address("ann@acme.co.uk") != a
    assert "acme" not in a


def misdirect(verdict: Verdict) -> list[tuple[object, ...]]:
    return [
        (d.finding.severity, str(d.action), d.finding.recipients)
        for d in verdict.findings
        if d.finding.detector == "misdirected-recipient"
    ]


@pytest.mark.parametrize("name", ["misdirect-typo-domain.eml", "misdirect-private-address.eml"])
def test_slips_for_a_contact_outside_the_draft_are_still_found(
    stores: tuple[Store, Store], name: str
) -> None:
    clear, hashed = stores
    draft = parse_message((EXAMPLES / "messages" / name).read_bytes())
    sender = draft.sender.email  # type: ignore[union-attr]
    engine = Engine()
    in_clear = misdirect(engine.check(draft, clear.snapshot(sender)))
    assert in_clear
    assert misdirect(engine.check(draft, hashed.snapshot(sender, draft.recipients))) == in_clear


def test_a_typo_in_the_local_part_is_found_by_hashing_its_one_keystroke_variants(
    sqlite_url: str, keys: AddressKeys
) -> None:
    past = [
        message("me@org.example", ["maria.lopez@partner.example"], subject=f"Plan {n}")
        for n in range(6)
    ]
    with Store.open(sqlite_url, keys=keys) as store:
        store.learn(past)
        for slip in ("maria.lpoez@partner.example", "mari.lopez@partner.example"):
            history = store.snapshot("me@org.example", [slip])
            assert history.contact("maria.lopez@partner.example") is not None, slip
            draft = message("me@org.example", [slip])
            [finding] = misdirect(Engine().check(draft, history))
            assert finding[2] == (slip,)


def test_a_view_is_reused_while_the_drafts_name_no_one_new(
    sqlite_url: str, keys: AddressKeys
) -> None:
    with Store.open(sqlite_url, keys=keys) as store:
        store.learn([message("a@x.example", ["b@y.example", "c@y.example"])])
        cached = store.snapshot("a@x.example")
        first = store.reveal(cached, ["b@y.example"])
        assert store.reveal(cached, ["b@y.example"]) is first
        both = store.reveal(cached, ["c@y.example", "b@y.example"])
        assert both is not first
        assert both.contact("b@y.example") is not None
        assert both.together("b@y.example", "c@y.example") == 1
        assert store.reveal(cached, ["c@y.example"]) is both
        assert cached.contact("b@y.example") is None
