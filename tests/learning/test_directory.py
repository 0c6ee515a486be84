"""The organisation's directory: who colleagues write to, and whom they write to together, as the
store holds it and as a replay saw it at each moment, so a first message to a colleague's
correspondent is told from a typo, and a recipient colleagues group with the others from a stray."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from missend.detectors.base import CheckContext
from missend.history.model import SenderHistory, pair_key
from missend.history.store import Store
from missend.learning.directory import (
    DIRECTORY_NAME,
    FAR,
    Directory,
    OrgDirectory,
    PairCounts,
    Timeline,
)
from missend.learning.features import FEATURES, feature_matrix
from missend.learning.store import models_for, save
from missend.message import parse_message
from missend.orgs import Organisations
from missend.privacy.pseudonym import AddressKeys
from missend.testing import raw_message

T0 = datetime(2001, 3, 1, 9, 0, tzinfo=UTC)
MAIL = [
    (T0, "ann@corp.example", ("john.smith@corp.example",)),
    (T0 + timedelta(days=1), "bob@corp.example", ("john.smith@corp.example",)),
    (T0 + timedelta(days=2), "bob@corp.example", ("kim@supplier.example",)),
    (T0 + timedelta(days=3), "bob@corp.example", ("john.smith@corp.example",)),
]
GROUPS = [
    (T0, "ann@corp.example", ("john.smith@corp.example", "kim@supplier.example")),
    (
        T0 + timedelta(days=1),
        "bob@corp.example",
        ("kim@supplier.example", "john.smith@corp.example"),
    ),
    (T0 + timedelta(days=2), "bob@corp.example", ("lee@corp.example", "bob@corp.example")),
    (T0 + timedelta(days=3), "ann@corp.example", tuple(f"p{i}@corp.example" for i in range(51))),
]
"""Two colleagues writing to John and Kim together; a message with the sender among its
recipients; one to more people than a history pairs up."""


def test_counts_each_sender_once_and_leaves_out_the_one_asking() -> None:
    d = Directory.of((s, r) for _, s, r in MAIL)
    assert d.senders("john.smith@corp.example", mine=False) == 2
    assert d.senders("john.smith@corp.example", mine=True) == 1
    assert d.senders("kim@supplier.example", mine=True) == 0
    assert d.senders("nobody@corp.example", mine=False) == 0


def test_an_address_nobody_uses_is_near_one_they_do_by_name_or_by_domain() -> None:
    d = Directory.of((s, r) for _, s, r in MAIL)
    assert d.nearest("jon.smith@corp.example") == (1.0, 2)
    assert d.nearest("kim@suplier.example") == (1.0, 1)
    assert d.nearest("someone.else@corp.example") == (FAR, 0)
    assert d.nearest("zed@elsewhere.example") == (FAR, 0)


def test_one_keystroke_is_near_and_two_are_not() -> None:
    d = Directory.of((s, r) for _, s, r in MAIL)
    assert d.nearest("jonh.smith@corp.example") == (1.0, 2)  # two letters swapped
    assert d.nearest("john.smiht@corp.example") == (1.0, 2)
    assert d.nearest("johnx.smith@corp.example") == (1.0, 2)
    assert d.nearest("jon.smit@corp.example") == (FAR, 0)
    assert d.nearest("kim@supplier.exampel") == (1.0, 1)


def test_with_keyed_hashes_it_answers_as_in_clear(tmp_path: Path) -> None:
    keys = AddressKeys(bytes(range(32)))
    mail = [parse_message(_message(s, r, w)) for w, s, r in MAIL]
    with (
        Store.open(f"sqlite:///{tmp_path / 'clear.db'}") as clear,
        Store.open(f"sqlite:///{tmp_path / 'hashed.db'}", keys=keys) as hashed,
    ):
        clear.learn(mail)
        hashed.learn(mail)
        in_clear = Directory(clear.directory_counts())
        stored = hashed.directory_counts()
    assert "john.smith@corp.example" not in str(stored)
    d = Directory(stored, keys)
    for address in ("john.smith@corp.example", "kim@supplier.example", "nobody@corp.example"):
        assert (
            d.senders(address, mine=False)
            == in_clear.senders(address, mine=False)
            == ({"john.smith@corp.example": 2, "kim@supplier.example": 1}.get(address, 0))
        )
    for probe in (
        "jon.smith@corp.example",
        "jonh.smith@corp.example",
        "kim@suplier.example",
        "kim@supplier.exampel",
        "jon.smit@corp.example",
        "zed@elsewhere.example",
    ):
        assert d.nearest(probe) == in_clear.nearest(probe)
    assert d.nearest("kim@suplier.example") == (1.0, 1)
    assert d.nearest("jon.smit@corp.example") == (FAR, 0)


def test_the_timeline_never_looks_ahead_and_leaves_out_the_sender() -> None:
    t = Timeline.of(MAIL)
    early = t.at(T0 + timedelta(hours=12), "carol@corp.example")
    assert early.senders("john.smith@corp.example", False) == 1
    assert early.nearest("kim@suplier.example") == (FAR, 0)
    later = t.at(T0 + timedelta(days=5), "carol@corp.example")
    assert later.senders("john.smith@corp.example", False) == 2
    assert later.nearest("jon.smith@corp.example") == (1.0, 2)
    own = t.at(T0 + timedelta(days=5), "bob@corp.example")
    assert own.senders("kim@supplier.example", True) == 0
    assert (
        t.at(T0 - timedelta(days=1), "carol@corp.example").senders("john.smith@corp.example", False)
        == 0
    )


def test_naive_dates_are_read_as_utc() -> None:
    t = Timeline.of([(datetime(2001, 3, 1, 9, 0), "ann@corp.example", ("x@corp.example",))])
    assert t.at(datetime(2001, 3, 2), "bob@corp.example").senders("x@corp.example", False) == 1


def _message(sender: str, to: tuple[str, ...], when: datetime) -> bytes:
    return raw_message(
        sender, list(to), subject="Figures", body="The weekly figures, as promised.", date=when
    )


def test_the_store_directory_answers_as_the_timeline_does_once_all_is_learned(
    tmp_path: Path,
) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        store.learn(parse_message(_message(s, r, w)) for w, s, r in MAIL)
        stored = Directory(store.directory_counts())
    now = T0 + timedelta(days=30)
    replayed = Timeline.of(MAIL)
    for sender in ("ann@corp.example", "bob@corp.example", "carol@corp.example"):
        view = replayed.at(now, sender)
        for address in ("john.smith@corp.example", "kim@supplier.example", "new@corp.example"):
            mine = any(s == sender and address in r for _, s, r in MAIL)
            assert stored.senders(address, mine) == view.senders(address, mine)
        for probe in ("jon.smith@corp.example", "kim@suplier.example", "q@corp.example"):
            assert stored.nearest(probe) == view.nearest(probe)


def test_a_typo_of_a_colleagues_correspondent_is_a_feature_of_the_recipient() -> None:
    history = SenderHistory("carol@corp.example")
    message = parse_message(
        _message("carol@corp.example", ("jon.smith@corp.example",), T0 + timedelta(days=9))
    )
    directory = Directory.of((s, r) for _, s, r in MAIL)
    ctx = CheckContext(message, history, Organisations(()), {DIRECTORY_NAME: directory})
    _, x = feature_matrix(ctx, ctx.recipients, {})
    row = dict(zip(FEATURES, x[0].tolist(), strict=True))
    assert row["org_senders_log"] == 0.0
    assert row["org_lookalike_distance"] == 1.0
    assert row["org_lookalike_strength_log"] == pytest.approx(1.0986, abs=1e-3)
    known = parse_message(
        _message("carol@corp.example", ("john.smith@corp.example",), T0 + timedelta(days=9))
    )
    ctx = CheckContext(known, history, Organisations(()), {DIRECTORY_NAME: directory})
    _, x = feature_matrix(ctx, ctx.recipients, {})
    row = dict(zip(FEATURES, x[0].tolist(), strict=True))
    assert row["org_senders_log"] == pytest.approx(1.0986, abs=1e-3)
    assert row["org_lookalike_distance"] == FAR


JOHN, KIM = "john.smith@corp.example", "kim@supplier.example"


def pair(directory: OrgDirectory, a: str, b: str, mine: bool) -> int:
    """What a check of a message to `a` and `b` is told about the two together."""
    return directory.together([a, b], lambda *_: mine)[pair_key(a, b)]


def test_counts_the_senders_who_wrote_to_two_addresses_in_one_message() -> None:
    d = Directory.of((s, r) for _, s, r in GROUPS)
    assert pair(d, JOHN, KIM, False) == 2
    assert pair(d, KIM, JOHN, True) == 1
    assert pair(d, JOHN, "lee@corp.example", False) == 0
    assert pair(d, "bob@corp.example", "lee@corp.example", False) == 0
    assert d.senders("bob@corp.example", mine=False) == 0
    assert pair(d, "p0@corp.example", "p1@corp.example", False) == 0
    assert d.senders("p0@corp.example", mine=False) == 1


def test_pair_counts_read_either_order_and_add_a_pair_given_twice() -> None:
    pairs = PairCounts.of([(JOHN, KIM, 2), ("lee@corp.example", JOHN, 1), (KIM, JOHN, 3)])
    assert len(pairs) == 2
    assert pairs.get(KIM, JOHN) == pairs.get(JOHN, KIM) == 5
    assert pairs.get(JOHN, "lee@corp.example") == 1
    assert pairs.get(KIM, "lee@corp.example") == 0
    assert PairCounts.of([]).get(JOHN, KIM) == 0


def test_the_timeline_of_pairs_never_looks_ahead_and_leaves_out_the_sender() -> None:
    t = Timeline.of(GROUPS)
    assert pair(t.at(T0 - timedelta(days=1), "carol@corp.example"), JOHN, KIM, False) == 0
    assert pair(t.at(T0 + timedelta(hours=12), "carol@corp.example"), KIM, JOHN, False) == 1
    assert pair(t.at(T0 + timedelta(days=5), "carol@corp.example"), JOHN, KIM, False) == 2
    assert pair(t.at(T0 + timedelta(days=5), "bob@corp.example"), JOHN, KIM, True) == 1
    assert (
        pair(
            t.at(T0 + timedelta(days=5), "carol@corp.example"),
            "p0@corp.example",
            "p1@corp.example",
            False,
        )
        == 0
    )


def test_the_stores_pairs_answer_as_the_timeline_does_once_all_is_learned(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        store.learn(parse_message(_message(s, r, w)) for w, s, r in [*MAIL, *GROUPS])
        stored = Directory(store.directory_counts(), pairs=PairCounts.of(store.directory_pairs()))
        assert list(store.directory_pairs(limit=1)) == [(JOHN, KIM, 2)]
    view_at = T0 + timedelta(days=30)
    replayed = Timeline.of([*MAIL, *GROUPS])
    people = (JOHN, KIM, "lee@corp.example", "p0@corp.example", "p1@corp.example")
    for sender in ("ann@corp.example", "bob@corp.example", "carol@corp.example"):
        view = replayed.at(view_at, sender)
        for i, a in enumerate(people):
            for b in people[i + 1 :]:
                mine = any(s == sender and {a, b} <= set(r) for _, s, r in GROUPS[:3])
                assert pair(stored, a, b, mine) == pair(view, a, b, mine)


def test_with_keyed_hashes_the_pairs_are_hashed_and_answer_as_in_clear(tmp_path: Path) -> None:
    keys = AddressKeys(bytes(range(32)))
    with Store.open(f"sqlite:///{tmp_path / 'hashed.db'}", keys=keys) as hashed:
        hashed.learn(parse_message(_message(s, r, w)) for w, s, r in GROUPS)
        pairs = list(hashed.directory_pairs())
    assert JOHN not in str(pairs)
    d = Directory({}, keys, PairCounts.of(pairs))
    assert pair(d, KIM, JOHN, False) == 2
    assert pair(d, JOHN, "lee@corp.example", False) == 0


def test_recipients_colleagues_write_to_together_are_a_feature_of_each() -> None:
    directory = Directory.of((s, r) for _, s, r in GROUPS)
    history = SenderHistory("carol@corp.example")

    def together(*to: str) -> list[float]:
        message = parse_message(_message("carol@corp.example", to, T0 + timedelta(days=9)))
        ctx = CheckContext(message, history, Organisations(()), {DIRECTORY_NAME: directory})
        _, x = feature_matrix(ctx, ctx.recipients, {})
        return x[:, FEATURES.index("org_together_log")].tolist()

    assert together(JOHN, KIM) == pytest.approx([1.0986, 1.0986], abs=1e-3)
    assert together(JOHN, KIM, "stranger@corp.example") == pytest.approx(
        [1.0986, 1.0986, 0.0], abs=1e-3
    )
    assert together(JOHN) == [0.0]


def test_the_stores_models_carry_the_directory_and_a_stale_model_leaves_the_rules_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from missend.learning.model import MisdirectModel

    with Store.open(f"sqlite:///{tmp_path / 'h.db'}") as store:
        store.learn(parse_message(_message(s, r, w)) for w, s, r in [*MAIL, *GROUPS])
        assert models_for(store) == {}
        stale = MisdirectModel({}, {"0.01": 0.5}, features=FEATURES[:-1])
        save(store, stale)
        assert models_for(store) == {}
        assert "learn` again" in caplog.text
        save(store, MisdirectModel({}, {"0.01": 0.5}))
        models = models_for(store)
    assert set(models) == {"misdirect", DIRECTORY_NAME}
    assert models[DIRECTORY_NAME].senders("john.smith@corp.example", False) == 2
    assert pair(models[DIRECTORY_NAME], JOHN, KIM, False) == 2
