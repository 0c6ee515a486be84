"""A hashed history read for one draft: its recipients, their organisations and their slips in clear.

Detectors compare the draft's addresses with the history's, so the history they read must use
the draft's plain addresses wherever it knows them:
- each recipient's hash (and the sender's) becomes the plain address, with the draft's display
  name since the store keeps none;
- every other contact at one of the draft's organisations becomes `<hash>@<that domain>`, so
  counts by organisation come out as in clear mode;
- a new or rare recipient's likely slips (`lookalike.candidates`) are hashed and looked up, and a
  hit is shown under its real address, so typo and private-address rules still find it.

Views are cumulative and cached on the history they came from: a contact shown in clear for one
draft stays in clear for the next (in memory only; the process saw those addresses in the drafts),
so a sender's burst of mail to the same people reuses one view and the detectors' indexes on it.
Revealing more than a draft needs only ever brings the view closer to the clear history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from missend.history.model import Contact, SenderHistory
from missend.message.model import Recipient
from missend.orgs import WEBMAIL_DOMAINS, registrable_domain
from missend.privacy.lookalike import candidates

if TYPE_CHECKING:
    from missend.privacy.pseudonym import AddressKeys

FULL_SEARCHES = 3
"""New recipients per draft searched for every one-keystroke slip (~800 hashes each, ~2,500 when
their domain is new too)."""
CHEAP_SEARCHES = 10
"""Further new or rare ones searched only for another suffix or a private mailbox's work address."""
_CHEAP = 60
_RARE = 2
_WELL_KNOWN = 5
_ROOT = "privacy.root"
_LATEST = "privacy.latest"
_STATE = "privacy.state"


@dataclass(frozen=True, slots=True)
class _State:
    """What a view shows in clear: addresses, organisations, and recipients already searched."""

    shown: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    searched: frozenset[str] = frozenset()
    names: dict[str, str] = field(default_factory=dict)


def reveal(
    keys: AddressKeys,
    history: SenderHistory,
    sender: str,
    recipients: Iterable[str | Recipient] = (),
) -> SenderHistory:
    """The view of `history` (hashed, or a view of it) for a draft from `sender` to `recipients`."""
    root: SenderHistory = history.derived.get(_ROOT) or history
    latest: SenderHistory = root.derived.get(_LATEST) or history
    state: _State = latest.derived.get(_STATE) or _State()
    emails: list[str] = []
    names: dict[str, str] = {}
    for item in (sender, *recipients):
        email = item if isinstance(item, str) else item.email
        emails.append(email)
        if isinstance(item, Recipient) and item.address.name and email not in state.names:
            names.setdefault(email, item.address.name)
    plain = {_mac(keys, e): e for e in dict.fromkeys(emails) if e not in state.shown}
    domains = {
        keys.domain_tag(d): registrable_domain(d)
        for d in {e.rpartition("@")[2] for e in emails}
        if d and registrable_domain(d) not in state.domains
    }
    unsearched = [e for e in dict.fromkeys(emails[1:]) if e not in state.searched]
    plain.update(_slips(keys, latest, emails[1:], unsearched, plain))
    if not plain and not domains:
        return latest
    out = _relabel(latest, sender, plain, domains, names)
    out.derived[_STATE] = _State(
        state.shown | frozenset(plain.values()),
        state.domains | frozenset(domains.values()),
        state.searched | frozenset(unsearched),
        {**state.names, **names},
    )
    out.derived[_ROOT] = root
    root.derived[_LATEST] = out
    return out


def _mac(keys: AddressKeys, email: str) -> str:
    return keys.address(email).partition("@")[0]


def _relabel(
    history: SenderHistory,
    sender: str,
    plain: dict[str, str],
    domains: dict[str, str],
    names: dict[str, str],
) -> SenderHistory:
    """A new history with hashes shown in clear; labels already in clear are left as they are."""

    def label(key: str) -> str:
        mac, _, tag = key.rpartition("@")
        return plain.get(mac) or (f"{mac}@{domains[tag]}" if tag in domains else key)

    out = SenderHistory(sender, message_count=history.message_count)
    for key, c in history.contacts.items():
        email = label(key)
        out.contacts[email] = (
            c
            if email == key
            else Contact(email, names.get(email) or c.name, c.count, c.first_seen, c.last_seen)
        )
    for (a, b), count in history.pairs.items():
        out.add_pair(label(a), label(b), count)
    out.recipient_sets = Counter(history.recipient_sets)
    out.threads = {k: frozenset(map(label, ps)) for k, ps in history.threads.items()}
    out.profiles = {label(k): p for k, p in history.profiles.items()}
    return out


def _slips(
    keys: AddressKeys,
    history: SenderHistory,
    emails: list[str],
    unsearched: list[str],
    plain: dict[str, str],
) -> dict[str, str]:
    """Contacts that new or rare recipients look like a slip for: hash of each -> address."""
    counts: dict[str, int] = {}
    strongest: dict[str, int] = {}
    for key, c in history.contacts.items():
        mac, _, tag = key.rpartition("@")
        counts[mac] = c.count
        strongest[tag] = max(strongest.get(tag, 0), c.count)
    if not counts or not unsearched:
        return {}

    def count(email: str) -> int:
        shown = history.contacts.get(email)
        return shown.count if shown is not None else counts.get(_mac(keys, email), 0)

    draft_domains = list(dict.fromkeys(e.rpartition("@")[2] for e in emails))
    suspects = sorted((e for e in unsearched if count(e) < _WELL_KNOWN), key=count)
    found: dict[str, str] = {}
    for i, email in enumerate(suspects[: FULL_SEARCHES + CHEAP_SEARCHES]):
        mine = count(email)
        domain = registrable_domain(email.rpartition("@")[2])
        tag = keys.domain_tag(domain)
        known = max(strongest.get(tag, 0), strongest.get(domain, 0)) >= _RARE
        full = i < FULL_SEARCHES and mine < _RARE
        for n, candidate in enumerate(
            candidates(email, draft_domains, domain_known=known or domain in WEBMAIL_DOMAINS)
        ):
            if not full and n >= _CHEAP:
                break
            mac = keys.mac(candidate)
            if counts.get(mac, 0) > mine and mac not in plain:
                found[mac] = candidate
    return found
