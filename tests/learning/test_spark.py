"""Learning on Apache Spark (local mode) writes the same history as the embedded engine."""

from __future__ import annotations

import gzip
import io
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from missend.cli.app import app
from missend.history.archive import iter_archive
from missend.history.store import Store
from missend.learning import replay
from missend.learning import spark as spark_engine
from missend.learning.directory import Timeline
from missend.learning.features import FEATURES
from missend.learning.simulate import RECIPES
from missend.learning.store import load
from missend.message import parse_message
from missend.testing import raw_message, synthetic_archive

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
BOB = "bob.reed@org.example"
COLUMN = {name: i for i, name in enumerate(FEATURES)}


def mbox(messages: list[bytes]) -> bytes:
    out = io.BytesIO()
    for raw in messages:
        out.write(b"From someone@example.org Mon Jan  1 00:00:00 2024\n")
        for line in raw.splitlines(keepends=True):
            quote = b">" if line.lstrip(b">").startswith(b"From ") else b""
            out.write(quote + line)
        out.write(b"\n")
    return out.getvalue()


def odd_mail() -> list[bytes]:
    """What real archives hold besides ordinary mail: every case the history treats specially."""
    crowd = [f"person{n}@list.example" for n in range(60)]
    return [
        raw_message(BOB, ["Ann Moss <ann@org.example>"], subject="plan", message_id="<b1@org>"),
        raw_message(
            BOB,
            ["ann@org.example"],
            subject="re: plan",
            message_id="<b2@org>",
            in_reply_to="<b1@org>",
            date=START + timedelta(days=1),
        ),
        raw_message(
            BOB,
            ["Annie <ann@org.example>", "cy@partner.example"],
            date=START - timedelta(days=30),
            message_id="<b3@org>",
            body="Budget figures quarter forecast variance spreadsheet\n",
        ),
        raw_message(BOB, crowd, subject="all hands", message_id="<b4@org>"),
        raw_message(BOB, crowd, subject="all hands again", message_id="<b5@org>"),
        raw_message(BOB, ["ann@org.example"], subject="same id twice", message_id="<b1@org>"),
        raw_message(BOB, ["dee@org.example"], subject="no id, no date"),
        raw_message(BOB, [], subject="nobody"),
        b"To: ann@org.example\nSubject: no sender\n\nhello\n",
        b"From: Bob Reed <BOB.REED@org.example>\nTo: ann@org.example\nSubject: x\n"
        b"Content-Type: text/html\n\n<p>From the <b>html</b> side</p>\n",
        raw_message(BOB, ["eve@org.example"], attachments=[("n.csv", "text/csv", b"a,b\n1,2\n")]),
    ]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = spark_engine.session("local[2]", "missend-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three senders whose mail is interleaved across a plain mbox, a gzip mbox and an .eml file."""
    root = tmp_path_factory.mktemp("archive")
    pat = synthetic_archive(messages=120)
    kim = synthetic_archive("kim@org.example", messages=120, seed=1)
    mixed = [m for pair in zip(pat, kim, strict=True) for m in pair]
    odd = odd_mail()
    (root / "a-sent.mbox").write_bytes(mbox(mixed[:150] + odd[:6]))
    with gzip.open(root / "b-older.mbox.gz", "wb") as f:
        f.write(mbox(odd[6:] + mixed[150:]))
    (root / "c-draft.eml").write_bytes(raw_message(BOB, ["ann@org.example"], subject="eml"))
    return root


def senders_in(path: Path) -> set[str]:
    found = {parse_message(raw).sender for _, raw in iter_archive(path)}
    return {s.email for s in found if s is not None}


def learn_on_spark(
    spark: SparkSession, path: Path, url: str, *, train: bool = False
) -> spark_engine.SparkReport:
    return spark_engine.learn(
        [path], url, spark=spark, train=train, split_bytes=8_000, gzip_share_bytes=4_000
    )


class TestPlan:
    def test_byte_ranges_and_shares_cover_every_file_in_archive_order(self, archive: Path) -> None:
        splits = spark_engine.plan([archive], split_bytes=30_000, gzip_share_bytes=4_000)
        plain = [s for s in splits if s[2] == "range"]
        assert len(plain) > 3
        assert plain[0][3] == 0
        assert plain[-1][4] == (archive / "a-sent.mbox").stat().st_size
        assert all(a[4] == b[3] for a, b in itertools.pairwise(plain))
        shares = [s for s in splits if s[2] == "share"]
        assert sorted(s[3] for s in shares) == list(range(shares[0][4]))
        assert shares[0][4] > 1
        assert [s[0] for s in splits] == sorted(s[0] for s in splits)
        assert splits[-1][2] == "file"

    def test_a_sender_always_lands_in_the_same_partition(self) -> None:
        assert spark_engine.sender_partition(7, (BOB, 1)) == spark_engine.sender_partition(
            7, (BOB, 2)
        )
        spread = {spark_engine.sender_partition(7, (f"s{n}@x", 0)) for n in range(100)}
        assert spread == set(range(7))


class TestSameHistory:
    def test_both_engines_write_the_same_history_and_neither_learns_anything_twice(
        self, spark: SparkSession, archive: Path, store_url: str, tmp_path: Path
    ) -> None:
        embedded_url = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
        with Store.open(embedded_url) as embedded, Store.open(store_url) as distributed:
            expected = embedded.learn(parse_message(raw) for _, raw in iter_archive(archive))

            got = learn_on_spark(spark, archive, store_url)

            assert (got.seen, got.learned, got.duplicates, got.without_sender, got.senders) == (
                expected.seen,
                expected.learned,
                expected.duplicates,
                expected.without_sender,
                expected.senders,
            )
            assert got.splits > 5
            senders = senders_in(archive)
            assert {"pat.lowe@org.example", "kim@org.example", BOB} <= senders
            learned = {s: distributed.snapshot(s) for s in senders}
            for sender in senders:
                assert learned[sender] == embedded.snapshot(sender), sender

            known = expected.learned + expected.duplicates
            assert learn_on_spark(spark, archive, store_url).duplicates == known
            assert learn_on_spark(spark, archive, embedded_url).duplicates == known
            assert (
                distributed.learn(parse_message(r) for _, r in iter_archive(archive)).learned == 0
            )
            for sender in senders:
                assert distributed.snapshot(sender) == learned[sender]
                assert embedded.snapshot(sender) == learned[sender]

        bob = learned[BOB]
        ann = bob.contacts["ann@org.example"]
        assert (ann.count, ann.name) == (5, "Annie")
        assert ann.first_seen == START - timedelta(days=30)
        assert bob.thread_participants(("<b1@org>",)) == {BOB, "ann@org.example"}
        assert bob.contacts["person7@list.example"].count == 2
        assert sum(bob.recipient_sets.values()) == 2


class TestTraining:
    def test_a_model_is_trained_from_every_senders_replay_and_saved(
        self, spark: SparkSession, tmp_path: Path, sqlite_url: str
    ) -> None:
        path = tmp_path / "sent.mbox"
        path.write_bytes(
            mbox(
                synthetic_archive(messages=300)
                + synthetic_archive("kim@org.example", messages=300, seed=1)
            )
        )
        report = spark_engine.learn([path], sqlite_url, spark=spark, min_messages=200)

        assert report.learned == 600
        assert (report.model_version, report.not_trained) == (1, "")
        with Store(sqlite_url) as store:
            model = load(store)
        assert model is not None
        assert model.trained_on == report.trained_on > 200
        assert len(model.experts) >= 3
        assert set(model.experts) <= set(RECIPES)
        assert 0 < model.thresholds["0.01"] <= 1


class TestOrganisationDirectory:
    """Spark's replay sees the organisation's mail as the embedded replay does."""

    @pytest.fixture
    def colleagues(self, tmp_path: Path) -> Path:
        """Two senders writing to the same people; each file is named after its sender, the seed
        both engines draw a sender's simulated slips from."""
        root = tmp_path / "org"
        root.mkdir()
        pat = synthetic_archive(messages=150)
        kim = synthetic_archive("kim@org.example", messages=150)
        (root / "pat.lowe@org.example").write_bytes(mbox(pat))
        (root / "kim@org.example").write_bytes(mbox(kim[::2]))
        return root

    def test_the_directory_built_on_spark_equals_the_embedded_one(
        self, spark: SparkSession, archive: Path, colleagues: Path
    ) -> None:
        for path in (archive, colleagues):
            splits = spark_engine.plan([path], split_bytes=8_000, gzip_share_bytes=4_000)
            built = spark_engine.organisation(spark_engine.parsed(spark.sparkContext, splits))
            embedded = Timeline.of(replay._sent(path))
            assert built.firsts == embedded.firsts
            assert built.pairs == embedded.pairs
            assert built.firsts
            assert built.pairs

    def test_the_directory_keeps_the_addresses_most_senders_write_to(
        self, spark: SparkSession, colleagues: Path
    ) -> None:
        splits = spark_engine.plan([colleagues])
        whole = Timeline.of(replay._sent(colleagues)).firsts
        kept = spark_engine.organisation(spark_engine.parsed(spark.sparkContext, splits), 5).firsts
        assert len(kept) == 5
        assert min(len(v) for v in kept.values()) == max(len(v) for v in whole.values()) == 2
        whole_pairs = Timeline.of(replay._sent(colleagues)).pairs
        organisation = spark_engine.organisation(
            spark_engine.parsed(spark.sparkContext, splits), 5, 3
        )
        assert len(organisation.pairs) == 3
        assert min(len(v) for v in organisation.pairs.values()) == max(
            len(v) for v in whole_pairs.values()
        )

    def test_a_senders_training_examples_equal_the_embedded_replays(
        self, spark: SparkSession, colleagues: Path
    ) -> None:
        sc = spark.sparkContext
        messages = spark_engine.parsed(sc, spark_engine.plan([colleagues]))
        timeline = spark_engine.organisation(messages)
        pat = "pat.lowe@org.example"
        rows = sorted(
            ((sender, spark_engine._date_key(packed), order), packed)
            for (sender, order), packed in messages.collect()
            if sender == pat
        )
        on_spark = list(spark_engine._replay_partition(iter(rows), 0, 1.0, sc.broadcast(timeline)))
        embedded = replay.replay(
            colleagues / pat, 1.0, 0, timeline=Timeline.of(replay._sent(colleagues))
        )
        assert len(on_spark) == len(embedded.train_x) > 100
        for (x, y, scenario), ex, ey, es in zip(
            on_spark, embedded.train_x, embedded.train_y, embedded.train_scenario, strict=True
        ):
            np.testing.assert_array_equal(x, ex)
            np.testing.assert_array_equal(y, ey)
            assert scenario == es
        colleagues_seen = np.concatenate([x for x, _, _ in on_spark])[:, COLUMN["org_senders_log"]]
        assert colleagues_seen.max() > 0
        grouped_by_colleagues = np.concatenate([x for x, _, _ in on_spark])[
            :, COLUMN["org_together_log"]
        ]
        assert grouped_by_colleagues.max() > 0
        alone = list(spark_engine._replay_partition(iter(rows), 0, 1.0))
        assert np.concatenate([x for x, _, _ in alone])[:, COLUMN["org_senders_log"]].max() == 0


class TestCommandLine:
    def test_learn_with_the_spark_engine_then_locally(
        self, spark: SparkSession, archive: Path, sqlite_url: str
    ) -> None:
        runner = CliRunner()
        args = ["learn", str(archive), "--db", sqlite_url]
        result = runner.invoke(app, [*args, "--engine", "spark", "--master", "local[2]"])
        assert result.exit_code == 0, result.output
        assert "learned 250 new messages from 3 sender(s); 1 already known" in result.output
        assert "misdirect model not trained: too little mail" in result.output
        local = runner.invoke(app, [*args, "--no-train"])
        assert local.exit_code == 0, local.output
        assert "learned 0 new messages" in local.output
        assert SparkSession.getActiveSession() is spark
