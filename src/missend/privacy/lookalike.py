"""Finding the contact a new address is a slip for, when the history keeps only keyed hashes.

A hashed history cannot be searched for addresses that look like a draft's recipient, but the
slips themselves can be enumerated: every address one keystroke away (a letter missed, doubled,
swapped or mistyped), the same mailbox under another public suffix (`.co` for `.co.uk`), and a
private mailbox's local part at the work domains in the draft. Each candidate is hashed with the
store's key and looked up; a hit is the real address of a contact, so revealing it tells the
detectors nothing that is not true. Slips further away than that (two typos, a namesake picked by
autocomplete) stay unseen in hashed mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from missend.orgs import WEBMAIL_DOMAINS, registrable_domain

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789.-_"
SUFFIXES = (
    "com",
    "org",
    "net",
    "edu",
    "gov",
    "info",
    "biz",
    "io",
    "co",
    "eu",
    "uk",
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "ltd.uk",
    "de",
    "fr",
    "nl",
    "be",
    "ch",
    "at",
    "it",
    "es",
    "ie",
    "pt",
    "pl",
    "cz",
    "se",
    "no",
    "dk",
    "fi",
    "us",
    "ca",
    "com.au",
    "co.nz",
    "co.za",
    "in",
    "co.in",
    "jp",
    "co.jp",
    "cn",
    "com.br",
    "mx",
    "ru",
)


def one_edit(text: str) -> Iterator[str]:
    """Every string one deletion, transposition, substitution or insertion away."""
    for i in range(len(text)):
        yield text[:i] + text[i + 1 :]
        if i + 1 < len(text) and text[i] != text[i + 1]:
            yield text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        for c in ALPHABET:
            if c != text[i]:
                yield text[:i] + c + text[i + 1 :]
    for i in range(len(text) + 1):
        for c in ALPHABET:
            yield text[:i] + c + text[i:]


def candidates(
    email: str, draft_domains: Iterable[str], *, domain_known: bool = False
) -> Iterator[str]:
    """Addresses `email` may be a slip for, cheapest and likeliest first.

    When the sender already writes to others at the domain, a typo in it is not searched for.
    """
    local, _, domain = email.rpartition("@")
    if not local or not domain:
        return
    registrable = registrable_domain(domain)
    label = registrable.partition(".")[0]
    if registrable_domain(domain) in WEBMAIL_DOMAINS:
        for other in draft_domains:
            if other != domain:
                yield f"{local}@{other}"
    for suffix in SUFFIXES:
        yield f"{local}@{label}.{suffix}"
    for variant in one_edit(local):
        if variant and not variant.startswith(".") and not variant.endswith("."):
            yield f"{variant}@{domain}"
    if domain_known:
        return
    for variant in one_edit(domain):
        if "." in variant and not variant.startswith(".") and not variant.endswith("."):
            yield f"{local}@{variant}"
