"""Keyed hashes of addresses: the history can then be kept without any address in clear.

With `privacy.hash_addresses`, every address the history keeps (senders, contacts, pair ends,
thread participants) is `HMAC-SHA256(key, address)`, written as `<64 hex>@<16 hex>`: the part
after `@` is a keyed hash of the registrable domain, so contacts at one organisation stay
recognisable as such without the organisation being named. Without the key nobody can test a
guessed address against the store, which a plain hash would allow in a second.

Checking a message needs its recipients in clear, and it has them: `reveal` shows the draft's own
recipients (and their organisations, and the contacts they look like a one-keystroke slip for) in
clear, so the detectors read an ordinary history (see `privacy.reveal`). What cannot be found
that way stays a hash: a namesake picked by autocomplete, or a slip two keystrokes away.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from missend.history.model import SenderHistory
from missend.message.addresses import normalize_email
from missend.message.model import Address, Message, Recipient
from missend.orgs import registrable_domain
from missend.privacy import reveal

KEY_BYTES = 32
MIN_KEY_BYTES = 16
_ADDRESS = b"missend address\x00"
_DOMAIN = b"missend domain\x00"
_CHECK = b"missend key check\x00"
_PSEUDONYM = b"missend pseudonym\x00"
_TAG = 16


class KeyFileError(ValueError):
    """The key file is missing, unreadable or too short; the text says which."""


def new_key() -> str:
    """A fresh key as the key file holds it: 32 random bytes, hex-encoded, one line."""
    return secrets.token_hex(KEY_BYTES) + "\n"


def write_key_file(path: Path) -> None:
    """Create a key file readable only by its owner; an existing file is never overwritten."""
    with path.open("x", encoding="ascii") as handle:
        path.chmod(0o600)
        handle.write(new_key())


def read_key_file(path: str | Path) -> bytes:
    try:
        data = Path(path).read_bytes().strip()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the address key ({exc.strerror})") from exc
    try:
        key = bytes.fromhex(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = data
    if len(key) < MIN_KEY_BYTES:
        raise KeyFileError(
            f"{path}: the address key is too short (at least {MIN_KEY_BYTES} bytes; "
            "`missend privacy keygen FILE` makes one)"
        )
    return key


@dataclass(frozen=True)
class AddressKeys:
    """One secret key and what it hashes: addresses, domains, and pseudonyms for the register."""

    key: bytes = field(repr=False)
    source: str = ""
    """The key file it was read from, recorded in the store for processes started without it."""
    _cache: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_file(cls, path: str | Path) -> AddressKeys:
        return cls(read_key_file(path), str(Path(path).resolve()))

    def _mac(self, label: bytes, value: str) -> str:
        data = label + value.encode("utf-8", "surrogateescape")
        return hmac.new(self.key, data, hashlib.sha256).hexdigest()

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it, so a store can tell a wrong key from the right one."""
        return self._mac(_CHECK, "")[:32]

    def domain_tag(self, domain: str) -> str:
        return self._mac(_DOMAIN, registrable_domain(domain) if domain else "")[:_TAG]

    def mac(self, email: str) -> str:
        """The keyed hash alone, without the domain tag: what identifies a stored address."""
        return self._mac(_ADDRESS, email)

    def address(self, email: str) -> str:
        """The stored form of an (already normalised) address."""
        found = self._cache.get(email)
        if found is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            domain = email.rpartition("@")[2] if "@" in email else ""
            found = self._cache[email] = f"{self._mac(_ADDRESS, email)}@{self.domain_tag(domain)}"
        return found

    def pseudonym(self, email: str) -> str:
        """A stable stand-in for an erased address: the same person gets the same one each time."""
        return f"erased-{self._mac(_PSEUDONYM, normalize_email(email))[:16]}@erased.invalid"

    def message(self, message: Message) -> Message:
        """The message as the history learns it in hashed mode: addresses hashed, names dropped."""

        def one(a: Address) -> Address:
            return Address(self.address(a.email))

        return replace(
            message,
            from_=tuple(map(one, message.from_)),
            sender_header=one(message.sender_header) if message.sender_header else None,
            reply_to=tuple(map(one, message.reply_to)),
            recipients=tuple(Recipient(one(r.address), r.field) for r in message.recipients),
            envelope_from=self.address(message.envelope_from) if message.envelope_from else None,
        )

    def messages(self, messages: Iterable[Message]) -> Iterator[Message]:
        return map(self.message, messages)

    def reveal(
        self, hashed: SenderHistory, sender: str, recipients: Iterable[str | Recipient] = ()
    ) -> SenderHistory:
        """The history as detectors read it for a message from `sender` to `recipients`."""
        return reveal.reveal(self, hashed, sender, recipients)
