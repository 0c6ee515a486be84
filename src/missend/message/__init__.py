"""The message model: what one outgoing message is, parsed once."""

from missend.message.limits import Limits
from missend.message.model import Address, Attachment, Defect, Field, Message, Recipient
from missend.message.parse import parse_message

__all__ = [
    "Address",
    "Attachment",
    "Defect",
    "Field",
    "Limits",
    "Message",
    "Recipient",
    "parse_message",
]
