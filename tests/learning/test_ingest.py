"""The fast learning pipeline gives the store exactly what the plain one does, only sooner."""

from __future__ import annotations

import gzip
import io
import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from missend.history.archive import _mbox, iter_archive
from missend.history.store import Store
from missend.history.terms import READ_CHARS
from missend.learning.ingest import (
    addresses,
    by_sender,
    learn_archive,
    learning_message,
    pack,
    parsed,
    raw_messages,
    split_mbox,
    unpack,
)
from missend.message import parse_message
from missend.message.addresses import parse_addresses
from missend.testing import raw_message, synthetic_archive

LEARNED_FIELDS = (
    "sender",
    "from_",
    "sender_header",
    "recipients",
    "subject",
    "message_id",
    "in_reply_to",
    "references",
    "thread_ids",
    "date",
    "body_text",
)

LONG = raw_message(
    "pat.lowe@org.example",
    ["kim@org.example"],
    subject="long",
    body="forecast nominations " * 400 + "\n-----Original Message-----\n" + "tariff " * 900,
)
TRICKY = [
    raw_message("a@x.org", ["B Bee <b@y.org>"], cc=["c@z.org"], subject="=?utf-8?q?caf=C3=A9?="),
    b"From: a@x.org\r\nTo: b@y.org\r\nSubject: crlf\r\n\r\nbody\r\n>From here\r\n",
    b"From: a@x.org\nTo: b@y.org\nContent-Type: text/html; charset=utf-8\n\n<p>Hi <b>there</b></p>\n",
    b"From: a@x.org\nTo: b@y.org\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=\n",
    b"From: a@x.org\nTo: b@y.org\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nok\n",
    b"From: a@x.org\nTo: b@y.org\nContent-Type: application/pdf; name=x.pdf\n\n%PDF-1.4\n",
    b"From: a@x.org\nTo: b@y.org\nContent-Disposition: attachment\n\nsecret\n",
    b'From: a@x.org\nTo: b@y.org\nContent-Disposition: inline; filename="\xe9t\xe9.txt"\n\nx\n',
    b"From: a@x.org\nTo: b@y.org\nContent-Type: text/plain; name=notes.txt\n\nnotes\n",
    b"From: a@x.org\nTo: b@y.org\nSubject: no body",
    b"From: a@x.org\nTo: b@y.org\nbroken header line\nSubject: x\n\nbody\n",
    b" continuation first\nFrom: a@x.org\nTo: b@y.org\n\nbody\n",
    b"From: a@x.org\nTo: b@y.org\nSubject: caf\xc3\xa9 \xff\nMessage-ID: <\xc3\xa9@x>\nDate: nonsense\n\n\xe9t\xe9\n",
    b"From: a@x.org\nTo: b@y.org\nFrom x at the end\n\nbody\n",
    b"From: a@x.org\rTo: b@y.org\r\rbody\r",
    raw_message("a@x.org", ["b@y.org"], attachments=[("a.csv", "text/csv", b"n,e\n1,2\n")]),
    raw_message("a@x.org", ["b@y.org"], message_id="<1@x>", in_reply_to="<0@x>"),
    b"",
    b"\n\n",
]


def same_for_learning(raw: bytes) -> None:
    fast, full = learning_message(raw), parse_message(raw)
    shipped = unpack(pack(fast))
    for name in LEARNED_FIELDS:
        assert getattr(fast, name) == getattr(full, name), name
        assert getattr(shipped, name) == getattr(full, name), name


def mbox_bytes(messages: list[bytes]) -> bytes:
    out = io.BytesIO()
    for raw in messages:
        out.write(b"From sender@example.org Mon Jan  1 00:00:00 2024\n")
        for line in raw.splitlines(keepends=True):
            quote = b">" if line.lstrip(b">").startswith(b"From ") else b""
            out.write(quote + line)
        out.write(b"\n")
    return out.getvalue()


def reference(data: bytes, max_bytes: int) -> list[bytes]:
    return list(_mbox(io.BytesIO(data), max_bytes))


