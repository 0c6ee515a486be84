"""Synthetic but valid identifiers, for tests and benchmarks of personal-data detection.

Every value is confirmed by the same library validator the detector uses (the check character
is found by trying each candidate against it), so a sample is valid by the library's definition
and nothing here re-implements a checksum.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from datetime import date, timedelta

import phonenumbers
from stdnum import iban, luhn
from stdnum.be import nn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.gb import nhs
from stdnum.ie import pps
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.pt import nif
from stdnum.se import personnummer

NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
NINO_NEVER = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
POSTCODE_AREAS = (
    "SW1A",
    "EC1A",
    "W1A",
    "M1",
    "M60",
    "B33",
    "LS1",
    "CR2",
    "DN55",
    "EH1",
    "CF10",
    "BS1",
    "NE1",
    "G2",
    "L1",
    "OX1",
    "CB2",
    "BT1",
    "NW1",
    "SE1",
    "E14",
    "N1",
    "RG1",
    "S1",
)
POSTCODE_UNIT = "ABDEFGHJLNPQRSTUWXYZ"


def complete(
    prefix: str, valid: Callable[[str], bool], alphabet: str = string.digits, suffix: str = ""
) -> str | None:
    """`prefix` + the first check character from `alphabet` that `valid` accepts, or None."""
    for ch in alphabet:
        if valid(prefix + ch + suffix):
            return prefix + ch + suffix
    return None


class Synth:
    """Random valid identifiers from a seed, so a test or corpus is the same every run."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(n))

    def _until(self, make: Callable[[], str | None]) -> str:
        for _ in range(1000):
            value = make()
            if value is not None:
                return value
        raise RuntimeError("no valid sample found")

    def nino(self, spaced: bool = False) -> str:
        while True:
            prefix = self.rng.choice(NINO_FIRST) + self.rng.choice(NINO_SECOND)
            if prefix not in NINO_NEVER:
                break
        body, suffix = self.digits(6), self.rng.choice("ABCD")
        if spaced:
            return f"{prefix} {body[:2]} {body[2:4]} {body[4:]} {suffix}"
        return prefix + body + suffix

    def nhs(self, spaced: bool = True) -> str:
        value = self._until(
            lambda: complete(str(self.rng.randint(4, 6)) + self.digits(8), nhs.is_valid)
        )
        return f"{value[:3]} {value[3:6]} {value[6:]}" if spaced else value

    def card(self, prefix: str = "4", length: int = 16, spaced: bool = True) -> str:
        body = prefix + self.digits(length - len(prefix) - 1)
        value = body + luhn.calc_check_digit(body)
        if not spaced:
            return value
        if length == 15:
            return f"{value[:4]} {value[4:10]} {value[10:]}"
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))

    def iban(self, country: str = "GB") -> str:
        """Some countries add their own check inside the BBAN; retry until stdnum accepts it."""
        makers: dict[str, Callable[[], str]] = {
            "GB": lambda: (
                "".join(self.rng.choice(string.ascii_uppercase) for _ in range(4)) + self.digits(14)
            ),
            "DE": lambda: self.digits(18),
            "FR": lambda: (
                self.digits(10)
                + "".join(self.rng.choice("0123456789ABC") for _ in range(11))
                + self.digits(2)
            ),
            "NL": lambda: "ABNA" + self.digits(10),
            "ES": lambda: self.digits(20),
        }

        def make() -> str | None:
            bban = makers[country]()
            number = country + iban.calc_check_digits(country + "00" + bban) + bban
            return number if iban.is_valid(number) else None

        number = self._until(make)
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))

    def sort_code(self) -> str:
        return f"{self.digits(2)}-{self.digits(2)}-{self.digits(2)}"

    def account(self) -> str:
        return self.digits(8)

    def phone(self, international: bool = False) -> str:
        while True:
            kind = self.rng.random()
            if kind < 0.5:
                national = f"07{self.rng.choice('1234589')}{self.digits(2)} {self.digits(6)}"
            elif kind < 0.75:
                national = f"020 {self.rng.choice('378')}{self.digits(3)} {self.digits(4)}"
            else:
                area = self.rng.choice(("0161", "0113", "0117", "0121", "0131", "0141"))
                national = f"{area} {self.rng.choice('2345')}{self.digits(2)} {self.digits(4)}"
            number = phonenumbers.parse(national, "GB")
            if phonenumbers.is_valid_number(number):
                if international:
                    return "+44 " + national[1:]
                return national

    def postcode(self) -> str:
        return (
            f"{self.rng.choice(POSTCODE_AREAS)} {self.rng.randint(0, 9)}"
            f"{self.rng.choice(POSTCODE_UNIT)}{self.rng.choice(POSTCODE_UNIT)}"
        )

    def birth_date(self) -> date:
        return date(1940, 1, 1) + timedelta(days=self.rng.randint(0, 365 * 60))

    def passport(self) -> str:
        return str(self.rng.randint(1, 9)) + self.digits(8)

    def national(self, scheme: str) -> str:
        """A valid number of one EU scheme: de-idnr, fr-nir, es-dni, es-nie, it-codicefiscale,
        nl-bsn, be-nn, pl-pesel, se-personnummer, fi-hetu, ie-pps, pt-nif."""
        born = self.birth_date()
        yymmdd = born.strftime("%y%m%d")
        letters = string.ascii_uppercase
        makers: dict[str, Callable[[], str | None]] = {
            "de-idnr": lambda: complete(
                str(self.rng.randint(1, 9)) + self.digits(9), idnr.is_valid
            ),
            "fr-nir": lambda: _pair(
                f"{self.rng.randint(1, 2)}{yymmdd[:4]}75{self.digits(6)}", nir.is_valid
            ),
            "es-dni": lambda: complete(self.digits(8), dni.is_valid, letters),
            "es-nie": lambda: complete(
                self.rng.choice("XYZ") + self.digits(7), nie.is_valid, letters
            ),
            "it-codicefiscale": lambda: complete(
                "".join(self.rng.choice("BCDFGLMNPRSTVZ") for _ in range(6))
                + yymmdd[:2]
                + "ABCDEHLMPRST"[born.month - 1]
                + f"{born.day:02d}"
                + "H501",
                codicefiscale.is_valid,
                letters,
            ),
            "nl-bsn": lambda: complete(str(self.rng.randint(1, 6)) + self.digits(7), bsn.is_valid),
            "be-nn": lambda: _pair(yymmdd + self.digits(3), nn.is_valid),
            "pl-pesel": lambda: complete(
                yymmdd[:2]
                + f"{born.month + (20 if born.year >= 2000 else 0):02d}"
                + yymmdd[4:]
                + self.digits(4),
                pesel.is_valid,
            ),
            "se-personnummer": lambda: complete(
                yymmdd + "-" + self.digits(3), personnummer.is_valid
            ),
            "fi-hetu": lambda: complete(
                born.strftime("%d%m%y")
                + ("-" if born.year < 2000 else "A")
                + f"{self.rng.randint(2, 899):03d}",
                hetu.is_valid,
                string.digits + "ABCDEFHJKLMNPRSTUVWXY",
            ),
            "ie-pps": lambda: complete(self.digits(7), pps.is_valid, "ABCDEFGHIJKLMNOPQRSTUVW"),
            "pt-nif": lambda: complete(self.rng.choice("12356") + self.digits(7), nif.is_valid),
        }
        return self._until(makers[scheme])


def _pair(prefix: str, valid: Callable[[str], bool]) -> str | None:
    for check in range(100):
        if valid(f"{prefix}{check:02d}"):
            return f"{prefix}{check:02d}"
    return None
