"""Simulated mis-sends, made the way real ones happen, from the sender's own history.

Each recipe takes a real message and the sender's history before it and returns the recipients as
they would be after the slip, plus the wrong address; or None when the recipe cannot apply (a
sender with no colleague to confuse, say). Recipes only use what the sender could have typed or
picked: their own contacts, a typo of a real recipient, another address of the same person.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from missend.history.model import Contact, SenderHistory
from missend.learning.features import name_tokens
from missend.message.model import Address, Field, Recipient
from missend.orgs import Organisations, registrable_domain

PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "aol.com", "outlook.com", "msn.com")


@dataclass(frozen=True, slots=True)
class Slip:
    scenario: str
    recipients: tuple[Recipient, ...]
    wrong: str
    replaced: str | None


Recipe = Callable[[tuple[Recipient, ...], SenderHistory, Organisations, random.Random], Slip | None]


def _swap(
    recipients: tuple[Recipient, ...], target: Recipient, wrong: str, name: str = ""
) -> tuple[Recipient, ...]:
    return tuple(
        Recipient(Address(wrong, name), r.field) if r.email == target.email else r
        for r in recipients
    )


def _add(
    recipients: tuple[Recipient, ...], wrong: str, rng: random.Random, name: str = ""
) -> tuple[Recipient, ...]:
    field = recipients[0].field if recipients else Field.TO
    out = list(recipients)
    out.insert(rng.randint(0, len(out)), Recipient(Address(wrong, name), field))
    return tuple(out)


def _known_name(h: SenderHistory, email: str) -> str:
    """The display name a mail client's address book fills in for a picked contact."""
    c = h.contacts.get(email)
    return c.name if c else ""


def _offered(
    recipients: tuple[Recipient, ...],
    h: SenderHistory,
    rng: random.Random,
    matches: Callable[[tuple[str, ...], str, Contact], bool],
) -> tuple[Recipient, list[Contact]] | None:
    """The first recipient (in shuffled order) for whom an address book would offer other
    contacts, and those contacts: `matches(name words, mailbox name, contact)` says which."""
    present = {r.email for r in recipients}
    targets = list(recipients)
    rng.shuffle(targets)
    for t in targets:
        tokens = name_tokens(t)
        local = t.address.local
        offered = [
            c for c in h.contacts.values() if c.email not in present and matches(tokens, local, c)
        ]
        if offered:
            return t, offered
    return None


def autocomplete(
    recipients: tuple[Recipient, ...], h: SenderHistory, orgs: Organisations, rng: random.Random
) -> Slip | None:
    """Another of the sender's contacts sharing a first name, a last name or a typed prefix."""

    def matches(tokens: tuple[str, ...], local: str, c: Contact) -> bool:
        ct = name_tokens(c)
        prefix = local[:3]
        return bool(tokens and ct and (ct[0] == tokens[0] or ct[-1] == tokens[-1])) or (
            len(prefix) == 3 and c.email.startswith(prefix)
        )

    found = _offered(recipients, h, rng, matches)
    if found is None:
        return None
    t, offered = found
    wrong = rng.choice(sorted(c.email for c in offered))
    return Slip("autocomplete", _swap(recipients, t, wrong, _known_name(h, wrong)), wrong, t.email)


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 2:
        return text + rng.choice(string.ascii_lowercase)
    i = rng.randrange(len(text))
    kind = rng.choice(("delete", "insert", "replace", "swap"))
    letter = rng.choice(string.ascii_lowercase)
    if kind == "delete":
        return text[:i] + text[i + 1 :]
    if kind == "insert":
        return text[:i] + letter + text[i:]
    if kind == "replace":
        return text[:i] + letter + text[i + 1 :]
    j = min(i + 1, len(text) - 1)
    chars = list(text)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def typo(
    recipients: tuple[Recipient, ...], h: SenderHistory, orgs: Organisations, rng: random.Random
) -> Slip | None:
    """A slip of the finger in a real recipient's address, giving an address never used."""
    t = rng.choice(recipients)
    local, _, domain = t.email.rpartition("@")
    for _ in range(10):
        if rng.random() < 0.6:
            wrong = f"{_typo(local, rng)}@{domain}"
        else:
            label, dot, rest = domain.partition(".")
            wrong = f"{local}@{_typo(label, rng)}{dot}{rest}"
        if wrong != t.email and wrong not in h.contacts and "@" in wrong and wrong.split("@")[0]:
            return Slip("typo", _swap(recipients, t, wrong), wrong, t.email)
    return None


