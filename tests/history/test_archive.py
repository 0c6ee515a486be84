"""Archives of every common shape give back each message once, byte for byte as it was sent."""

from __future__ import annotations

import gzip
import mailbox
import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest

from missend.history.archive import (
    ArchiveError,
    count_messages,
    iter_archive,
    looks_like_message,
)
from missend.message import parse_message


def message(n: int, body: str = "") -> EmailMessage:
    m = EmailMessage()
    m["From"] = "alice@example.org"
    m["To"] = f"r{n}@example.org"
    m["Subject"] = f"message {n}"
    m["Message-ID"] = f"<{n}@example.org>"
    m.set_content(body or f"body of message {n}\n")
    return m


def make_mbox(path: Path, bodies: list[str]) -> Path:
    box = mailbox.mbox(path)
    try:
        for n, body in enumerate(bodies):
            entry = mailbox.mboxMessage(message(n, body))
            entry.set_from("MAILER-DAEMON", (1970, 1, 1, 0, 0, 0, 3, 1, 0))
            box.add(entry)
        box.flush()
    finally:
        box.close()
    return path


def gzipped(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    with path.open("rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    path.unlink()
    return target


def subjects(path: Path) -> list[str]:
    return [parse_message(raw).subject for _, raw in iter_archive(path)]


class TestMbox:
    def test_each_message_once_with_from_lines_unescaped(self, tmp_path: Path) -> None:
        tricky = "Hello\nFrom the desk of Alice,\nbye\n"
        path = make_mbox(tmp_path / "sent.mbox", ["first\n", tricky, "last\n"])
        assert b"\n>From the desk" in path.read_bytes()

        found = list(iter_archive(path))

        assert [label for label, _ in found] == [f"{path}#{n}" for n in (1, 2, 3)]
        bodies = [parse_message(raw).body_text for _, raw in found]
        assert bodies[0] == "first\n"
        assert bodies[1] == "Hello\nFrom the desk of Alice,\nbye\n"
        assert count_messages(path) == 3

    def test_mboxrd_quoting_loses_exactly_one_level(self, tmp_path: Path) -> None:
        path = tmp_path / "rd.mbox"
        path.write_bytes(b"From x\nSubject: q\n\n>From a\n>>From b\n> From c\n")
        assert [raw for _, raw in iter_archive(path)] == [
            b"Subject: q\n\nFrom a\n>From b\n> From c\n"
        ]

    def test_message_bytes_are_those_written_without_the_separator_blank_line(
        self, tmp_path: Path
    ) -> None:
        originals = [message(n).as_bytes() for n in range(3)]
        path = tmp_path / "plain.mbox"
        path.write_bytes(
            b"".join(
                b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + o + b"\n" for o in originals
            )
        )
        assert [raw for _, raw in iter_archive(path)] == originals

    def test_gzip_mbox_reads_the_same_as_plain(self, tmp_path: Path) -> None:
        bodies = [f"message {n}\nFrom here on\n" for n in range(5)]
        plain = make_mbox(tmp_path / "a.mbox", bodies)
        expected = [raw for _, raw in iter_archive(plain)]
        packed = gzipped(make_mbox(tmp_path / "b.mbox", bodies))

        assert [raw for _, raw in iter_archive(packed)] == expected
        assert count_messages(packed) == 5
        assert next(iter(iter_archive(packed)))[0] == f"{packed}#1"

    def test_crlf_mbox(self, tmp_path: Path) -> None:
        path = tmp_path / "crlf.mbox"
        path.write_bytes(
            b"From x Mon Jan  1 00:00:00 2001\r\nSubject: one\r\n\r\n>From a\r\n\r\n"
            b"From x Mon Jan  1 00:00:00 2001\r\nSubject: two\r\n\r\nb\r\n"
        )
        found = [raw for _, raw in iter_archive(path)]
        assert found == [b"Subject: one\r\n\r\nFrom a\r\n", b"Subject: two\r\n\r\nb\r\n"]
        assert count_messages(path) == 2

    def test_a_from_inside_a_very_long_line_does_not_split_the_message(
        self, tmp_path: Path
    ) -> None:
        line = b"x" * 65_536 + b"From here on the line goes on\n"
        first = b"Subject: long\n\n" + line
        path = tmp_path / "long.mbox"
        path.write_bytes(b"From a\n" + first + b"\nFrom b\nSubject: short\n\nhi\n")
        assert [raw for _, raw in iter_archive(path)] == [first, b"Subject: short\n\nhi\n"]
        assert count_messages(path) == 2

    def test_an_oversized_message_is_cut_so_the_parser_reads_headers_only(
        self, tmp_path: Path
    ) -> None:
        path = make_mbox(tmp_path / "big.mbox", ["y" * 5000 + "\n", "small\n"])
        found = [raw for _, raw in iter_archive(path, max_bytes=1000)]
        assert 1000 < len(found[0]) < 1200
        assert parse_message(found[1]).body_text == "small\n"


class TestMaildir:
    def test_cur_new_and_maildir_plus_plus_folders_but_not_tmp(self, tmp_path: Path) -> None:
        root = tmp_path / "Maildir"
        box = mailbox.Maildir(root)
        box.add(message(1))
        sent = box.add_folder("Sent")
        sent.add(message(2))
        entry = mailbox.MaildirMessage(message(3))
        entry.set_subdir("cur")
        box.add(entry)
        (root / "tmp" / "partial").write_bytes(b"Subject: unfinished\r\n\r\n")

        assert sorted(subjects(root)) == ["message 1", "message 2", "message 3"]
        assert count_messages(root) == 3


class TestFilesAndFolders:
    def test_a_single_eml_file(self, tmp_path: Path) -> None:
        path = tmp_path / "one.eml"
        path.write_bytes(message(7).as_bytes())
        assert list(iter_archive(path)) == [(str(path), message(7).as_bytes())]
        assert count_messages(path) == 1

    def test_a_folder_of_everything_recursively(self, tmp_path: Path) -> None:
        (tmp_path / "emls").mkdir()
        for n in (1, 2):
            (tmp_path / "emls" / f"{n}.eml").write_bytes(message(n).as_bytes())
        (tmp_path / "emls" / "README.txt").write_text("not mail")
        nested = tmp_path / "archives" / "2001"
        nested.mkdir(parents=True)
        gzipped(make_mbox(nested / "old.mbox", ["a\n", "b\n"]))
        make_mbox(tmp_path / "archives" / "Sent", ["c\n"])
        mailbox.Maildir(tmp_path / "maildir").add(message(9))
        hidden = tmp_path / ".cache"
        hidden.mkdir()
        (hidden / "x.eml").write_bytes(message(99).as_bytes())

        found = subjects(tmp_path)

        assert found == [
            "message 0",
            "message 1",
            "message 0",
            "message 1",
            "message 2",
            "message 9",
        ]
        assert count_messages(tmp_path) == len(found)

    def test_numbered_files_of_an_mh_folder_or_the_enron_maildir_are_messages(
        self, tmp_path: Path
    ) -> None:
        sent = tmp_path / "allen-p" / "sent_items"
        sent.mkdir(parents=True)
        for n in (1, 2, 10):
            (sent / f"{n}.").write_bytes(message(n).as_bytes())
        (sent / "3").write_bytes(gzip.compress(message(3).as_bytes()))
        (sent / "README").write_text("Sent mail of Phillip Allen, 2000-2001.\n")
        (sent / "notes").write_text("Note: not mail\n\nsee the other folder\n")
        (sent / "list.csv").write_text("name,email\nann,ann@example.org\n")

        found = subjects(tmp_path)

        assert sorted(found) == ["message 1", "message 10", "message 2", "message 3"]
        assert count_messages(tmp_path) == 4

    def test_a_symlink_loop_is_walked_once(self, tmp_path: Path) -> None:
        (tmp_path / "a").mkdir()
        (tmp_path / "a" / "m.eml").write_bytes(message(1).as_bytes())
        (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
        assert subjects(tmp_path) == ["message 1"]

    def test_a_missing_path_is_an_error(self, tmp_path: Path) -> None:
        with pytest.raises(ArchiveError, match="no such file"):
            list(iter_archive(tmp_path / "nope.mbox"))

    def test_a_corrupt_gzip_is_an_error_naming_the_file(self, tmp_path: Path) -> None:
        good = gzipped(make_mbox(tmp_path / "x.mbox", ["a\n"] * 50))
        data = good.read_bytes()
        good.write_bytes(data[: len(data) // 2])
        with pytest.raises(ArchiveError, match=r"x\.mbox\.gz"):
            list(iter_archive(good))


class TestWhatLooksLikeAMessage:
    def test_a_header_block_with_a_sender_or_date(self) -> None:
        assert looks_like_message(message(1).as_bytes())
        assert looks_like_message(b"Date: Mon, 4 Dec 2000 02:13:00 -0800\r\nX-A: b\r\n\r\nhi")

    def test_folded_fields_and_a_header_block_longer_than_what_was_read(self) -> None:
        folded = b"Received: from a\n\tby b\nTo: x@example.org,\n y@example.org\n\nbody"
        assert looks_like_message(folded)
        long_block = b"From: a@example.org\n" + b"X-Long: " + b"x" * 5000
        assert looks_like_message(long_block[:4096])

    def test_not_text_that_only_starts_like_a_field(self) -> None:
        assert not looks_like_message(b"Note: call Bob\n\nabout the thing")
        assert not looks_like_message(b"name,email\nann,ann@example.org\n")
        assert not looks_like_message(b"From: a@example.org\nthis line is prose\n\n")
        assert not looks_like_message(b"\nFrom: a@example.org\n\nbody")
        assert not looks_like_message(b"")
