"""Replaying an archive reads each message once, in date order."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from missend.learning.replay import load


def _message(
    subject: str,
    date: str,
    message_id: str,
    to: str = "bob@example.org",
    text: str = "hello\n",
) -> bytes:
    m = EmailMessage()
    m["From"] = "alice@example.org"
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = date
    m["Message-ID"] = message_id
    m.set_content(text)
    return m.as_bytes()


def _write(folder: Path, name: str, raw: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(raw)


def test_messages_come_in_date_order_whatever_the_files_are_named(tmp_path: Path) -> None:
    _write(tmp_path, "1.", _message("later", "Tue, 2 Jan 2001 10:00:00 +0000", "<b@x>"))
    _write(tmp_path, "2.", _message("earlier", "Mon, 1 Jan 2001 10:00:00 +0000", "<a@x>"))
    assert [m.subject for m in load(tmp_path)] == ["earlier", "later"]


def test_a_copy_with_the_same_message_id_in_another_folder_is_read_once(tmp_path: Path) -> None:
    raw = _message("budget", "Mon, 1 Jan 2001 10:00:00 +0000", "<a@x>")
    _write(tmp_path / "sent", "1.", raw)
    _write(tmp_path / "archive", "7.", raw)
    assert [m.subject for m in load(tmp_path)] == ["budget"]


def test_a_copy_exported_with_its_own_message_id_is_read_once(tmp_path: Path) -> None:
    date = "Mon, 1 Jan 2001 10:00:00 +0000"
    _write(tmp_path / "sent", "1.", _message("budget", date, "<a.1@thyme>"))
    _write(tmp_path / "_sent_mail", "1.", _message("budget", date, "<a.2@thyme>"))
    assert len(load(tmp_path)) == 1


def test_the_same_subject_sent_again_or_to_someone_else_is_another_message(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "1.", _message("weekly", "Mon, 1 Jan 2001 10:00:00 +0000", "<a@x>"))
    _write(tmp_path, "2.", _message("weekly", "Mon, 8 Jan 2001 10:00:00 +0000", "<b@x>"))
    _write(
        tmp_path,
        "3.",
        _message("weekly", "Mon, 8 Jan 2001 10:00:00 +0000", "<c@x>", to="carol@example.org"),
    )
    assert len(load(tmp_path)) == 3


def test_two_forwards_sent_in_the_same_minute_are_two_messages(tmp_path: Path) -> None:
    date = "Mon, 1 Jan 2001 10:00:00 +0000"
    _write(tmp_path, "1.", _message("Fw: list", date, "<a@x>", text="David's list\n"))
    _write(tmp_path, "2.", _message("Fw: list", date, "<b@x>", text="Janet's list\n"))
    assert len(load(tmp_path)) == 2
