"""RFC 5322 bytes (and an optional SMTP envelope) to a `Message`.

The compat32 policy is used on the hot path: it parses about five times faster than
`policy.default`, and the few headers that need decoding are decoded here explicitly. Parsing
never raises on bad input; whatever could not be read becomes a `Defect` on the message.
"""

from __future__ import annotations

import email.message
import re
from collections.abc import Iterable
from datetime import datetime
from email import policy as email_policy
from email.errors import MessageError
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

from missend.message.addresses import decode_words, normalize_email, parse_addresses
from missend.message.attachments import extract
from missend.message.limits import Limits
from missend.message.model import Address, Attachment, Defect, Field, Message, Recipient
from missend.message.readers.plain import decode_text
from missend.message.text import html_to_text

_MSGID = re.compile(r"<[^<>\s]{1,500}>")
_COMPAT32 = email_policy.compat32
_PARSER = BytesParser(policy=_COMPAT32)
_BLANK_LINE = re.compile(rb"\n\r?\n")
_NESTED = ("multipart", "message")
_LIMITS = Limits()
_CACHED = 200
"""Longest header value whose parsed parameters are kept: typical values are far shorter, and a
crafted one must not fill memory."""


_CONTENT_DEFECTS = frozenset(
    {
        "StartBoundaryNotFoundDefect",
        "CloseBoundaryNotFoundDefect",
        "NoBoundaryInMultipartDefect",
        "MultipartInvariantViolationDefect",
        "InvalidBase64PaddingDefect",
        "InvalidBase64CharactersDefect",
        "InvalidBase64LengthDefect",
    }
)


_HEADER_LINE = re.compile(r"[\041-\071\073-\176]+:")
_UNUSUAL_BREAK = re.compile(rb"[\x0b\x0c\x1c-\x1e]|\r(?!\n)|\n(?:From |:)")
"""Line breaks other than LF and CRLF, and lines the parser treats specially after the first."""


def _header_block(block: bytes) -> email.message.Message | None:
    """The headers `BytesParser(policy=compat32)` reads from a block of ordinary header lines
    ending in a blank line, without its line-by-line machinery; None for anything unusual.

    Each header is still made by the policy's own `header_source_parse`; only the splitting into
    lines, which the parser does one line at a time through a buffer, is done here at once."""
    if _UNUSUAL_BREAK.search(block):
        return None
    lines = block.decode("ascii", "surrogateescape").splitlines(keepends=True)
    msg = email.message.Message(policy=_COMPAT32)
    if lines[0].startswith("From "):
        msg.set_unixfrom(lines.pop(0).rstrip("\r\n"))
    current: list[str] = []
    for line in lines[:-1]:
        if line[0] in " \t":
            if not current:
                return None
            current.append(line)
        elif _HEADER_LINE.match(line):
            if current:
                msg.set_raw(*_COMPAT32.header_source_parse(current))
            current = [line]
        else:
            return None
    if current:
        msg.set_raw(*_COMPAT32.header_source_parse(current))
    return msg


def _parse(raw: bytes) -> email.message.Message:
    """`_PARSER.parsebytes(raw)`, at less than half the cost for a message that is not multipart.

    The parser reads a body line by line only to end up joining the lines into the payload, so
    only the header block is read (by `_header_block` when its lines are ordinary, else by the
    parser) and the body is made the payload in one piece. When the parser does not end its
    headers exactly at the first blank line (a line it cannot read as a header, or another line
    break), or the message has parts, the whole message is parsed.
    """
    blank = _BLANK_LINE.search(raw)
    if blank is not None:
        end = blank.end()
        msg = _header_block(raw[:end])
        if msg is None:
            msg = _PARSER.parsebytes(raw[:end], headersonly=True)
        ctype = _content_type(msg, _first_values(msg)[0])
        if not msg.get_payload() and ctype.partition("/")[0] not in _NESTED:
            msg.set_payload(raw[end:].decode("ascii", "surrogateescape"))
            return msg
    return _PARSER.parsebytes(raw)


def _structural_defects(msg: email.message.Message) -> list[Defect]:
    """Parser defects that mean content may be missing; cosmetic header defects are ignored."""
    found: dict[str, None] = {}
    for part in msg.walk() if msg.is_multipart() else [msg]:
        for defect in getattr(part, "defects", []):
            name = type(defect).__name__
            if name in _CONTENT_DEFECTS:
                found[name.removesuffix("Defect")] = None
    return [Defect("message", f"malformed MIME ({name})") for name in found]


