"""Recognizers: a bounded weak pattern, a validator that confirms or rejects, and context words.

The shape follows Presidio's PatternRecognizer. A pattern's `score` says how telling the format
is on its own once the validator agrees; context words add `context_boost`. Formats too common
to mean anything alone (nine digits, a date) score below the reporting threshold unless context
lifts them. Every result carries the reasons for its score, and the value it matched never
leaves the detector except masked.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.gb import nhs

from missend.detectors.personal_data.categories import wordlist
from missend.detectors.personal_data.context import ContextWords, TextContext

_SEPARATORS = re.compile(r"[\s.\-/]")
_NON_DIGITS = re.compile(r"\D+")
_DIGIT_GROUP = re.compile(r"[0-9]+")
COLLECTIVE_BOOST = 0.3
"""Added to weak matches when most numbers of their shape in a table column or text pass."""


@dataclass(frozen=True, slots=True, eq=False)
class Pattern:
    """A compiled, bounded regex. Shared instances are run once per text for all their owners."""

    name: str
    regex: re.Pattern[str]
    score: float
    near_at: bool = False
    """Run only around '@' signs rather than over the whole text."""
    first: str = ""
    rest: str = ""
    """`lead(first, rest)` is the regex; the scanner runs patterns sharing `first` together."""


def lead(first: str, rest: str) -> str:
    """`first` (one character class) then `rest`, not preceded by a letter or digit.

    Written this way rather than with a leading \\b because the regex engine can then jump
    straight to characters matching `first`: about twice as fast on ordinary text.
    """
    first = "[0-9]" if first == r"\d" else first
    return f"{first}(?<![0-9A-Za-z_]{first}){rest}"


def pattern(name: str, first: str, rest: str, score: float, flags: int = 0) -> Pattern:
    """A `lead` pattern. A first class narrower than [0-9] or [A-Z] is widened to it and
    re-checked by a lookbehind, so more patterns share one first class and one scan."""
    if first == r"\d":
        first = "[0-9]"
    if flags & ~re.IGNORECASE:
        raise ValueError("only IGNORECASE is supported, scoped to the pattern")
    if flags:
        rest = f"(?i:{rest})"
    chars = {c for c in string.printable if re.fullmatch(first, c)}
    for wide, members in (("[0-9]", string.digits), ("[A-Z]", string.ascii_uppercase)):
        if first != wide and chars <= set(members):
            rest = f"(?<={first}){rest}"
            first = wide
            break
    return Pattern(name, re.compile(lead(first, rest)), score, first=first, rest=rest)


class Match(NamedTuple):
    """One identifier found. A named tuple: built thousands of times per large attachment, and
    a frozen dataclass costs three times as much to construct."""

    kind: str
    recognizer: str
    start: int
    end: int
    value: str
    score: float
    reasons: tuple[str, ...]
    collective: bool = False


class Recognizer:
    """One kind of identifier. Subclasses set the class attributes and may override hooks."""

    name: str = ""
    kind: str = ""
    label: str = ""
    patterns: tuple[Pattern, ...] = ()
    context: ContextWords | None = None
    context_boost: float = 0.35
    before: int = 60
    after: int = 30
    validator_name: str = ""
    collective: bool = False
    """Weak matches may be believed when most numbers of this format in a text pass the check."""

    def normalise(self, raw: str) -> str:
        return raw.upper() if raw.isalnum() else _SEPARATORS.sub("", raw).upper()

    def validate(self, value: str) -> bool:
        return True

    def find(self, tc: TextContext, m: re.Match[str], pat: Pattern) -> Iterator[Match]:
        start, end = m.start(), m.end()
        hopeless = self.hopeless(tc, pat)
        said = self.said(tc, start, end) if hopeless else None
        if hopeless and said is None:
            return
        value = self.normalise(m.group())
        if not self.validate(value):
            return
        if not hopeless:
            said = self.said(tc, start, end)
        yield self.scored(start, end, value, pat, said)

    def said(self, tc: TextContext, start: int, end: int) -> str | None:
        """Why the context supports a match at `start`..`end`, or None; cheap without words."""
        if self.context is None or not tc.may_occur(self.context):
            return None
        word = tc.column(self.context, start) if tc.tabular else None
        if word is not None:
            return f"in a column headed '{word}'"
        word = tc.near(self.context, start, end, self.before, self.after)
        return f"near '{word}'" if word is not None else None

    def hopeless(self, tc: TextContext, pat: Pattern) -> bool:
        """Without context this match cannot reach the threshold: skip validating it."""
        return pat.score + (COLLECTIVE_BOOST if self.collective else 0.0) < tc.min_score

    def scored(self, start: int, end: int, value: str, pat: Pattern, said: str | None) -> Match:
        score = pat.score
        reasons = [f"format: {pat.name}"]
        if self.validator_name:
            reasons.append(f"passes {self.validator_name}")
        if said is not None:
            score = min(1.0, score + self.context_boost)
            reasons.append(said)
        return Match(
            self.kind, self.name, start, end, value, score, tuple(reasons), self.collective
        )


class NationalInsurance(Recognizer):
    """HMRC rules: D F I Q U V never appear, O never second, and some pairs were never issued.

    Capitals only: HMRC, payroll systems and people write them that way, and accepting lower
    case would double the cost of the pattern for a form nobody uses.
    """

    name = "uk-nino"
    kind = "nino"
    patterns = (
        pattern(
            "two letters, six digits, A-D",
            "[A-Z]",
            r"[A-Z][ \u00a0]?\d{2}[ \u00a0]?\d{2}[ \u00a0]?\d{2}[ \u00a0]?[A-D]\b",
            0.7,
        ),
    )
    context = ContextWords(
        wordlist("national insurance, ni number, ni no, ni, nino, insurance number, nic")
    )
    validator_name = "HMRC prefix rules"
    _INVALID_LETTERS = frozenset("DFIQUV")
    _INVALID_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})

    def validate(self, value: str) -> bool:
        first, second = value[0], value[1]
        return not (
            first in self._INVALID_LETTERS
            or second in self._INVALID_LETTERS
            or second == "O"
            or value[:2] in self._INVALID_PREFIXES
        )


class NhsNumber(Recognizer):
    """3-3-4 with spaces or hyphens is also how North American phone numbers are written
    ("800 247 9297"), and one in eleven of those passes the NHS check digit, so every form needs
    a context word, a column header, or a column of numbers that nearly all pass."""

    name = "uk-nhs"
    kind = "nhs"
    patterns = (
        pattern("NHS 3-3-4 grouping", r"\d", r"\d{2} \d{3} \d{4}\b", 0.45),
        pattern("hyphenated 3-3-4", r"\d", r"(?<!\([0-9])\d{2}-\d{3}-\d{4}\b", 0.3),
        pattern("ten digits", r"\d", r"\d{9}\b", 0.3),
    )
    context = ContextWords(
        wordlist("nhs, nhs no, nhs number, national health, health service, patient")
    )
    validator_name = "stdnum.gb.nhs"
    collective = True

    def validate(self, value: str) -> bool:
        """The patterns only yield ten ASCII digits, so stdnum's checksum alone decides."""
        return len(value) == 10 and value.isdigit() and nhs.checksum(value) == 0


