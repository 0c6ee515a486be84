"""Finding one person's address in stored text and putting a pseudonym in its place.

An address is matched as a whole address, in any letter case and with its domain in either IDN
form, so erasing bob@example.org leaves jbob@example.org and bob@example.org.uk alone. Names given
with `--name` are matched as whole words.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from missend.message.addresses import normalize_email

_LOCAL = r"\w.!#$%&'*+/=?^`{|}~-"
ERASED_NAME = "[erased]"


def address_forms(email: str) -> tuple[str, ...]:
    """The address as stored (lower case, ASCII domain) and with its domain in Unicode."""
    local, _, domain = email.rpartition("@")
    forms = [email]
    if "xn--" in domain:
        with contextlib.suppress(UnicodeError):
            forms.append(f"{local}@{domain.encode('ascii').decode('idna')}")
    return tuple(dict.fromkeys(forms))


class Scrubber:
    """Replaces one person's address (and optionally names) with a pseudonym."""

    def __init__(self, address: str, pseudonym: str, names: Sequence[str] = ()) -> None:
        self.email = normalize_email(address)
        if "@" not in self.email or not self.email.rpartition("@")[0]:
            raise ValueError(f"{address!r} is not an e-mail address")
        self.pseudonym = pseudonym
        self.forms = address_forms(self.email)
        alternatives = "|".join(re.escape(f) for f in sorted(self.forms, key=len, reverse=True))
        self._address = re.compile(
            rf"(?<![{_LOCAL}])(?:{alternatives})(?![\w-])(?!\.[\w-])", re.IGNORECASE
        )
        self.names = tuple(n.strip() for n in names if n.strip())
        self._name = (
            re.compile(
                r"(?<!\w)(?:"
                + "|".join(r"\s+".join(map(re.escape, n.split())) for n in self.names)
                + r")(?!\w)",
                re.IGNORECASE,
            )
            if self.names
            else None
        )

    @property
    def needles(self) -> tuple[str, ...]:
        """Lower-case substrings a database can pre-filter on (also as JSON writes them)."""
        found: dict[str, None] = {}
        for text in (*self.forms, *self.names):
            found[text.lower()] = None
            found[json.dumps(text)[1:-1].lower()] = None
        return tuple(found)

    def is_address(self, value: str | None) -> bool:
        return bool(value) and normalize_email(value or "") in self.forms

    def mentions(self, text: str | None) -> bool:
        if not text:
            return False
        if self._address.search(text):
            return True
        return bool(self._name and self._name.search(text))

    def text(self, text: str) -> str:
        out = self._address.sub(self.pseudonym, text)
        return self._name.sub(ERASED_NAME, out) if self._name else out

    def value(self, value: Any) -> Any:
        """A JSON-like value with every string (and mapping key) scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.value(v) for k, v in value.items()}
        return value

    def json_text(self, text: str, **dump: Any) -> str:
        """Scrubbed JSON text, written back the way the caller writes it (`dump` options)."""
        try:
            data = json.loads(text)
        except ValueError:
            return self.text(text)
        return json.dumps(self.value(data), **dump)

    def addresses(self, values: Iterable[str]) -> list[str]:
        """A list of addresses with this person's replaced by the pseudonym, without duplicates."""
        return list(dict.fromkeys(self.text(v) for v in values))
