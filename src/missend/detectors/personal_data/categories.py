"""What each kind of identifier means for a person, and the words that hint at special categories.

Weights live here, not in the detector, so the table that decides "a bank card weighs more than a
phone number" can be read (and argued with) in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


def wordlist(text: str) -> tuple[str, ...]:
    """Comma-separated words or phrases, so long vocabularies read as prose, not as columns."""
    return tuple(w.strip() for w in text.split(",") if w.strip())


@dataclass(frozen=True, slots=True)
class Kind:
    """`single` is the risk of one value leaving; `bulk` how much the risk grows with people."""

    key: str
    singular: str
    plural: str
    single: float
    bulk: float
    identity: bool

    def label(self, count: int) -> str:
        return f"{count} {self.singular if count == 1 else self.plural}"


_KINDS = (
    Kind("card", "payment card number", "payment card numbers", 0.6, 1.0, True),
    Kind("nino", "national insurance number", "national insurance numbers", 0.45, 1.0, True),
    Kind("nhs", "NHS number", "NHS numbers", 0.45, 1.0, True),
    Kind("passport", "passport number", "passport numbers", 0.45, 1.0, True),
    Kind("national-id", "national identity number", "national identity numbers", 0.45, 1.0, True),
    Kind("bank-account", "bank account number", "bank account numbers", 0.25, 0.9, True),
    Kind("iban", "IBAN", "IBANs", 0.25, 0.9, True),
    Kind("dob", "date of birth", "dates of birth", 0.35, 0.9, True),
    Kind("phone", "phone number", "phone numbers", 0.1, 0.6, False),
    Kind("postcode", "postcode", "postcodes", 0.05, 0.5, False),
    Kind("email", "e-mail address", "e-mail addresses", 0.05, 0.6, False),
)
KINDS: Mapping[str, Kind] = {k.key: k for k in _KINDS}


SPECIAL_CATEGORIES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "health": (
        "health",
        wordlist(
            "diagnosis, diagnosed, medical history, medical condition, medical records, medication, "
            "prescription, prescribed, mental health, depression, anxiety, cancer, chemotherapy, hiv,"
            " diabetes, epilepsy, dementia, disability, disabled, pregnant, pregnancy, miscarriage, "
            "sick note, fit note, sickness absence, occupational health, therapy, counselling, "
            "psychiatric, psychiatrist, clinical, patient, patients, symptoms, allergy, allergies, "
            "surgery, inpatient, outpatient, discharge summary, referral, gp, blood test, autism, "
            "adhd, substance misuse, alcohol dependency"
        ),
    ),
    "immigration": (
        "immigration status",
        wordlist(
            "immigration, asylum, asylum seeker, refugee, visa, visa application, leave to remain, "
            "indefinite leave, right to work, right to remain, biometric residence permit, brp, "
            "settled status, pre-settled status, deportation, removal order, overstayer, sponsorship "
            "licence, certificate of sponsorship, home office"
        ),
    ),
    "criminal": (
        "criminal records",
        wordlist(
            "criminal record, criminal records, conviction, convictions, convicted, dbs check, dbs "
            "certificate, disclosure and barring, arrested, arrest, offence, offences, offender, "
            "probation, custodial sentence, prison, imprisonment, police caution, spent conviction, "
            "unspent conviction, charged with, court hearing, magistrates"
        ),
    ),
    "beliefs-identity": (
        "ethnicity, religion or sexuality",
        wordlist(
            "ethnicity, ethnic origin, ethnic group, racial origin, religion, religious belief, "
            "religious beliefs, muslim, jewish, christian, hindu, sikh, buddhist, atheist, sexual "
            "orientation, sexuality, gay, lesbian, bisexual, transgender, gender identity, lgbt, "
            "lgbtq, trade union member, union membership, political opinions, political affiliation, "
            "genetic data, biometric data"
        ),
    ),
    "children": (
        "children",
        wordlist(
            "child, children, pupil, pupils, safeguarding, child protection, looked after child, "
            "looked-after child, foster care, foster carer, care leaver, under 16, under 18, parental"
            " consent, parental responsibility, school report, year group, ehcp, special educational "
            "needs, sen support"
        ),
    ),
}


_Trie = dict[str, "_Trie"]


def _trie_regex(words: Iterable[str]) -> str:
    """One alternation shaped as a trie, so a miss costs one character test, not one per word."""
    trie: _Trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        alts: list[str] = []
        optional = "" in node
        for ch in sorted(k for k in node if k):
            child = node[ch]
            piece = r"[\s\-]{1,3}" if ch in " -" else re.escape(ch)
            alts.append(piece + emit(child))
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if optional else body

    return emit(trie)


def word_regex(words: Iterable[str]) -> re.Pattern[str]:
    """Case-insensitive whole-word match of any of `words`; bounded and linear in the text."""
    return re.compile(
        r"(?<![0-9A-Za-z])(?:" + _trie_regex(w.lower() for w in words) + r")(?![0-9A-Za-z])",
        re.IGNORECASE,
    )


_ASCII_PUNCTUATION = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_PUNCTUATION = bytes.maketrans(_ASCII_PUNCTUATION, b" " * len(_ASCII_PUNCTUATION))
_UNICODE_PUNCTUATION = (
    "\u00a0",
    "\u2018",
    "\u2019",
    "\u201c",
    "\u201d",
    "\u2013",
    "\u2014",
    "\u2026",
)


@dataclass(frozen=True, slots=True)
class Words:
    """The lower-cased words of a text (UTF-8 bytes), computed once per text.

    Word sets rather than regexes, and bytes rather than str: bytes.translate and split run in
    C at memory speed, while str.translate on any non-ASCII text and a case-insensitive
    alternation are both about thirty times slower.
    """

    tokens: list[bytes]
    present: set[bytes]


def words(text: str) -> Words:
    lower = text.lower()
    if not lower.isascii():
        for ch in _UNICODE_PUNCTUATION:
            if ch in lower:
                lower = lower.replace(ch, " ")
    tokens = lower.encode("utf-8", "ignore").translate(_PUNCTUATION).split()
    return Words(tokens, set(tokens))


def _normal(term: str) -> bytes:
    return b" ".join(words(term).tokens)


def first_word(term: str) -> bytes:
    return _normal(term).split(b" ", 1)[0]


_TERM_CATEGORY = {
    _normal(term): key for key, (_, terms) in SPECIAL_CATEGORIES.items() for term in terms
}
_WORDS = frozenset(t for t in _TERM_CATEGORY if b" " not in t)
_PHRASES = tuple((t.split(b" ", 1)[0], t) for t in _TERM_CATEGORY if b" " in t)


def special_terms(w: Words, out: dict[str, set[str]]) -> None:
    """Add the special-category terms among `w` to `out` (category → distinct terms)."""
    tokens, present = w.tokens, w.present
    hits = list(present & _WORDS)
    phrases = [phrase for first, phrase in _PHRASES if first in present]
    if phrases:
        joined = b" " + b" ".join(tokens) + b" "
        hits += [phrase for phrase in phrases if b" " + phrase + b" " in joined]
    for term in hits:
        out.setdefault(_TERM_CATEGORY[term], set()).add(term.decode())
