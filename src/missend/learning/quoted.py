"""Whose mail a reply answers, read from the attribution of the quoted message.

A reply quotes the message it answers under a line naming its author: Outlook's "From:" header
block, Lotus Notes' "Name/Org on 05/30/2001 02:10 PM", Gmail's and Thunderbird's "On <date>,
Name <address> wrote:". That author is who the reply is for; when the draft goes instead to
someone who merely shares their first name or last name, that is the autocomplete slip, and
the counts and words of the draft cannot tell it apart from a real message to the namesake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUOTE = r"^[ \t>]*"
_FROM = re.compile(_QUOTE + r"From:[ \t]*(?P<who>\S[^\n]*)$", re.M | re.I)
_WROTE = re.compile(
    _QUOTE + r"On [^\n]{4,120}?,[ \t]*(?P<who>[^\n,][^\n]*?)[ \t]+wrote:[ \t]*$", re.M
)
_STAMP = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}[ \t]+\d{1,2}:\d\d")
_FORWARDED = re.compile(r"forwarded by", re.I)
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_BRACKETED = re.compile(r"\[mailto:[^\]]*\]|<[^>]*>|\"")
_DATED = re.compile(r"[ \t]+(?:on[ \t]+)?\d{1,2}/\d{1,2}/\d{2,4}.*$")
_WORDS = re.compile(r"[^\W\d_]{2,}")
_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class Author:
    """The quoted author: the addresses and the name words their attribution line shows."""

    addresses: frozenset[str]
    words: frozenset[str]

    def match(self, email: str, tokens: tuple[str, ...]) -> float:
        """1 for the author's own address, else the share of the name's words the line shows."""
        return named_share(email, tokens, self.addresses, self.words, shortest=2)


def named_share(
    email: str,
    tokens: tuple[str, ...],
    addresses: frozenset[str],
    words: frozenset[str],
    shortest: int,
) -> float:
    """1 when the address itself is shown, else the share of the name's words (of at least
    `shortest` letters) that are."""
    if email in addresses:
        return 1.0
    named = [t for t in tokens if len(t) >= shortest]
    if not named:
        return 0.0
    return sum(1 for t in named if t in words) / len(named)


def quoted_author(body: str) -> Author | None:
    """The author of the first message quoted in the body, or None when nothing is quoted.

    Lines about a forward ("Forwarded by ...") name whoever passed the mail on, usually the
    sender, so they are skipped."""
    text = body[:_LIMIT]
    lowered = text.lower()
    # Each finder runs only where its marker occurs at all: a substring test costs far less
    # than a line-anchored pattern tried along a long body that quotes nothing.
    finders = [
        find
        for find, present in (
            (_outlook, "from:" in lowered),
            (_wrote, "wrote:" in lowered),
            (_notes, "/" in text),
        )
        if present
    ]
    first: tuple[int, str] | None = None
    for find in finders:
        hit = find(text)
        if hit is not None:
            first = hit
            text = text[: hit[0]]  # later finders look only above the earliest line found
    if first is None:
        return None
    who = first[1]
    addresses = frozenset(a.lower() for a in _ADDRESS.findall(who))
    name = _DATED.sub("", _BRACKETED.sub(" ", who))
    name = name.split("/", 1)[0]
    name = _ADDRESS.sub(" ", name).split("@", 1)[0]
    words = frozenset(w.lower() for w in _WORDS.findall(name))
    if not addresses and not words:
        return None
    return Author(addresses, words)


def _outlook(text: str) -> tuple[int, str] | None:
    return _line(_FROM, text)


def _wrote(text: str) -> tuple[int, str] | None:
    return _line(_WROTE, text)


def _line(pattern: re.Pattern[str], text: str) -> tuple[int, str] | None:
    for m in pattern.finditer(text):
        if not _FORWARDED.search(m.group(0)):
            return m.start(), m.group("who")
    return None


def _notes(text: str) -> tuple[int, str] | None:
    """Lotus Notes' "Name/Org on 05/30/2001 02:10 PM": found from the time stamp back to the
    start of its line, which costs far less than trying a pattern at every line. A line that
    is a sentence holding a date, not a name or an address, is not an attribution."""
    for m in _STAMP.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        line = text[start : m.start()]
        who = line.rstrip(" \t")
        if who == line:
            continue  # the stamp must follow the name after a space
        if who[-3:].lower() == " on":
            who = who[:-3].rstrip(" \t")
        who = who.lstrip(" \t>")
        if (
            not 3 <= len(who) <= 80
            or who.startswith("-")
            or _FORWARDED.search(text, start, m.end())
        ):
            continue
        if _ADDRESS.search(who) or "/" in who or len(who.split()) <= 4:
            return start, who
    return None