class Iban(Recognizer):
    """The greedy pattern may run into the next word; shorter readings are tried on failure."""

    name = "iban"
    kind = "iban"
    patterns = (pattern("IBAN", "[A-Z]", r"[A-Z]\d{2}(?:[ \u00a0]?[A-Z0-9]){11,30}\b", 0.8),)
    context = ContextWords(wordlist("iban, bank, account, bic, swift, payment"))
    validator_name = "stdnum.iban"

    max_candidates = 2000

    def find(self, tc: TextContext, m: re.Match[str], pat: Pattern) -> Iterator[Match]:
        raw = m.group()
        if not tc.spend(self.name, self.max_candidates):
            return
        ends = [len(raw)] + [i for i in range(len(raw) - 1, 14, -1) if raw[i] in " \u00a0"]
        for end in ends:
            value = self.normalise(raw[:end])
            if stdnum_iban.is_valid(value):
                start = m.start()
                yield self.scored(start, start + end, value, pat, self.said(tc, start, start + end))
                return


class PaymentCard(Recognizer):
    name = "payment-card"
    kind = "card"
    patterns = (
        pattern(
            "13-19 digits, plain or grouped 4-4-4-4 or 4-6-5",
            r"\d",
            r"\d{3}(?:\d{9,15}| \d{4} \d{4} \d{1,4}(?: \d{1,3})?|-\d{4}-\d{4}-\d{1,4}(?:-\d{1,3})?"
            r"| \d{6} \d{4,5}|-\d{6}-\d{4,5})\b",
            0.85,
        ),
    )
    context = ContextWords(
        wordlist(
            "card, card number, credit, debit, visa, mastercard, amex, maestro, expiry, expires, cvv,"
            " cvc, pan"
        )
    )
    validator_name = "Luhn check and a known card issuer"

    _ISSUERS: tuple[tuple[tuple[int, int], frozenset[int]], ...] = (
        ((4, 4), frozenset({13, 16, 19})),  # Visa
        ((51, 55), frozenset({16})),  # Mastercard
        ((2221, 2720), frozenset({16})),  # Mastercard 2-series
        ((34, 34), frozenset({15})),  # Amex
        ((37, 37), frozenset({15})),
        ((300, 305), frozenset({14, 16})),  # Diners
        ((36, 36), frozenset({14, 16})),
        ((38, 39), frozenset({14, 16})),
        ((6011, 6011), frozenset({16, 19})),  # Discover
        ((644, 649), frozenset({16, 19})),
        ((65, 65), frozenset({16, 19})),
        ((3528, 3589), frozenset({16, 19})),  # JCB
        ((62, 62), frozenset({16, 17, 18, 19})),  # UnionPay
        ((50, 50), frozenset(range(12, 20))),  # Maestro
        ((56, 69), frozenset(range(12, 20))),
    )

    def validate(self, value: str) -> bool:
        if len(set(value)) == 1 or not luhn.is_valid(value):
            return False
        for (low, high), lengths in self._ISSUERS:
            width = len(str(low))
            if low <= int(value[:width]) <= high and len(value) in lengths:
                return True
        return False


