"""Which organisation an address belongs to, and whether it is ours or a private person's.

The registrable domain comes from tldextract's bundled Public Suffix List snapshot with fetching
turned off, so a check never touches the network.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import tldextract

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def _load_webmail() -> frozenset[str]:
    text = resources.files("missend").joinpath("data/webmail.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


WEBMAIL_DOMAINS = _load_webmail()
_MAX_VIEWS = 4096


@lru_cache(maxsize=65536)
def registrable_domain(domain: str) -> str:
    """`mail.acme.co.uk` → `acme.co.uk`; a domain the list does not know is kept whole."""
    domain = domain.lower().rstrip(".")
    parts = _EXTRACT(domain)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return domain


def org_name(domain: str) -> str:
    """The label people call the organisation by: `acme` for `mail.acme.co.uk`."""
    return registrable_domain(domain).split(".", 1)[0]


class Organisations:
    """Resolves addresses to organisations for one policy's view of what is internal."""

    def __init__(self, internal_domains: Iterable[str] = (), webmail: Iterable[str] | None = None):
        self.internal = frozenset(registrable_domain(d) for d in internal_domains)
        self.webmail = WEBMAIL_DOMAINS if webmail is None else frozenset(webmail)
        self._views: dict[frozenset[str], Organisations] = {}

    def with_internal(self, domains: Iterable[str]) -> Organisations:
        """This view with more internal domains; kept, as each check asks for its sender's."""
        key = frozenset(domains)
        view = self._views.get(key)
        if view is None:
            view = Organisations(self.internal | key, self.webmail)
            if len(self._views) < _MAX_VIEWS:
                self._views[key] = view
        return view

    def is_personal(self, email: str) -> bool:
        """A free-mail or consumer-ISP mailbox: it stands for one private person."""
        return registrable_domain(email.rpartition("@")[2]) in self.webmail

    def is_internal(self, email: str) -> bool:
        return registrable_domain(email.rpartition("@")[2]) in self.internal

    def org_of(self, email: str) -> str:
        """The organisation key: the registrable domain, or the mailbox itself for personal mail."""
        domain = registrable_domain(email.rpartition("@")[2])
        return email if domain in self.webmail else domain
