"""Which paths the evaluation takes for one person's mail each."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

from missend.evaluation.clean import archives_in


def _message(n: int) -> bytes:
    m = EmailMessage()
    m["From"] = "alice@example.org"
    m["To"] = f"r{n}@example.org"
    m["Subject"] = f"message {n}"
    m.set_content("hello\n")
    return m.as_bytes()


def _mbox(path: Path) -> Path:
    box = mailbox.mbox(path)
    box.add(mailbox.mboxMessage(_message(0)))
    box.close()
    return path


def test_a_folder_of_mboxes_is_one_archive_per_mbox(tmp_path: Path) -> None:
    a, b = _mbox(tmp_path / "allen-p.mbox"), _mbox(tmp_path / "bass-e.mbox")
    assert archives_in([tmp_path]) == [a, b]


def test_a_folder_of_single_message_files_is_one_archive(tmp_path: Path) -> None:
    for n in (1, 2, 10):
        (tmp_path / f"{n}.").write_bytes(_message(n))
    (tmp_path / "notes.txt").write_text("kept by hand\n")
    (tmp_path / "3.eml").write_bytes(_message(3))
    assert archives_in([tmp_path]) == [tmp_path]


def test_a_folder_of_folders_is_one_archive_per_folder(tmp_path: Path) -> None:
    for person in ("allen-p", "bass-e"):
        (tmp_path / person).mkdir()
        (tmp_path / person / "1.").write_bytes(_message(1))
    assert archives_in([tmp_path]) == [tmp_path / "allen-p", tmp_path / "bass-e"]
    assert archives_in([tmp_path / "allen-p"]) == [tmp_path / "allen-p"]


def test_a_maildir_is_one_archive(tmp_path: Path) -> None:
    mailbox.Maildir(tmp_path / "box").add(_message(1))
    assert archives_in([tmp_path / "box"]) == [tmp_path / "box"]