class SortCodeAccount(Recognizer):
    """A sort code (NN-NN-NN) with an 8-digit account number close by, said to be bank details."""

    name = "uk-bank-account"
    kind = "bank-account"
    patterns = (pattern("sort code NN-NN-NN", r"\d", r"\d-\d{2}-\d{2}\b", 0.25),)
    context = ContextWords(
        wordlist("sort code, sort, account, account no, account number, acc, a/c, bank")
    )
    context_boost = 0.4
    reach = 40
    _ACCOUNT = re.compile(r"(?<![\d\-])\d{8}(?![\d\-])")

    def find(self, tc: TextContext, m: re.Match[str], pat: Pattern) -> Iterator[Match]:
        text = tc.text
        after = self._ACCOUNT.search(text, m.end(), min(len(text), m.end() + self.reach + 8))
        account = after
        if account is None:
            lo = max(0, m.start() - self.reach - 8)
            before = list(self._ACCOUNT.finditer(text, lo, m.start()))
            account = before[-1] if before else None
        if (
            account is None
            or "\n" in text[min(m.end(), account.end()) : max(m.start(), account.start())]
        ):
            return
        start, end = min(m.start(), account.start()), max(m.end(), account.end())
        said = self.said(tc, start, end)
        if said is not None or not self.hopeless(tc, pat):
            yield self.scored(start, end, f"{m.group()} {account.group()}", pat, said)