def _unescape(value: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogates; most such headers are UTF-8."""
    if value.isascii():
        return value
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # already decoded text (an RFC 2231 filename) beside raw bytes
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeError:
        return raw.decode("latin-1")


_LISTED = frozenset({"from", "sender", "reply-to", "to", "cc", "bcc", "subject", "references"})
_FETCHED = frozenset({"message-id", "in-reply-to", "date"})


def _headers(msg: email.message.Message) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Every value of the headers read as lists, and the first of those read as `msg.get`
    reads them (through the policy), in one pass over the headers rather than one per name."""
    listed: dict[str, list[str]] = {}
    fetched: dict[str, Any] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key in _LISTED:
            if isinstance(value, str):
                listed.setdefault(key, []).append(_unescape(value))
        elif key in _FETCHED and key not in fetched:
            fetched[key] = msg.policy.header_fetch_parse(name, value)
    return listed, fetched


def _ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(m.lower() for m in _MSGID.findall(str(value)))


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None


def _first_values(part: email.message.Message) -> tuple[Any, Any]:
    """The first Content-Type and Content-Disposition values as written, read in one pass.

    `part.get` would read each through the policy, which turns a value with 8-bit bytes into a
    `Header` object that string methods do not work on; and the parameter parsing behind
    `get_content_type`, `get_content_charset` and `get_filename` costs more than the rest of a
    part's handling while a handful of values serve almost all mail, so each value's answers are
    kept (see `_content_type_of`)."""
    ctype = disposition = None
    for name, value in part.raw_items():
        key = name.lower()
        if key == "content-type":
            if ctype is None:
                ctype = value
        elif key == "content-disposition" and disposition is None:
            disposition = value
    return ctype, disposition


def _content_type(part: email.message.Message, value: Any) -> str:
    """`part.get_content_type()`, given the part's first Content-Type value."""
    if value is None:
        return part.get_default_type()
    if isinstance(value, str) and len(value) <= _CACHED:
        return _content_type_of(value)
    return part.get_content_type()


@lru_cache(maxsize=1024)
def _content_type_of(content_type: str) -> str:
    return _holder(("Content-Type", content_type)).get_content_type()


def _holder(*fields: tuple[str, str | None]) -> email.message.Message:
    """A bare message with just these header values (None: left out), to ask the stdlib about."""
    holder = email.message.Message(policy=_COMPAT32)
    for name, value in fields:
        if value is not None:
            holder.set_raw(name, value)
    return holder


def _part_text(part: email.message.Message, ctype: Any) -> tuple[str, str | None]:
    """The part's text and, when its words may be garbled, why (see `decode_text`)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return "", None
    return decode_text(payload, _charset(part, ctype))


def _charset(part: email.message.Message, value: Any) -> str | None:
    """`part.get_content_charset()`, given the part's first Content-Type value."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) <= _CACHED:
        return _charset_of(value)
    return part.get_content_charset()


@lru_cache(maxsize=1024)
def _charset_of(content_type: str) -> str | None:
    return _holder(("Content-Type", content_type)).get_content_charset()


def _filename(part: email.message.Message, ctype: Any, disposition: Any) -> str:
    # get_filename reads only these two values' `filename` and `name` parameters
    if "name" not in str(disposition or "").lower() and "name" not in str(ctype or "").lower():
        return ""
    named = part
    if isinstance(ctype, str | None) and isinstance(disposition, str | None):
        # raw 8-bit bytes made text first: through the policy they would become U+FFFD
        named = _holder(
            ("Content-Type", ctype and _unescape(ctype)),
            ("Content-Disposition", disposition and _unescape(disposition)),
        )
    try:
        name = named.get_filename()
    except (ValueError, TypeError, LookupError):
        return ""
    return decode_words(_unescape(str(name))) if name else ""


def _recipients(headers: dict[str, list[str]], envelope_to: Iterable[str]) -> tuple[Recipient, ...]:
    out: dict[str, Recipient] = {}
    for header, field in (("to", Field.TO), ("cc", Field.CC), ("bcc", Field.BCC)):
        for address in parse_addresses(headers.get(header, [])):
            out.setdefault(address.email, Recipient(address, field))
    for raw in envelope_to:
        email = normalize_email(raw)
        if email and email not in out:
            out[email] = Recipient(Address(email), Field.ENVELOPE)
    return tuple(out.values())


def _walk_body(
    msg: email.message.Message, limits: Limits
) -> tuple[str, tuple[Attachment, ...], tuple[Defect, ...]]:
    texts: list[str] = []
    attachments: list[Attachment] = []
    defects: list[Defect] = []
    budget = limits.max_total_text_chars
    for index, part in enumerate(msg.walk()):
        if index >= limits.max_parts:
            defects.append(Defect("message", f"more than {limits.max_parts} MIME parts"))
            break
        if part.is_multipart():
            continue
        ctype_value, disposition_value = _first_values(part)
        ctype = _content_type(part, ctype_value)
        filename = _filename(part, ctype_value, disposition_value)
        disposition = str(disposition_value or "").split(";")[0].strip().lower()
        is_attachment = (
            bool(filename)
            or disposition == "attachment"
            or not (ctype.startswith("text/") or ctype == "message/rfc822")
        )
        if ctype in ("text/plain", "text/html") and not is_attachment:
            text, problem = _part_text(part, ctype_value)
            if problem:
                defects.append(Defect("body", problem))
            if ctype == "text/html":
                text = html_to_text(text)
            texts.append(text[:budget])
            budget -= min(len(text), budget)
            continue
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        label = filename or ctype
        if len(payload) > limits.max_attachment_bytes:
            attachments.append(
                Attachment(
                    filename, ctype, len(payload), truncated=True, error="too large to inspect"
                )
            )
            defects.append(Defect(f"attachment:{label}", "too large to inspect"))
            continue
        got = extract(filename, ctype, payload, limits)
        text = got.text[: max(budget, 0)]
        budget -= len(text)
        attachments.append(
            Attachment(filename, ctype, len(payload), text, got.records, got.truncated, got.error)
        )
        if got.error and got.error != "file type not inspected":
            defects.append(Defect(f"attachment:{label}", got.error))
    return "\n".join(texts), tuple(attachments), tuple(defects)


def parse_message(
    raw: bytes,
    envelope_from: str | None = None,
    envelope_to: Iterable[str] = (),
    limits: Limits | None = None,
    headers_only: bool = False,
) -> Message:
    """Parse one message; any part that cannot be read is recorded as a defect, never raised."""
    limits = limits or _LIMITS
    envelope_to = tuple(envelope_to)
    defects: list[Defect] = []
    oversized = len(raw) > limits.max_message_bytes
    if oversized:
        defects.append(
            Defect("message", f"larger than {limits.max_message_bytes} bytes; body not inspected")
        )
    unparsed = False
    try:
        if headers_only or oversized:
            msg = _PARSER.parsebytes(raw[: limits.max_header_bytes], headersonly=True)
        else:
            msg = _parse(raw)
    except (MessageError, ValueError, TypeError, IndexError, RecursionError) as exc:
        unreadable = Defect("message", f"could not be parsed ({type(exc).__name__})")
        try:
            # e.g. multiparts nested thousands deep: keep the headers so recipients are still checked
            msg = _PARSER.parsebytes(raw[: limits.max_header_bytes], headersonly=True)
        except (MessageError, ValueError, TypeError, IndexError, RecursionError):
            return Message(
                recipients=tuple(
                    Recipient(Address(normalize_email(r)), Field.ENVELOPE) for r in envelope_to
                ),
                envelope_from=normalize_email(envelope_from) if envelope_from else None,
                defects=(unreadable,),
                size=len(raw),
            )
        defects.append(unreadable)
        unparsed = True
    defects.extend(_structural_defects(msg))
    body = ""
    attachments: tuple[Attachment, ...] = ()
    part_defects: tuple[Defect, ...] = ()
    if not (headers_only or oversized or unparsed):
        try:
            body, attachments, part_defects = _walk_body(msg, limits)
        except (
            MessageError,
            ValueError,
            TypeError,
            LookupError,
            RecursionError,
            AssertionError,
        ) as exc:
            defects.append(Defect("body", f"could not be read ({type(exc).__name__})"))
    listed, fetched = _headers(msg)
    sender_values = parse_addresses(listed.get("sender", []))
    return Message(
        from_=parse_addresses(listed.get("from", [])),
        sender_header=sender_values[0] if sender_values else None,
        reply_to=parse_addresses(listed.get("reply-to", [])),
        recipients=_recipients(listed, envelope_to),
        envelope_from=normalize_email(envelope_from) if envelope_from else None,
        subject=" ".join(decode_words(" ".join(listed.get("subject", []))).split()),
        message_id=next(iter(_ids(fetched.get("message-id"))), None),
        in_reply_to=_ids(fetched.get("in-reply-to")),
        references=_ids(" ".join(listed.get("references", []))),
        date=_date(fetched.get("date")),
        body_text=body,
        attachments=attachments,
        defects=tuple(defects) + tuple(part_defects),
        size=len(raw),
        headers_only=headers_only,
    )
