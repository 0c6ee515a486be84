"""The embedded learning pipeline, made fast: split archives by block, parse only what learning reads.

`missend learn` spends its time in three places: splitting the mbox, parsing each message, and the
store's observe-and-write. The store is untouched here (it is the one learning logic). The two
stages before it are rebuilt so that the store receives, in the same order, messages equal in every
field learning reads:

- `split_mbox` finds `From ` separators with `bytes.find` over megabyte blocks instead of one
  Python step per line, and yields exactly the bytes `archive.iter_archive` yields (mboxrd
  unquoting, the cut of oversized messages and all); it can also read only the messages whose
  separator lies in a byte range, which is how Spark tasks share one large mbox.
- `learning_message` parses the header block alone and, for the common single-part message, decodes
  the body with the parser's own part logic; anything else (multipart, message/*, oversized,
  unusual header blocks) goes through `parse_message`. Attachments are not read: no part of a
  sender's history comes from them.
- `parsed` can spread the parsing over worker processes, handing the messages back in archive
  order. Measured on two cores with SQLite it saves no time: the hand-over costs about what the
  parse does, and the store's work stays in the one process. So `missend learn` parses in-process,
  and more cores are used by `--engine spark` (which also writes in parallel).
"""

from __future__ import annotations

import email.message
import io
import multiprocessing
import re
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import IO, Any

from missend.history.archive import ArchiveError, _open, _sources
from missend.history.store import LearnReport, Store
from missend.history.terms import READ_CHARS
from missend.message import Limits, Message, parse_message
from missend.message.addresses import decode_words, normalize_email, parse_addresses
from missend.message.model import Address, Field, Recipient
from missend.message.parse import (
    _PARSER,
    _content_type,
    _date,
    _filename,
    _first_values,
    _header_block,
    _ids,
    _part_text,
    _unescape,
)
from missend.message.text import html_to_text

_SEPARATOR = b"From "
_PIECE = 1 << 16
"""Bytes per `readline` in `archive._pieces`: where a long line is cut into pieces."""
_BLOCK = 1 << 20
_ESCAPED_LINE = re.compile(rb"(?m)^>(>{0,65530}From )")
"""A quoted `From ` at a line start, within the first piece of its line (as `archive._ESCAPED`)."""
_ESCAPED_PIECE = re.compile(rb">+From ")
_BLANK_LINE = re.compile(rb"\n(?:\r\n|\n)")
_LIMITS = Limits()
_CACHED_HEADER = 2000
_CHUNK = 256
WINDOW = 250_000
"""Messages regrouped by sender at a time (see `by_sender`), held in memory together: about
250 MB of short mail. On 1,000,000 messages of 5,000 interleaved senders, windows of 100,000
(with SQLite's default page cache) learned about a tenth slower in interleaved runs."""
BATCH_SIZE = 10_000
"""Messages per store transaction while learning an archive."""
_OTHER_BODIES = ("multipart", "message")
_FETCHED = frozenset({"message-id", "in-reply-to", "date"})
"""Headers `parse_message` reads through `Message.get` (which may wrap 8-bit values)."""

Packed = tuple[
    tuple[tuple[str, str], ...],
    tuple[str, str] | None,
    tuple[tuple[str, str, str], ...],
    str,
    str | None,
    tuple[str, ...],
    tuple[str, ...],
    datetime | None,
    str,
    int,
]


def _finish(parts: list[bytes]) -> bytes:
    raw = b"".join(parts)
    if raw.endswith(b"\r\n\r\n"):
        return raw[:-2]
    if raw.endswith(b"\n\n"):
        return raw[:-1]
    return raw


