"""The milter protocol (version 6) on the wire: packets, option negotiation, commands and replies.

Spoken directly rather than through libmilter: libmilter serves each MTA connection on its own
thread and calls into Python for every header line and body chunk, so under load the checks spent
more time handing the GIL between those threads than deciding (README_milter). The protocol is
small: every packet is a 4-byte big-endian length, one command byte and its data; strings are
NUL-terminated. The constants keep libmilter's names (mfdef.h) so they can be looked up there.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

VERSION = 6
MAX_PACKET = 4 * 1024 * 1024
"""Larger than anything Postfix or Sendmail sends (body chunks are at most 64 KiB, a header
field 100 KiB by default); a longer length is a broken or hostile peer."""

# Commands, MTA to milter.
OPTNEG = b"O"
MACRO = b"D"
CONNECT = b"C"
HELO = b"H"
MAIL = b"M"
RCPT = b"R"
DATA = b"T"
HEADER = b"L"
EOH = b"N"
BODY = b"B"
BODYEOB = b"E"
ABORT = b"A"
QUIT = b"Q"
QUIT_NC = b"K"
UNKNOWN = b"U"

# Replies, milter to MTA.
CONTINUE = b"c"
ACCEPT = b"a"
REJECT = b"r"
TEMPFAIL = b"t"
REPLYCODE = b"y"
ADDHEADER = b"h"
CHGHEADER = b"m"
QUARANTINE = b"q"

# Actions the milter may take (SMFIF_*).
ADDHDRS = 0x01
CHGHDRS = 0x10
QUARANTINE_ACTION = 0x20
SETSYMLIST = 0x100

# Protocol steps the milter does not want (SMFIP_NO*) or will not answer (SMFIP_NR_*).
NOCONNECT = 0x1
NOHELO = 0x2
NOMAIL = 0x4
NORCPT = 0x8
NOBODY = 0x10
NOHDRS = 0x20
NOEOH = 0x40
NR_HDR = 0x80
NOUNKNOWN = 0x100
NODATA = 0x200
NR_CONN = 0x1000
NR_HELO = 0x2000
NR_MAIL = 0x4000
NR_RCPT = 0x8000
NR_DATA = 0x10000
NR_UNKN = 0x20000
NR_EOH = 0x40000
NR_BODY = 0x80000

# Macro stages for the symbol list (SMFIM_*).
STAGES = {CONNECT: 0, HELO: 1, MAIL: 2, RCPT: 3, DATA: 4, BODYEOB: 5, EOH: 6}

NO_REPLY = {
    CONNECT: NR_CONN,
    HELO: NR_HELO,
    MAIL: NR_MAIL,
    RCPT: NR_RCPT,
    DATA: NR_DATA,
    UNKNOWN: NR_UNKN,
    EOH: NR_EOH,
    HEADER: NR_HDR,
    BODY: NR_BODY,
}
"""The flag that spares the MTA waiting for an answer to each command."""


class ProtocolError(Exception):
    """The peer broke the protocol; the only safe answer is to close the connection."""


_LENGTH = struct.Struct(">I")
_OPTIONS = struct.Struct(">III")


def packet(command: bytes, data: bytes = b"") -> bytes:
    """One packet as it goes on the wire."""
    return _LENGTH.pack(len(data) + 1) + command + data


def length(header: bytes) -> int:
    """The size of the command byte and data that follow a 4-byte length header."""
    (size,) = _LENGTH.unpack(header)
    if not 1 <= size <= MAX_PACKET:
        raise ProtocolError(f"a packet of {size} bytes")
    return int(size)


def split(data: bytes | bytearray) -> tuple[list[tuple[bytes, bytes]], int]:
    """The whole packets at the start of `data` as (command, data), and the bytes they took."""
    found = []
    start = 0
    while len(data) - start >= 4:
        end = start + 4 + length(bytes(data[start : start + 4]))
        if len(data) < end:
            break
        found.append((bytes(data[start + 4 : start + 5]), bytes(data[start + 5 : end])))
        start = end
    return found, start


def strings(data: bytes) -> list[bytes]:
    """The NUL-terminated strings a command carries (an unterminated last one is kept too)."""
    parts = data.split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    return parts


def macros(data: bytes) -> tuple[bytes, dict[str, str]]:
    """A macro packet: the command it belongs to and its name/value pairs, names without braces."""
    if not data:
        raise ProtocolError("a macro packet without its command")
    parts = strings(data[1:])
    values = {}
    for name, value in zip(parts[::2], parts[1::2], strict=False):
        values[name.decode("ascii", "replace").strip("{}")] = value.decode("utf-8", "replace")
    return data[:1], values


@dataclass(frozen=True, slots=True)
class Options:
    """What both sides agreed: the actions the milter may take and the steps the MTA skips."""

    version: int
    actions: int
    protocol: int

    def answers(self, command: bytes) -> bool:
        """Whether the MTA waits for a reply to this command."""
        flag = NO_REPLY.get(command)
        return flag is None or not self.protocol & flag

    def allows(self, action: int) -> bool:
        return bool(self.actions & action)


def negotiate(
    data: bytes, actions: int, protocol: int, symbols: Mapping[bytes, Sequence[str]]
) -> tuple[Options, bytes]:
    """Agree on options with the MTA's offer in `data`; the options and the reply packet.

    The milter gets the actions it wants that the MTA offers, and skips the steps it does not want
    that the MTA can skip. Each stage in `symbols` gets exactly those macros (none for an empty
    list), if the MTA lets the milter choose.
    """
    if len(data) < _OPTIONS.size:
        raise ProtocolError("an option negotiation without its three numbers")
    version, offered_actions, offered_protocol = _OPTIONS.unpack_from(data)
    if version < 2:
        raise ProtocolError(f"milter protocol version {version} is too old")
    agreed = Options(min(version, VERSION), actions & offered_actions, protocol & offered_protocol)
    reply = _OPTIONS.pack(agreed.version, agreed.actions, agreed.protocol)
    if agreed.version >= 6 and offered_actions & SETSYMLIST:
        for command, names in symbols.items():
            reply += _LENGTH.pack(STAGES[command]) + " ".join(names).encode("ascii") + b"\0"
    return agreed, packet(OPTNEG, reply)


def reply_code(code: str, xcode: str, lines: Sequence[str]) -> bytes:
    """A custom SMTP reply, multi-line as libmilter's smfi_setmlreply writes it."""
    rows = [f"{code}-{xcode} {line}" for line in lines[:-1]] + [f"{code} {xcode} {lines[-1]}"]
    return packet(REPLYCODE, "\r\n".join(rows).encode("utf-8") + b"\0")


def add_header(name: str, value: str) -> bytes:
    return packet(ADDHEADER, name.encode("ascii") + b"\0" + value.encode("utf-8") + b"\0")


def change_header(name: str, index: int, value: str) -> bytes:
    """Change the `index`-th field called `name` (1-based); an empty value deletes it."""
    data = _LENGTH.pack(index) + name.encode("ascii") + b"\0" + value.encode("utf-8") + b"\0"
    return packet(CHGHEADER, data)


def quarantine(reason: str) -> bytes:
    return packet(QUARANTINE, reason.encode("utf-8") + b"\0")
