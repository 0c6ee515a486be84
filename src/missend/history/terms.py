"""Hashed bag-of-words profiles of what a contact usually receives.

Words are stored only as hashed buckets, so the history can compare a draft with past mail without
keeping any readable text of it.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from operator import mul

BUCKETS = 1 << 20
PROFILE_SIZE = 200
NEW_TEXT_CHARS = 4000
READ_CHARS = 2 * NEW_TEXT_CHARS
"""How much of a body `term_counts` ever reads: learning can drop the rest before it holds mail."""

_WORD = re.compile(r"[a-z][a-z'-]{2,24}")
_QUOTE_MARKERS = re.compile(
    r"^(-{3,}\s*original message|-{3,}\s*forwarded by|from:\s.*\n\s*sent:|on .{5,80} wrote:\s*$)",
    re.IGNORECASE | re.MULTILINE,
)
_STOP = frozenset(
    """the and for that this with you your are was were have has had not but from they them their
    there what when which who will would can could should about into than then out our ours all
    any been being its it's also just like more most some such only over very here these those
    each other how why where may might must shall let get got per via yes thanks thank please
    regards dear hi hello best cc re fw fwd sent subject message original forwarded""".split()
)


def new_text(body: str, limit: int = NEW_TEXT_CHARS) -> str:
    """The part of a body the sender wrote, without the quoted or forwarded thread below it."""
    match = _QUOTE_MARKERS.search(body, 0, limit * 2)
    text = body[: match.start()] if match else body
    lines = [line for line in text[: limit * 2].splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines)[:limit]


def term_counts(subject: str, body: str) -> Counter[int]:
    text = f"{subject}\n{new_text(body)}".lower()
    out: Counter[int] = Counter()
    for word, n in Counter(_WORD.findall(text)).items():  # each distinct word hashed once
        if word not in _STOP:
            out[zlib.crc32(word.encode()) % BUCKETS] += n
    return out


def trim(profile: Counter[int], size: int = PROFILE_SIZE) -> Counter[int]:
    if len(profile) <= size:
        return profile
    return Counter(dict(profile.most_common(size)))


def squares(counts: Counter[int]) -> int:
    values = list(counts.values())
    return sum(map(mul, values, values))


def cosine(
    a: Counter[int], b: Counter[int], a_squares: int | None = None, b_squares: int | None = None
) -> float:
    """Set intersection and map run in C: the namesake rule calls this for every candidate, and
    passes the sums of squares it keeps (a profile's per history state, the draft's per check)."""
    if not a or not b:
        return 0.0
    common = a.keys() & b.keys()
    if not common:
        return 0.0
    dot = sum([a[k] * b[k] for k in common])
    sa = squares(a) if a_squares is None else a_squares
    sb = squares(b) if b_squares is None else b_squares
    return float(dot / math.sqrt(sa * sb))
