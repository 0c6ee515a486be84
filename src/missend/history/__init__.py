"""What missend knows of each sender's normal, and where it is kept."""

from missend.history.model import Contact, SenderHistory

__all__ = ["Contact", "SenderHistory"]