class TestLearningMessage:
    def test_what_learning_reads_equals_the_full_parse(self) -> None:
        for raw in TRICKY:
            same_for_learning(raw)

    def test_single_part_messages_never_need_the_full_parse(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The fast path falls back to the full parser on anything it trips over, which would
        hide a fast path that trips over everything: here the full parser is not available."""

        def unavailable(raw: bytes) -> None:
            raise AssertionError("fell back to the full parse")

        monkeypatch.setattr("missend.learning.ingest.parse_message", unavailable)
        for raw in (
            b"From: a@x.org\nTo: b@y.org\nSubject: s\n\nbody\n",
            b"From: a@x.org\nTo: b@y.org\nContent-Type: text/plain; charset=utf-8\n\ncaf\xc3\xa9\n",
            b"From: a@x.org\nTo: b@y.org\nContent-Type: text/plain; name=notes.txt\n\nnotes\n",
            b'From: a@x.org\nTo: b@y.org\nContent-Disposition: inline; filename="\xe9t\xe9.txt"\n\nx\n',
        ):
            assert learning_message(raw).recipient_emails == ("b@y.org",)

    def test_a_synthetic_archive_parses_the_same(self) -> None:
        for raw in synthetic_archive(messages=200):
            same_for_learning(raw)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=400))
    def test_any_bytes_parse_the_same(self, raw: bytes) -> None:
        same_for_learning(b"From: a@x.org\nTo: b@y.org\n" + raw)

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(
            st.sampled_from(
                [
                    "From: a@x.org",
                    "To: b@y.org, C <c@z>",
                    "Subject: s",
                    "Content-Type: text/html",
                    "Content-Transfer-Encoding: base64",
                    " folded",
                    "",
                    "\r",
                    "bad line",
                    "From x",
                    "aGk=",
                    "<b>x</b>",
                    "Content-Type: multipart/mixed; boundary=b",
                    "--b",
                    ":no name",
                    "Subject: café",
                    "From: Ann <a@x.org>",
                    "X-Empty:",
                    "\f",
                ]
            ),
            max_size=14,
        ),
        st.sampled_from(["\n", "\r\n"]),
    )
    def test_header_shapes_parse_the_same(self, lines: list[str], newline: str) -> None:
        same_for_learning(newline.join(lines).encode())


class TestAddresses:
    @settings(max_examples=400, deadline=None)
    @given(
        st.lists(
            st.lists(
                st.tuples(
                    st.text("Ab .'_-9", max_size=12),
                    st.from_regex(
                        r"[a-z0-9_%+-]{1,5}(\.[a-z0-9]{1,3})?@[a-z0-9-]{1,5}\.[a-z]{2,3}",
                        fullmatch=True,
                    ),
                    st.booleans(),
                    st.sampled_from(["", " ", "  "]),
                ),
                max_size=5,
            ).map(
                lambda items: ",".join(
                    f"{pad}{n} <{a}>" if named else f"{pad}{a}" for n, a, named, pad in items
                )
            ),
            max_size=3,
        )
    )
    def test_plain_lists_read_as_the_full_parser_reads_them(self, values: list[str]) -> None:
        assert addresses(values) == parse_addresses(values)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.text("ab@.<>,\"'() :;=?_-\\\t\n", max_size=30), max_size=3))
    def test_anything_else_reads_as_the_full_parser_reads_it(self, values: list[str]) -> None:
        assert addresses(values) == parse_addresses(values)


class TestSplit:
    def test_the_same_messages_as_the_line_by_line_reader(self) -> None:
        tricky = [
            b"Subject: a\n\nHello\nFrom the desk\n>From quoted\n>>From twice\n",
            b"Subject: b\r\n\r\nbody\r\n",
            b"Subject: c\n\n" + b"x" * 70_000 + b"From inside a long line\n",
            b"Subject: d\n\n" + b">" * 65_535 + b"From far\n",
        ]
        data = mbox_bytes(tricky) + b"From x\n" + b"y" * 66_000 + b"\n>From z\n"
        for max_bytes in (10, 1000, 70_000, 200_000):
            assert [raw for _, raw in split_mbox(io.BytesIO(data), max_bytes)] == reference(
                data, max_bytes
            )

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.sampled_from(
                [
                    b"From ",
                    b"From x\n",
                    b">From ",
                    b">>From y\n",
                    b"\n",
                    b"\r\n",
                    b"a",
                    b"\n\n",
                    b"Subject: s\n",
                    b"F",
                    b"rom ",
                ]
            ),
            max_size=40,
        ),
        st.integers(min_value=0, max_value=60),
    )
    def test_any_stream_splits_the_same(self, pieces: list[bytes], max_bytes: int) -> None:
        data = b"".join(pieces)
        assert [raw for _, raw in split_mbox(io.BytesIO(data), max_bytes)] == reference(
            data, max_bytes
        )

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.integers(min_value=0, max_value=4000), max_size=6))
    def test_byte_ranges_cover_every_message_once_in_order(self, cuts: list[int]) -> None:
        data = mbox_bytes(synthetic_archive(messages=12))
        bounds = [0, *sorted(c % len(data) for c in cuts), len(data)]
        found = [
            item
            for start, stop in itertools.pairwise(bounds)
            for item in split_mbox(io.BytesIO(data), start=start, stop=stop)
        ]
        assert [raw for _, raw in found] == reference(data, 60 * 1024 * 1024)
        assert [offset for offset, _ in found] == sorted({offset for offset, _ in found})

    def test_archives_read_the_same_as_iter_archive(self, tmp_path: Path) -> None:
        (tmp_path / "a.mbox").write_bytes(mbox_bytes(synthetic_archive(messages=30)))
        with gzip.open(tmp_path / "b.mbox.gz", "wb") as f:
            f.write(mbox_bytes(synthetic_archive("kim@org.example", messages=30, seed=1)))
        (tmp_path / "c.eml").write_bytes(TRICKY[0])
        assert list(raw_messages(tmp_path)) == [raw for _, raw in iter_archive(tmp_path)]


class TestPipeline:
    def test_regrouping_by_sender_keeps_each_senders_order(self) -> None:
        raws = synthetic_archive(messages=50) + synthetic_archive("kim@org.example", messages=50)
        raws = [r for pair in zip(raws[:50], raws[50:], strict=True) for r in pair]
        grouped = [
            m.sender.email + str(m.message_id) for m in by_sender(parsed(raws), 30) if m.sender
        ]
        original = [m.sender.email + str(m.message_id) for m in parsed(raws) if m.sender]
        for sender in ("pat.lowe@org.example", "kim@org.example"):
            assert [g for g in grouped if g.startswith(sender)] == [
                o for o in original if o.startswith(sender)
            ]
        assert grouped[:15] == [g for g in original[:30] if g.startswith("kim")]

    def test_the_window_holds_only_the_part_of_a_body_learning_reads(self) -> None:
        long = raw_message("a@x.org", ["b@y.org"], body="word " * 5000)
        short = raw_message("a@x.org", ["b@y.org"], body="short note")
        held = list(by_sender(parsed([long, short])))
        assert [len(m.body_text) for m in held] == [READ_CHARS, len("short note\n")]
        assert held[0].body_text == parse_message(long).body_text[:READ_CHARS]

    def test_worker_processes_keep_the_archive_order(self) -> None:
        raws = synthetic_archive(messages=700)
        assert [m.message_id for m in parsed(raws, workers=2)] == [
            parse_message(r).message_id for r in raws
        ]

    def test_the_store_learns_the_same_history(self, store_url: str, tmp_path: Path) -> None:
        path = tmp_path / "sent.mbox"
        path.write_bytes(
            mbox_bytes(
                synthetic_archive(messages=300)
                + synthetic_archive("kim@org.example", messages=300, seed=1)
                + TRICKY
                + [LONG]
            )
        )
        slow_url = f"sqlite:///{tmp_path / 'slow.sqlite3'}"
        with Store.open(slow_url) as slow, Store.open(store_url) as fast:
            expected = slow.learn(parse_message(raw) for _, raw in iter_archive(path))
            got = learn_archive(fast, path, workers=2, window=97, batch_size=40)
            assert (got.seen, got.learned, got.senders, got.without_sender) == (
                expected.seen,
                expected.learned,
                expected.senders,
                expected.without_sender,
            )
            for sender in ("pat.lowe@org.example", "kim@org.example", "a@x.org"):
                assert fast.snapshot(sender) == slow.snapshot(sender)
            assert learn_archive(fast, path).learned == 0