def _cut(content: bytes, at_start: bool, max_bytes: int) -> bytes:
    """The piece-by-piece reading of `archive._mbox`, for the rare message longer than the limit."""
    stream = io.BytesIO(content)
    parts: list[bytes] = []
    size = 0
    while size <= max_bytes and (piece := stream.readline(_PIECE)):
        line = piece[1:] if at_start and _ESCAPED_PIECE.match(piece) else piece
        parts.append(line)
        size += len(line)
        at_start = piece.endswith(b"\n")
    return _finish(parts)


def _message(region: bytes, max_bytes: int, whole: bool) -> bytes:
    """A message from its region of the mbox: its separator line, then its content."""
    newline = region.find(b"\n", 0, _PIECE)
    first = newline + 1 if newline >= 0 else min(len(region), _PIECE)
    content = region[first:]
    at_start = region[first - 1 : first] == b"\n"
    if not whole or len(content) > max_bytes:
        return _cut(content, at_start, max_bytes)
    if b">From " not in content:
        return _finish([content])
    if at_start:
        return _finish([_ESCAPED_LINE.sub(rb"\1", content)])
    end = content.find(b"\n") + 1 or len(content)
    return _finish([content[:end], _ESCAPED_LINE.sub(rb"\1", content[end:])])


def _blocks(stream: io.BufferedIOBase | IO[bytes]) -> Iterator[bytes]:
    """Large reads that end at a line end, unless a line is longer than a block."""
    while block := stream.read(_BLOCK):
        if not block.endswith(b"\n"):
            block += stream.readline(_BLOCK)
        yield block