def other_address(
    recipients: tuple[Recipient, ...], h: SenderHistory, orgs: Organisations, rng: random.Random
) -> Slip | None:
    """The same person's other (usually private) address, picked instead of the work one."""

    def forms(first: str, last: str) -> list[str]:
        return [
            f"{first}.{last}",
            f"{first}{last}",
            f"{first[0]}{last}",
            f"{last}{first[0]}",
            f"{first}.{last}{rng.randint(1, 99)}",
        ]

    return _private_address(
        "other-address", recipients, h, orgs, rng, forms, lambda local: local, PERSONAL_DOMAINS
    )


def _private_address(
    scenario: str,
    recipients: tuple[Recipient, ...],
    h: SenderHistory,
    orgs: Organisations,
    rng: random.Random,
    forms: Callable[[str, str], list[str]],
    lone: Callable[[str], str],
    providers: tuple[str, ...],
) -> Slip | None:
    """A recipient swapped for a private mailbox made of their name (`forms` of first and last
    name, or `lone` of their mailbox name when the name is one word) at one of `providers`."""
    people = [r for r in recipients if not orgs.is_personal(r.email)] or list(recipients)
    t = rng.choice(people)
    tokens = name_tokens(t)
    local = rng.choice(forms(tokens[0], tokens[-1])) if len(tokens) >= 2 else lone(t.address.local)
    domains = [d for d in providers if d != registrable_domain(t.address.domain)]
    wrong = f"{local}@{rng.choice(domains)}"
    if wrong in h.contacts or wrong == t.email:
        return None
    return Slip(scenario, _swap(recipients, t, wrong, t.address.name), wrong, t.email)


def colleague(
    recipients: tuple[Recipient, ...], h: SenderHistory, orgs: Organisations, rng: random.Random
) -> Slip | None:
    """A colleague from another team: an internal contact never written to with these people."""
    present = {r.email for r in recipients}
    linked: set[str] = set()
    for r in recipients:
        linked |= h.neighbours.get(r.email, set())
    candidates = sorted(
        c.email
        for c in h.contacts.values()
        if c.email not in present and c.email not in linked and orgs.is_internal(c.email)
    )
    if not candidates:
        return None
    wrong = rng.choice(candidates)
    return Slip("colleague", _add(recipients, wrong, rng, _known_name(h, wrong)), wrong, None)


def random_contact(
    recipients: tuple[Recipient, ...], h: SenderHistory, orgs: Organisations, rng: random.Random
) -> Slip | None:
    """Anyone from the sender's address book."""
    present = {r.email for r in recipients}
    candidates = sorted(e for e in h.contacts if e not in present)
    if not candidates:
        return None
    wrong = rng.choice(candidates)
    return Slip("random-contact", _add(recipients, wrong, rng, _known_name(h, wrong)), wrong, None)


RECIPES: dict[str, Recipe] = {
    "autocomplete": autocomplete,
    "typo": typo,
    "other-address": other_address,
    "colleague": colleague,
    "random-contact": random_contact,
}


_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours_on_keyboard() -> dict[str, str]:
    near: dict[str, str] = {}
    for r, row in enumerate(_KEYBOARD):
        for c, key in enumerate(row):
            found = {
                _KEYBOARD[rr][cc]
                for rr in range(max(0, r - 1), min(len(_KEYBOARD), r + 2))
                for cc in range(max(0, c - 1), min(len(_KEYBOARD[rr]), c + 2))
            }
            near[key] = "".join(sorted(found - {key}))
    return near


_NEAR_KEYS = _neighbours_on_keyboard()