_MONTHS = {
    name: number
    for number, names in enumerate(
        "jan january|feb february|mar march|apr april|may|jun june|jul july|aug august|"
        "sep sept september|oct october|nov november|dec december".split("|"),
        start=1,
    )
    for name in names.split()
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_TAIL = (
    "(?:"
    + "|".join(
        f"(?<=[{c.upper()}{c}])(?i:"
        + "|".join(sorted((m[1:] for m in _MONTHS if m[0] == c), key=len, reverse=True))
        + ")"
        for c in sorted({m[0] for m in _MONTHS})
    )
    + ")"
)
"""Month names after their first letter, so a pattern can lead with that letter."""


class DateOfBirth(Recognizer):
    """A real past date said to be a birth date; dates alone are everywhere and mean nothing."""

    name = "date-of-birth"
    kind = "dob"
    patterns = (
        pattern("day/month/year", r"\d", r"\d?[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b", 0.2),
        pattern("ISO date", r"\d", r"\d{3}-\d{2}-\d{2}\b", 0.2),
        pattern(
            "day month year",
            r"\d",
            rf"\d?(?:st|nd|rd|th)?[ ]{{1,3}}(?:of[ ]{{1,3}})?(?:{_MONTH_RE})\.?,?[ ]{{1,3}}\d{{4}}\b",
            0.2,
            flags=re.IGNORECASE,
        ),
        pattern(
            "month day year",
            "[JFMASONDjfmasond]",
            rf"{_MONTH_TAIL}\.?[ ]{{1,3}}\d{{1,2}}(?:st|nd|rd|th)?,?[ ]{{1,3}}\d{{4}}\b",
            0.2,
        ),
    )
    context = ContextWords(
        wordlist(
            "dob, d.o.b, date of birth, birth date, birthdate, born, birthday, born on, geboren, "
            "geburtsdatum, date de naissance, fecha de nacimiento, data di nascita, geboortedatum"
        )
    )
    context_boost = 0.4
    before = 40
    after = 5
    validator_name = "a real date in the past"
    _NUMBERS = re.compile(r"\d+")
    _WORD = re.compile(r"[A-Za-z]{3,9}")

    def normalise(self, raw: str) -> str:
        return raw

    def validate(self, value: str) -> bool:
        return self._parse(value) is not None

    def find(self, tc: TextContext, m: re.Match[str], pat: Pattern) -> Iterator[Match]:
        said = self.said(tc, m.start(), m.end())
        if said is None and self.hopeless(tc, pat):
            return
        parsed = self._parse(m.group())
        if parsed is not None:
            yield self.scored(m.start(), m.end(), parsed.isoformat(), pat, said)

    def _parse(self, raw: str) -> date | None:
        numbers = [int(n) for n in self._NUMBERS.findall(raw)]
        word = self._WORD.search(raw)
        month_name = _MONTHS.get(word.group().lower()) if word else None
        if month_name is not None and len(numbers) == 2:
            day, year = numbers if numbers[1] > 31 else numbers[::-1]
            return _real_date(year, month_name, day)
        if len(numbers) != 3:
            return None
        if numbers[0] > 31:
            return _real_date(numbers[0], numbers[1], numbers[2])
        day, month, year = numbers
        if year < 100:
            year += 2000 if year <= date.today().year % 100 else 1900
        return _real_date(year, month, day) or _real_date(year, day, month)


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    return value if date(1900, 1, 1) <= value <= date.today() else None


class Passport(Recognizer):
    """Passport numbers have no checksum a library can test, so only context makes them."""

    name = "passport"
    kind = "passport"
    patterns = (
        pattern("UK passport: nine digits", r"\d", r"\d{8}\b", 0.2),
        pattern("letters then six to eight digits", "[A-Z]", r"[A-Z]{0,2}\d{6,8}\b", 0.2),
        pattern("French passport", r"\d", r"\d[A-Z]{2}\d{5}\b", 0.2),
        pattern("German passport", "[CFGHJKLMNPRTVWXYZ]", r"[0-9CFGHJKLMNPRTVWXYZ]{7}\d\b", 0.2),
        pattern("Dutch passport", "[A-NP-Z]", r"[A-NP-Z][A-NP-Z0-9]{6}\d\b", 0.2),
    )
    context = ContextWords(
        wordlist(
            "passport, passport no, passport number, passeport, reisepass, pasaporte, passaporto, "
            "paspoort, paszport, passi, pass nr, travel document"
        )
    )
    context_boost = 0.4


class PhoneNumber(Recognizer):
    """Runs of phone-like characters are cut out first, so libphonenumber sees only candidates.

    Only runs that start like a dialled number (0, +, or a bracket) are passed on: with GB as
    the default region, nothing else can be a valid number, and the matcher is the slow part.
    """

    name = "phone"
    kind = "phone"
    patterns = (
        Pattern(
            "phone-like run",
            re.compile(r"[+(0](?<![0-9A-Za-z_+][+(0])(?:[ ().\-]{0,2}[0-9]){7,39}(?!\w)"),
            0.6,
        ),
    )
    region = "GB"
    validator_name = "libphonenumber (valid number)"
    max_runs = 2000

    def find(self, tc: TextContext, m: re.Match[str], pat: Pattern) -> Iterator[Match]:
        raw = m.group()
        digits = _NON_DIGITS.sub("", raw)
        if len(digits) < 9 or not raw.lstrip("(").startswith(("+", "0")):
            return
        key = ("phone", raw)
        numbers = tc.memo.get(key)
        if numbers is None:
            if not tc.spend(self.name, self.max_runs):
                return
            numbers = tc.memo[key] = self._numbers(raw, digits)
        for start, end, value in numbers:
            yield self.scored(m.start() + start, m.start() + end, value, pat, None)

    def _numbers(self, raw: str, digits: str) -> tuple[tuple[int, int, str], ...]:
        """The valid numbers in one run, as (start, end, E.164) relative to the run.

        A run that is one number is checked directly. A longer one goes to libphonenumber's
        matcher, and when that finds nothing (it cannot split numbers separated only by
        spaces: "020 7946 0018 020 7946 0019") the run is split at its digit groups.
        """
        one = self._single(raw, digits)
        if one is not None:
            return ((0, len(raw), one),)
        if len(digits) <= 13:
            return ()
        found = tuple(
            (m.start, m.start + len(m.raw_string), phonenumbers.format_number(m.number, _E164))
            for m in phonenumbers.PhoneNumberMatcher(raw, self.region)
        )
        return found or tuple(self._split(raw))

    def _single(self, raw: str, digits: str) -> str | None:
        """E.164 if `raw` is exactly one valid number. A UK number becomes a PhoneNumber
        without the parser, which is most of the cost; libphonenumber's metadata decides."""
        national = ""
        if self.region == "GB" and raw.startswith("0"):
            national = digits[1:]
        elif raw.startswith("+44"):
            national = digits[2:].removeprefix("0")
        if national and 9 <= len(national) <= 10 and national[0] != "0":
            number = phonenumbers.PhoneNumber(country_code=44, national_number=int(national))
            if phonenumbers.is_valid_number_for_region(
                number, "GB"
            ) or phonenumbers.is_valid_number(number):
                return f"+44{national}"
            return None
        try:
            parsed = phonenumbers.parse(raw, self.region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(parsed):
            return str(phonenumbers.format_number(parsed, _E164))
        return None

    def _split(self, raw: str) -> Iterator[tuple[int, int, str]]:
        """Longest valid numbers made of whole digit groups, left to right."""
        groups = [m.span() for m in _DIGIT_GROUP.finditer(raw)]
        total = [0]
        for lo, hi in groups:
            total.append(total[-1] + hi - lo)
        i = 0
        while i < len(groups):
            for j in range(len(groups), i, -1):
                if not 9 <= total[j] - total[i] <= 13:
                    continue
                lo, hi = groups[i][0], groups[j - 1][1]
                if lo > 0 and raw[lo - 1] in "+(":
                    lo -= 1
                digits = _NON_DIGITS.sub("", raw[lo:hi])
                if one := self._single(raw[lo:hi], digits):
                    yield lo, hi, one
                    i = j
                    break
            else:
                i += 1


_E164 = phonenumbers.PhoneNumberFormat.E164


_OUTWARD = r"(?:[0-9][0-9]?|[A-HK-Y][0-9][0-9]?|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])"


class Postcode(Recognizer):
    """Written without its space a postcode is just six capitals and digits, as many reference
    codes are ("ER93FX"), so that form needs a context word or column header."""

    name = "uk-postcode"
    kind = "postcode"
    patterns = (
        pattern(
            "UK postcode",
            "[A-PR-UWYZ]",
            _OUTWARD + r"[ \u00a0][0-9][ABD-HJLNP-UW-Z]{2}\b",
            0.6,
        ),
        pattern(
            "UK postcode without its space",
            "[A-PR-UWYZ]",
            _OUTWARD + r"[0-9][ABD-HJLNP-UW-Z]{2}\b",
            0.3,
        ),
    )
    context = ContextWords(wordlist("postcode, post code, address, zip"))

    def normalise(self, raw: str) -> str:
        compact = raw.replace(" ", "").replace("\u00a0", "").upper()
        return f"{compact[:-3]} {compact[-3:]}"


class EmailAddress(Recognizer):
    """Addresses count as personal data only in bulk; the detector applies that threshold."""

    name = "email"
    kind = "email"
    patterns = (
        Pattern(
            "e-mail address",
            re.compile(
                r"(?<![\w.+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
                r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}\.){1,8}[A-Za-z]{2,24}\b"
            ),
            0.6,
            near_at=True,
        ),
    )

    def normalise(self, raw: str) -> str:
        return raw.lower()
