"""A JSON draft becomes the same RFC 5322 bytes a mail client would send, so the engine, the fixes
and learning all work on one form; and fixes become corrected recipient lists the client can apply.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import replace
from email import headerregistry, policy
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from missend.api.schemas import DraftIn, RecipientLists
from missend.detectors.base import Fix, FixKind
from missend.hold.queue import now
from missend.message.addresses import normalize_email
from missend.message.model import Address, Field, Message, Recipient
from missend.message.parse import parse_message
from missend.rewrite import RecipientChange, rewrite_recipients

_MSGID = re.compile(r"^<[^<>\s]{1,500}>$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DraftError(ValueError):
    """The draft cannot be turned into a message; the text says which field and why."""


def _address(value: str, where: str) -> str:
    if _CONTROL.search(value):
        raise DraftError(f"{where} contains control characters")
    found = [(n, a) for n, a in getaddresses([value]) if a]
    if len(found) != 1 or "@" not in found[0][1]:
        raise DraftError(f"{where} is not one e-mail address")
    name, addr = found[0]
    local, _, domain = addr.rpartition("@")
    if not local or not domain or any(c.isspace() or c in "<>,;" for c in addr):
        raise DraftError(f"{where} is not one e-mail address")
    try:
        if not domain.isascii():
            domain = domain.encode("idna").decode("ascii")
        # headerregistry quotes display names and keeps a UTF-8 local part (SMTPUTF8)
        return str(headerregistry.Address(display_name=name, username=local, domain=domain))
    except (UnicodeError, ValueError, TypeError, IndexError, HeaderParseError) as exc:
        raise DraftError(f"{where} is not an address that can be sent to") from exc


def _msgid(value: str, where: str) -> str:
    if not _MSGID.match(value.strip()):
        raise DraftError(f"{where} must look like <id@host>")
    return value.strip()


def draft_bytes(draft: DraftIn) -> bytes:
    """The draft as a message; raises DraftError naming the first bad field."""
    msg = EmailMessage(policy=policy.SMTPUTF8)
    try:
        msg["From"] = _address(draft.from_, "from")
        for name, values in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
            if values:
                msg[name] = ", ".join(
                    _address(v, f"{name.lower()}[{i}]") for i, v in enumerate(values)
                )
        if not draft.to:
            msg["To"] = "undisclosed-recipients:;"
        if _CONTROL.search(draft.subject):
            raise DraftError("subject contains control characters")
        msg["Subject"] = draft.subject
        msg["Date"] = format_datetime(now())
        if draft.message_id:
            msg["Message-ID"] = _msgid(draft.message_id, "message_id")
        if draft.in_reply_to:
            msg["In-Reply-To"] = _msgid(draft.in_reply_to, "in_reply_to")
        refs = [_msgid(r, f"references[{i}]") for i, r in enumerate(draft.references)]
        if refs:
            msg["References"] = " ".join(refs)
    except (HeaderParseError, ValueError, TypeError) as exc:
        if isinstance(exc, DraftError):
            raise
        raise DraftError("an address or header could not be encoded") from exc
    if draft.html is not None:
        msg.set_content(draft.text or "", cte="quoted-printable")
        msg.add_alternative(draft.html, subtype="html", cte="quoted-printable")
    else:
        msg.set_content(draft.text or "", cte="quoted-printable")
    for i, attachment in enumerate(draft.attachments):
        try:
            content = base64.b64decode(attachment.content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DraftError(f"attachments[{i}].content is not valid base64") from exc
        maintype, _, subtype = attachment.content_type.lower().partition("/")
        if maintype == "multipart":
            raise DraftError(f"attachments[{i}].content_type cannot be multipart")
        try:
            msg.add_attachment(
                content, maintype=maintype, subtype=subtype, filename=attachment.filename or None
            )
        except (ValueError, TypeError) as exc:
            raise DraftError(f"attachments[{i}] could not be attached") from exc
    return msg.as_bytes()


def display(address: Address) -> str:
    """`Name <addr>` quoted as a header needs it; never fails, whatever the parser let through."""
    local, _, domain = address.email.rpartition("@")
    try:
        return str(headerregistry.Address(address.name, local, domain))
    except (ValueError, TypeError, IndexError, HeaderParseError):
        return address.email


def recipient_lists(message: Message) -> RecipientLists:
    lists: dict[Field, list[str]] = {Field.TO: [], Field.CC: [], Field.BCC: []}
    for r in message.recipients:
        if r.field in lists:
            lists[r.field].append(display(r.address))
    return RecipientLists(to=lists[Field.TO], cc=lists[Field.CC], bcc=lists[Field.BCC])


def change_for(fixes: Iterable[Fix]) -> RecipientChange:
    to_bcc: set[str] = set()
    remove: set[str] = set()
    replace: dict[str, str] = {}
    for fix in fixes:
        if fix.kind == FixKind.MOVE_TO_BCC:
            to_bcc.update(fix.recipients)
        elif fix.kind == FixKind.REMOVE_RECIPIENTS:
            remove.update(fix.recipients)
        elif fix.kind == FixKind.REPLACE_RECIPIENT:
            replace.update(fix.replacements)
    return RecipientChange(frozenset(to_bcc), frozenset(remove), replace or None)


def applied(raw: bytes, change: RecipientChange) -> Message:
    """The draft's headers after the change, parsed back: exactly what `missend fix` would write."""
    return parse_message(rewrite_recipients(raw, change), headers_only=True)


def with_recipients(
    message: Message, to: list[str] | None, cc: list[str] | None, bcc: list[str] | None
) -> Message:
    """The draft as finally sent, when the client reports its final lists."""
    out: dict[str, Recipient] = {}
    for values, field in ((to, Field.TO), (cc, Field.CC), (bcc, Field.BCC)):
        for i, value in enumerate(values or ()):
            formatted = _address(value, f"{field}[{i}]")
            name, addr = getaddresses([formatted])[0]
            email = normalize_email(addr)
            out.setdefault(email, Recipient(Address(email, name), field))
    return replace(message, recipients=tuple(out.values()))


def fix_label(fix: Fix) -> str:
    if fix.kind == FixKind.MOVE_TO_BCC:
        return "Move to Bcc"
    if fix.kind == FixKind.REMOVE_RECIPIENTS:
        names = ", ".join(fix.recipients[:3]) + ("..." if len(fix.recipients) > 3 else "")
        return f"Remove {names}"
    if fix.kind == FixKind.REPLACE_RECIPIENT:
        pairs = [f"{a} with {b}" for a, b in list(fix.replacements.items())[:2]]
        return "Replace " + "; ".join(pairs)
    if fix.kind == FixKind.REMOVE_ATTACHMENT:
        names = ", ".join(p.removeprefix("attachment:") for p in fix.parts[:3])
        return f"Remove {names}" if names else "Remove the attachment"
    return "Review before sending"
