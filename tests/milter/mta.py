"""The MTA's side of the milter protocol, as Postfix speaks it, for driving the milter without one."""

from __future__ import annotations

import struct

from missend.milter import protocol as p
from missend.milter.headers import split_fields

ALL_ACTIONS = 0x1FF
ALL_STEPS = 0x1FFFFF


def offer(version: int = 6, actions: int = ALL_ACTIONS, steps: int = ALL_STEPS) -> bytes:
    return p.packet(p.OPTNEG, struct.pack(">III", version, actions, steps))


def options(answer: bytes) -> tuple[int, int, int, dict[int, bytes]]:
    """The milter's negotiation answer: version, actions, steps and the macros asked per stage."""
    [(command, data)], _ = p.split(answer)
    assert command == p.OPTNEG
    version, actions, steps = struct.unpack_from(">III", data)
    rest = data[12:]
    stages = {}
    while rest:
        (stage,) = struct.unpack_from(">I", rest)
        names, _, rest = rest[4:].partition(b"\0")
        stages[stage] = names
    return version, actions, steps, stages


def message(raw: bytes, mail_from: str, rcpts: list[str], queue_id: str = "4F2A1B3C9D") -> bytes:
    """The packets for one message; header values folded with bare LF, as Postfix sends them."""
    out = [p.packet(p.MAIL, f"<{mail_from}>".encode() + b"\0SIZE=100\0")]
    out += [p.packet(p.RCPT, f"<{rcpt}>".encode() + b"\0") for rcpt in rcpts]
    for name, value in split_fields(raw):
        out.append(
            p.packet(p.HEADER, name.encode() + b"\0" + value.replace(b"\r\n", b"\n") + b"\0")
        )
    body = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1].replace(b"\n", b"\r\n")
    for start in range(0, len(body), 65535):
        out.append(p.packet(p.BODY, body[start : start + 65535]))
    out.append(p.packet(p.MACRO, b"Ei\0" + queue_id.encode() + b"\0"))
    out.append(p.packet(p.BODYEOB))
    return b"".join(out)


def replies(answer: bytes) -> list[tuple[bytes, bytes]]:
    found, used = p.split(answer)
    assert used == len(answer), "a reply was cut short"
    return found


def edits(answer: bytes) -> list[tuple[str, ...]]:
    """Header actions in the answer, as ("add", name, value) or ("change", name, index, value)."""
    out: list[tuple[str, ...]] = []
    for command, data in replies(answer):
        if command == p.ADDHEADER:
            name, value = p.strings(data)
            out.append(("add", name.decode(), value.decode()))
        elif command == p.CHGHEADER:
            (index,) = struct.unpack_from(">I", data)
            name, value = [*p.strings(data[4:]), b""][:2]
            out.append(("change", name.decode(), str(index), value.decode()))
        elif command == p.QUARANTINE:
            out.append(("quarantine", p.strings(data)[0].decode()))
    return out


def verdict(answer: bytes) -> tuple[bytes, str]:
    """The final reply: its command and, for a custom SMTP reply, the reply text."""
    command, data = replies(answer)[-1]
    return command, data.rstrip(b"\0").decode() if command == p.REPLYCODE else ""