def keyboard_typo(
    recipients: tuple[Recipient, ...], h: SenderHistory, orgs: Organisations, rng: random.Random
) -> Slip | None:
    """A neighbouring key, a doubled letter or a dropped dot in a real recipient's mailbox name."""
    t = rng.choice(recipients)
    local, _, domain = t.email.rpartition("@")
    if not local:
        return None
    for _ in range(10):
        kind = rng.choice(("neighbour", "neighbour", "double", "drop-dot"))
        if kind == "drop-dot" and "." in local:
            i = local.index(".")
            typed = local[:i] + local[i + 1 :]
        elif kind == "double":
            i = rng.randrange(len(local))
            typed = local[:i] + local[i] + local[i:]
        else:
            keys = [i for i, ch in enumerate(local) if ch in _NEAR_KEYS]
            if not keys:
                continue
            i = rng.choice(keys)
            typed = local[:i] + rng.choice(_NEAR_KEYS[local[i]]) + local[i + 1 :]
        wrong = f"{typed}@{domain}"
        if wrong != t.email and wrong not in h.contacts:
            return Slip("keyboard-typo", _swap(recipients, t, wrong), wrong, t.email)
    return None


def ranked_autocomplete(
    recipients: tuple[Recipient, ...], h: SenderHistory, orgs: Organisations, rng: random.Random
) -> Slip | None:
    """One of the first two suggestions a mail client offers (most written-to first) for a
    recipient's first name or first two letters: the frequent namesake instead of the rare one."""

    def matches(tokens: tuple[str, ...], local: str, c: Contact) -> bool:
        ct = name_tokens(c)
        prefix = local[:2]
        return bool(tokens and ct and ct[0] == tokens[0]) or (
            len(prefix) == 2 and c.email.startswith(prefix)
        )

    found = _offered(recipients, h, rng, matches)
    if found is None:
        return None
    t, offered = found
    offered.sort(key=lambda c: (-c.count, c.email))
    wrong = offered[min(len(offered) - 1, rng.randrange(2))].email
    return Slip(
        "ranked-autocomplete", _swap(recipients, t, wrong, _known_name(h, wrong)), wrong, t.email
    )


OTHER_PROVIDERS = (
    "icloud.com",
    "btinternet.com",
    "gmx.com",
    "proton.me",
    "yahoo.co.uk",
    "comcast.net",
)


def other_provider(
    recipients: tuple[Recipient, ...], h: SenderHistory, orgs: Organisations, rng: random.Random
) -> Slip | None:
    """The person's private address at a provider and in a form `other_address` never makes."""

    def forms(first: str, last: str) -> list[str]:
        return [
            f"{first}_{last}",
            f"{first}{last}{rng.randint(60, 99)}",
            f"{first[0]}.{last}",
            f"{last}.{first}",
        ]

    return _private_address(
        "other-provider",
        recipients,
        h,
        orgs,
        rng,
        forms,
        lambda local: f"{local}{rng.randint(1, 99)}",
        OTHER_PROVIDERS,
    )


_RECENT = 15


def _last_seen(c: Contact) -> tuple[datetime, str]:
    seen = c.last_seen or datetime.min
    return (seen if seen.tzinfo else seen.replace(tzinfo=UTC)), c.email


def recent_contact(
    recipients: tuple[Recipient, ...], h: SenderHistory, orgs: Organisations, rng: random.Random
) -> Slip | None:
    """One of the people written to most recently, added as a stale To line or a wrong reply adds them."""
    present = {r.email for r in recipients}
    dated = [c for c in h.contacts.values() if c.email not in present and c.last_seen is not None]
    recent = sorted(dated, key=_last_seen, reverse=True)[:_RECENT]
    if not recent:
        return None
    wrong = rng.choice(sorted(c.email for c in recent))
    return Slip("recent-contact", _add(recipients, wrong, rng, _known_name(h, wrong)), wrong, None)


HELD_OUT: dict[str, Recipe] = {
    "keyboard-typo": keyboard_typo,
    "ranked-autocomplete": ranked_autocomplete,
    "other-provider": other_provider,
    "recent-contact": recent_contact,
}
"""Slips made another way than any recipe the model is trained on, to test it on: a model that
learned our recipes rather than the mistakes does worse here."""
