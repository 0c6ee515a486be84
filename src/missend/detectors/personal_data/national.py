"""EU national identifiers, each confirmed by its python-stdnum validator.

Where the format alone is common (nine or eleven plain digits) the pattern scores below the
threshold, so the number is reported only with a context word or a column header; the scanner
then skips that pattern for the many texts that have none of those words.
"""

from __future__ import annotations

from collections.abc import Callable

from stdnum.be import nn
from stdnum.de import idnr
from stdnum.dk import cpr
from stdnum.es import dni, nie
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.ie import pps
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.pt import nif
from stdnum.se import personnummer

from missend.detectors.personal_data.categories import wordlist
from missend.detectors.personal_data.context import ContextWords
from missend.detectors.personal_data.recognizers import Pattern, Recognizer, pattern

_GENERIC = wordlist(
    "national id, national identity, identity number, id number, personal id, personal number, social"
    " security, tax id, tin"
)

DIGITS_9 = pattern("nine digits", r"\d", r"\d{8}\b", 0.3)
DIGITS_10 = pattern("ten digits", r"\d", r"\d{9}\b", 0.3)
DIGITS_11 = pattern("eleven digits", r"\d", r"\d{10}\b", 0.3)


class NationalId(Recognizer):
    """One country's identifier: stdnum module, patterns, and words that name it."""

    kind = "national-id"

    def __init__(
        self,
        name: str,
        label: str,
        module: object,
        patterns: tuple[Pattern, ...],
        words: tuple[str, ...],
        generic_words: bool = True,
        context_boost: float = 0.35,
    ) -> None:
        self.name = name
        self.label = label
        self.patterns = patterns
        self.context = ContextWords(words + (_GENERIC if generic_words else ()))
        self.context_boost = context_boost
        self.validator_name = f"stdnum.{module.__name__.removeprefix('stdnum.')}"  # type: ignore[attr-defined]
        self._check: Callable[[str], bool] = module.is_valid  # type: ignore[attr-defined]
        self._compact: Callable[[str], str] = module.compact  # type: ignore[attr-defined]

    def normalise(self, raw: str) -> str:
        """stdnum's own compact form: some separators (the HETU century sign) are meaningful."""
        return str(self._compact(raw.upper()))

    def validate(self, value: str) -> bool:
        return bool(self._check(value))


def national_recognizers() -> tuple[NationalId, ...]:
    return (
        NationalId(
            "de-idnr",
            "German tax ID",
            idnr,
            (pattern("German IdNr 2-3-3-3", r"\d", r"\d \d{3} \d{3} \d{3}\b", 0.3), DIGITS_11),
            wordlist(
                "steuer-id, steuerid, steuer id, idnr, identifikationsnummer, "
                "steueridentifikationsnummer, steuerliche identifikationsnummer"
            ),
        ),
        NationalId(
            "fr-nir",
            "French social security number",
            nir,
            (
                pattern(
                    "French NIR",
                    "[1-478]",
                    r"[ ]?\d{2}[ ]?\d{2}[ ]?(?:\d{2}|2[AB])[ ]?\d{3}[ ]?\d{3}[ ]?\d{2}\b",
                    0.55,
                ),
            ),
            wordlist(
                "nir, sécurité sociale, securite sociale, numéro de sécu, insee, carte vitale, numéro"
                " de sécurité sociale"
            ),
        ),
        NationalId(
            "es-dni",
            "Spanish DNI",
            dni,
            (pattern("eight digits and a check letter", r"\d", r"\d{7}[ \-]?[A-Z]\b", 0.55),),
            wordlist("dni, nif, documento nacional, documento de identidad"),
        ),
        NationalId(
            "es-nie",
            "Spanish NIE",
            nie,
            (
                pattern(
                    "X/Y/Z, seven digits, check letter",
                    "[XYZ]",
                    r"[ \-]?\d{7}[ \-]?[A-Z]\b",
                    0.65,
                ),
            ),
            ("nie", "número de identidad de extranjero", "extranjero"),
        ),
        NationalId(
            "it-codicefiscale",
            "Italian codice fiscale",
            codicefiscale,
            (
                pattern(
                    "codice fiscale",
                    "[A-Z]",
                    r"[A-Z]{5}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z]"
                    r"[0-9LMNPQRSTUV]{3}[A-Z]\b",
                    0.85,
                ),
            ),
            ("codice fiscale", "cf", "c.f"),
        ),
        NationalId(
            "nl-bsn",
            "Dutch BSN",
            bsn,
            (DIGITS_9, pattern("BSN 4-2-3", r"\d", r"\d{3}\.\d{2}\.\d{3}\b", 0.35)),
            wordlist("bsn, burgerservicenummer, sofinummer, sofi-nummer"),
        ),
        NationalId(
            "be-nn",
            "Belgian national number",
            nn,
            (
                pattern(
                    "Belgian NN yy.mm.dd-nnn.cc", r"\d", r"\d\.\d{2}\.\d{2}-\d{3}\.\d{2}\b", 0.6
                ),
                DIGITS_11,
            ),
            wordlist(
                "rijksregisternummer, rijksregister, numéro national, registre national, national "
                "number, insz, niss"
            ),
        ),
        NationalId(
            "pl-pesel",
            "Polish PESEL",
            pesel,
            (DIGITS_11,),
            ("pesel",),
        ),
        NationalId(
            "se-personnummer",
            "Swedish personal identity number",
            personnummer,
            (
                pattern("Swedish yymmdd-nnnn", r"\d", r"(?:\d{7}|\d{5})[\-+]\d{4}\b", 0.45),
                DIGITS_10,
            ),
            ("personnummer", "personnr", "person nr"),
        ),
        NationalId(
            "dk-cpr",
            "Danish CPR number",
            cpr,
            (pattern("Danish ddmmyy-nnnn", r"\d", r"\d{5}-?\d{4}\b", 0.15),),
            wordlist("cpr, cpr-nr, cpr nr, cpr-nummer, personnummer"),
            generic_words=False,
            context_boost=0.4,
        ),
        NationalId(
            "fi-hetu",
            "Finnish personal identity code",
            hetu,
            (pattern("Finnish HETU", r"\d", r"\d{5}[\-+A-FU-Y]\d{3}[0-9A-Y]\b", 0.7),),
            ("henkilötunnus", "hetu", "personbeteckning"),
        ),
        NationalId(
            "ie-pps",
            "Irish PPS number",
            pps,
            (pattern("seven digits and check letters", r"\d", r"\d{6}[A-W][A-IW]?\b", 0.5),),
            wordlist("pps, ppsn, pps number, personal public service"),
        ),
        NationalId(
            "pt-nif",
            "Portuguese tax number",
            nif,
            (DIGITS_9,),
            wordlist("nif, contribuinte, número de contribuinte, identificação fiscal"),
        ),
    )