def split_mbox(
    stream: io.BufferedIOBase | IO[bytes],
    max_bytes: int = _LIMITS.max_message_bytes,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[tuple[int, bytes]]:
    """The messages of an mbox stream as (offset of their separator, the bytes `iter_archive` gives).

    With `start`/`stop` (a seekable stream), only messages whose separator begins in that byte
    range; the last of them is read past `stop` to its end. Memory stays under about twice
    `max_bytes` per message, as the line-by-line reader's does.
    """
    keep = 2 * max_bytes + 2 * _PIECE
    at_start = True
    if start:
        stream.seek(start - 1)
        at_start = stream.read(1) == b"\n"
    offset = start
    region: list[bytes] = []
    kept = 0
    whole = True
    begun: int | None = None

    def add(piece: bytes) -> None:
        nonlocal kept, whole
        if kept + len(piece) > keep:
            piece = piece[: max(keep - kept, 0)]
            whole = False
        region.append(piece)
        kept += len(piece)

    for block in _blocks(stream):
        separators = [0] if at_start and block.startswith(_SEPARATOR) else []
        found = block.find(b"\n" + _SEPARATOR)
        while found >= 0:
            separators.append(found + 1)
            found = block.find(b"\n" + _SEPARATOR, found + 1)
        done = 0
        for at in separators:
            if begun is not None:
                add(block[done:at])
                yield begun, _message(b"".join(region), max_bytes, whole)
            if stop is not None and offset + at >= stop:
                return
            begun, region, kept, whole, done = offset + at, [], 0, True, at
        if begun is not None:
            add(block[done:])
        offset += len(block)
        at_start = block.endswith(b"\n")
    if begun is not None:
        yield begun, _message(b"".join(region), max_bytes, whole)


def raw_messages(path: str | Path, max_bytes: int = _LIMITS.max_message_bytes) -> Iterator[bytes]:
    """Every message under `path` in archive order: the same bytes as `iter_archive`, faster."""
    for source in _sources(Path(path), True, set()):
        try:
            with _open(source.path, source.compressed) as stream:
                if not source.mbox:
                    yield stream.read(max_bytes + 1)
                    continue
                for _, raw in split_mbox(stream, max_bytes):
                    yield raw
        except (OSError, EOFError, zlib.error) as exc:
            raise ArchiveError(f"{source.path}: cannot be read ({exc})") from exc


_DOT_ATOM_ADDRESS = r"[A-Za-z0-9_%+-]{1,64}(?:\.[A-Za-z0-9_%+-]{1,64}){0,20}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,20}"
_PLAIN_MAILBOX = re.compile(
    rf" {{0,20}}(?:([A-Za-z0-9][A-Za-z0-9 .'_-]{{0,200}}?) {{0,20}}<({_DOT_ATOM_ADDRESS})>|({_DOT_ATOM_ADDRESS})) {{0,20}}"
)
"""`Name <local@domain>` or `local@domain`, with nothing the RFC 5322 parser would read otherwise:
no quotes, comments, groups, encoded words, escapes or folding."""


def _plain(values: list[str]) -> tuple[Address, ...] | None:
    """The mailboxes of header values written in the plain form, as `parse_addresses` reads them;
    None when any part is not plain (then the full parser decides)."""
    seen: dict[str, Address] = {}
    for value in values:
        if not value:
            continue
        for item in value.split(","):
            match = _PLAIN_MAILBOX.fullmatch(item)
            if match is None:
                return None
            name, bracketed, bare = match.groups()
            email = normalize_email(bracketed or bare)
            if email not in seen:
                seen[email] = Address(email, " ".join((name or "").split()).strip("'\" "))
    return tuple(seen.values())


@lru_cache(maxsize=8192)
def _cached_addresses(values: tuple[str, ...]) -> tuple[Address, ...]:
    return parse_addresses(list(values))


def addresses(values: list[str]) -> tuple[Address, ...]:
    """`parse_addresses`, quicker: archives repeat the same From lines endlessly, and most To and
    Cc lines are plain lists of `Name <address>` that need no RFC 5322 parser."""
    plain = _plain(values)
    if plain is not None:
        return plain
    key = tuple(values)
    if sum(map(len, key)) > _CACHED_HEADER:
        return parse_addresses(values)
    return _cached_addresses(key)


def learning_message(raw: bytes) -> Message:
    """The message as learning reads it: equal to `parse_message(raw)` in sender, recipients,
    subject, ids, date and body text; attachments and defects are left out."""
    if len(raw) > _LIMITS.max_message_bytes:
        return parse_message(raw)
    blank = _BLANK_LINE.search(raw)
    if blank is None:
        return parse_message(raw)
    try:
        msg = _header_block(raw[: blank.end()])
        if msg is None:
            msg = _PARSER.parsebytes(raw[: blank.end()], headersonly=True)
        if msg.get_payload() or msg.get_content_maintype() in _OTHER_BODIES:
            return parse_message(raw)
        msg.set_payload(raw[blank.end() :].decode("ascii", "surrogateescape"))
        body = _single_part_text(msg)
    except Exception:  # whatever the fast path trips on, the full parser settles
        return parse_message(raw)
    values: dict[str, list[str]] = {}
    first: dict[str, Any] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key in _FETCHED and key not in first:
            first[key] = msg.policy.header_fetch_parse(name, value)
        if isinstance(value, str):
            values.setdefault(key, []).append(_unescape(value))
    recipients: dict[str, Recipient] = {}
    for header, field in (("to", Field.TO), ("cc", Field.CC), ("bcc", Field.BCC)):
        for address in addresses(values.get(header, [])):
            recipients.setdefault(address.email, Recipient(address, field))
    sender = addresses(values.get("sender", []))
    return Message(
        from_=addresses(values.get("from", [])),
        sender_header=sender[0] if sender else None,
        recipients=tuple(recipients.values()),
        subject=" ".join(decode_words(" ".join(values.get("subject", []))).split()),
        message_id=next(iter(_ids(first.get("message-id"))), None),
        in_reply_to=_ids(first.get("in-reply-to")),
        references=_ids(" ".join(values.get("references", []))),
        date=_date(first.get("date")),
        body_text=body,
        size=len(raw),
    )


def _single_part_text(msg: email.message.Message) -> str:
    """What `parse._walk_body` makes the body of a message with no parts: its text, or nothing."""
    ctype_value, disposition_value = _first_values(msg)
    ctype = _content_type(msg, ctype_value)
    disposition = str(disposition_value or "").split(";")[0].strip().lower()
    if (
        ctype not in ("text/plain", "text/html")
        or disposition == "attachment"
        or _filename(msg, ctype_value, disposition_value)
    ):
        return ""
    text, _ = _part_text(msg, ctype_value)
    if ctype == "text/html":
        text = html_to_text(text)
    return text[: _LIMITS.max_total_text_chars]


def pack(message: Message) -> Packed:
    """Plain tuples of what learning reads: a tenth of the cost of pickling the dataclasses."""
    return (
        tuple((a.email, a.name) for a in message.from_),
        (message.sender_header.email, message.sender_header.name)
        if message.sender_header
        else None,
        tuple((r.email, r.address.name, r.field.value) for r in message.recipients),
        message.subject,
        message.message_id,
        message.in_reply_to,
        message.references,
        message.date,
        message.body_text,
        message.size,
    )


def unpack(packed: Packed) -> Message:
    from_, sender, recipients, subject, mid, in_reply_to, references, date, body, size = packed
    return Message(
        from_=tuple(Address(e, n) for e, n in from_),
        sender_header=Address(*sender) if sender else None,
        recipients=tuple(Recipient(Address(e, n), Field(f)) for e, n, f in recipients),
        subject=subject,
        message_id=mid,
        in_reply_to=in_reply_to,
        references=references,
        date=date,
        body_text=body,
        size=size,
    )


def _parse_chunk(raws: list[bytes]) -> list[Packed]:
    return [pack(learning_message(raw)) for raw in raws]


def parsed(raws: Iterable[bytes], workers: int = 0) -> Iterator[Message]:
    """Messages in input order, parsed by `workers` processes (none: in this one).

    At most a few chunks per worker are in flight, so memory stays bounded however long the input.
    """
    if workers <= 0:
        yield from map(learning_message, raws)
        return
    source = iter(raws)
    chunks = iter(lambda: list(islice(source, _CHUNK)), [])
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: deque[Future[list[Packed]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_parse_chunk, chunk))
            if len(pending) >= 3 * workers:
                yield from map(unpack, pending.popleft().result())
        while pending:
            yield from map(unpack, pending.popleft().result())


def by_sender(messages: Iterable[Message], window: int = WINDOW) -> Iterator[Message]:
    """Each run of `window` messages regrouped sender by sender, each sender's in archive order.

    Every part of the history belongs to one sender, so only each sender's own order matters to
    what is learned. Grouped, a store batch holds many messages of few senders instead of a few
    messages of many, and the store's per-sender work per batch (reading back the profiles and
    threads it extends, rewriting them) is paid once per sender and window, not per message.
    """
    source = map(_held, messages)
    while True:
        chunk = list(islice(source, window))
        if not chunk:
            return
        chunk.sort(key=_sender_key)
        chunk.reverse()
        while chunk:  # popped, so a window is freed as it is learned, not after the next is read
            yield chunk.pop()


def _held(message: Message) -> Message:
    """The message with only the part of its body learning reads, so a window of long mail costs
    no more memory than one of short."""
    if len(message.body_text) <= READ_CHARS:
        return message
    return replace(message, body_text=message.body_text[:READ_CHARS])


def _sender_key(message: Message) -> str:
    author = message.sender
    return author.email if author else ""


def learn_archive(
    store: Store,
    path: str | Path,
    workers: int = 0,
    progress: Callable[[int], None] | None = None,
    window: int = WINDOW,
    batch_size: int = BATCH_SIZE,
) -> LearnReport:
    """Learn an archive into the store: what `store.learn` over `iter_archive` learns, sooner."""
    kept = store.batch_size
    store.batch_size = batch_size
    try:
        return store.learn(by_sender(parsed(raw_messages(path), workers), window), progress)
    finally:
        store.batch_size = kept
