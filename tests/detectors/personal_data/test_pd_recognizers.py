"""Each recognizer: what it must find, and the look-alikes it must leave alone."""

from __future__ import annotations

import pytest
from stdnum import luhn
from stdnum.gb import nhs

from missend.detectors.personal_data import Scanner
from missend.detectors.personal_data.national import national_recognizers
from missend.detectors.personal_data.recognizers import Match
from missend.detectors.personal_data.samples import Synth, complete

SCANNER = Scanner()
SYNTH = Synth(7)


def found(text: str, kind: str | None = None) -> list[Match]:
    return [m for m in SCANNER.scan(text).matches if kind is None or m.kind == kind]


def spans(text: str, kind: str) -> list[str]:
    return [text[m.start : m.end] for m in found(text, kind)]


# --- national insurance number -------------------------------------------------------------


@pytest.mark.parametrize(
    "nino", ["AB123456C", "AB 12 34 56 C", "AB 123456 D", "JG 10 32 74 A", "ZA123456B"]
)
def test_nino_valid_formats_are_found_without_context(nino: str) -> None:
    assert spans(f"Employee {nino} joined.", "nino") == [nino]


@pytest.mark.parametrize(
    "nino",
    [
        "DA123456A",  # D never first
        "AD123456A",  # D never second
        "FA123456A",
        "IA123456A",
        "QA123456A",
        "UA123456A",
        "VA123456A",
        "AO123456A",  # O never second
        "BG123456A",
        "GB123456A",
        "KN123456A",
        "NK123456A",
        "NT123456A",
        "TN123456A",
        "ZZ123456A",
        "AB123456E",  # suffix only A-D
        "AB12345C",  # five digits
        "XAB123456C",  # part of a longer token
    ],
)
def test_nino_breaking_hmrc_rules_is_rejected(nino: str) -> None:
    assert spans(f"Ref {nino} here", "nino") == []


def test_nino_context_raises_score_and_says_why() -> None:
    bare = found("Code AB123456C.", "nino")[0]
    said = found("National Insurance number: AB123456C.", "nino")[0]
    assert said.score > bare.score
    assert any("national insurance" in r for r in said.reasons)
    assert any("HMRC" in r for r in said.reasons)


# --- NHS number ----------------------------------------------------------------------------


def test_nhs_number_grouped_is_found_and_invalid_checksum_rejected() -> None:
    good = SYNTH.nhs()
    compact = good.replace(" ", "")
    bad_last = next(d for d in "0123456789" if not nhs.is_valid(compact[:-1] + d))
    bad = f"{compact[:3]} {compact[3:6]} {compact[6:9]}{bad_last}"
    assert spans(f"Patient {good} seen.", "nhs") == [good]
    assert spans(f"Patient {bad} seen.", "nhs") == []


def test_us_phone_numbers_in_nhs_shape_are_not_nhs_numbers() -> None:
    """Seen in the Enron mail: this US number passes the NHS check digit."""
    assert nhs.is_valid("8002479297")
    assert spans("British Airways telephone is 800 247 9297.", "nhs") == []
    assert spans("Call 800-247-9297 today", "nhs") == []


def test_ten_plain_digits_need_context_even_with_a_valid_checksum() -> None:
    value = SYNTH.nhs(spaced=False)
    assert spans(f"Order number {value} shipped.", "nhs") == []
    assert spans(f"NHS No: {value}", "nhs") == [value]


def test_a_column_of_valid_nhs_numbers_is_believed_together() -> None:
    rows = "\n".join(f"row{i}\t{SYNTH.nhs(spaced=False)}" for i in range(6))
    assert len(found("Name\tRef\n" + rows, "nhs")) == 6
    reasons = found("Name\tRef\n" + rows, "nhs")[0].reasons
    assert any("pass the check" in r for r in reasons)


def test_random_ten_digit_order_numbers_are_not_believed_together() -> None:
    numbers = [f"{4000000000 + i * 7919}" for i in range(40)]
    text = "Orders:\n" + "\n".join(f"order {n}" for n in numbers)
    assert found(text, "nhs") == []


def test_nhs_column_header_is_context_for_the_column() -> None:
    value = SYNTH.nhs(spaced=False)
    text = f"Name\tNHS Number\tWard\nJo Bloggs\t{value}\t3\n"
    match = found(text, "nhs")[0]
    assert any("column headed 'nhs number'" in r for r in match.reasons)


# --- IBAN, card, bank account ----------------------------------------------------------------


@pytest.mark.parametrize("country", ["GB", "DE", "FR", "NL", "ES"])
def test_iban_with_valid_check_digits_is_found(country: str) -> None:
    value = SYNTH.iban(country)
    assert spans(f"Pay to {value} by Friday", "iban") == [value]
    assert spans(f"Pay to {value.replace(' ', '')} by Friday", "iban") == [value.replace(" ", "")]


def test_iban_with_wrong_check_digits_is_rejected() -> None:
    assert spans("Pay to GB82 WEST 1234 5698 7654 33 now", "iban") == []
    assert spans("Pay to GB82 WEST 1234 5698 7654 32 now", "iban") == [
        "GB82 WEST 1234 5698 7654 32"
    ]


@pytest.mark.parametrize(
    ("prefix", "length"),
    [("4", 16), ("51", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16), ("4", 13)],
)
def test_payment_card_of_a_known_issuer_passing_luhn_is_found(prefix: str, length: int) -> None:
    value = SYNTH.card(prefix, length, spaced=length in (15, 16))
    assert spans(f"card {value} exp 09/27", "card") == [value]


def test_payment_card_failing_luhn_or_unknown_issuer_is_rejected() -> None:
    body = "411111111111111"
    bad = body + next(d for d in "0123456789" if not luhn.is_valid(body + d))
    assert spans(f"card {bad}", "card") == []
    unknown = "9" + "1234567890123" + "4"
    unknown = complete(unknown[:-1], luhn.is_valid) or ""
    assert spans(f"ref {unknown}", "card") == []


def test_sort_code_and_account_number_need_each_other_and_context() -> None:
    assert spans("Sort code 20-00-00, account 12345678.", "bank-account") == [
        "20-00-00, account 12345678"
    ]
    assert spans("Account number 12345678 sort code 40-11-62", "bank-account") != []
    assert spans("Sort code 20-00-00 only.", "bank-account") == []
    assert spans("Meeting 20-00-00 then ticket 12345678.", "bank-account") == []


# --- dates of birth, passports ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "DOB: 03/04/1985",
        "Date of birth 3 April 1985",
        "born on 1985-04-03",
        "Birth date: April 3rd, 1985",
        "D.O.B. 03.04.85",
    ],
)
def test_date_of_birth_needs_a_birth_word(text: str) -> None:
    assert len(found(text, "dob")) == 1


@pytest.mark.parametrize(
    "text",
    ["Invoice date 03/04/1985", "Meeting on 3 April 2024", "Due 2024-04-03", "DOB: 31/02/1985"],
)
def test_dates_without_birth_context_or_impossible_dates_are_not_births(text: str) -> None:
    assert found(text, "dob") == []


def test_future_dates_are_not_dates_of_birth() -> None:
    assert found("Date of birth: 01/01/2999", "dob") == []


def test_passport_number_only_with_passport_context() -> None:
    number = SYNTH.passport()
    assert spans(f"Passport no. {number}", "passport") == [number]
    assert spans(f"Ticket {number}", "passport") == []
    assert spans("Reisepass C01X00T47", "passport") == ["C01X00T47"]


# --- phone, postcode, e-mail ----------------------------------------------------------------


@pytest.mark.parametrize(
    "phone", ["020 7946 0018", "+44 20 7946 0018", "07911 123456", "(0161) 496 0123"]
)
def test_valid_uk_phone_numbers_are_found(phone: str) -> None:
    assert len(found(f"Call me on {phone} today", "phone")) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Call 07700 900123 (drama range)",  # Ofcom fiction range: not a valid number
        "Invoice 20240312-77 for 1,250.00",
        "Version 1.2.3.4567 released",
        "Total 123 456 789",
        "Jun-00  $ 4.0792           380.00             15,960.00",  # columns, not a number
    ],
)
def test_invalid_or_non_phone_digit_runs_are_not_phones(text: str) -> None:
    assert found(text, "phone") == []


def test_phone_numbers_separated_only_by_spaces_are_each_found() -> None:
    """libphonenumber's matcher sees one long candidate here and finds nothing."""
    text = "Tel 020 7946 0018 020 7946 0019 or +44 7911 123456"
    assert spans(text, "phone") == ["020 7946 0018", "020 7946 0019", "+44 7911 123456"]


def test_uk_postcode_strict_format() -> None:
    assert spans("London SW1A 1AA", "postcode") == ["SW1A 1AA"]
    assert spans("Leeds LS1 4AP", "postcode") == ["LS1 4AP"]
    assert spans("Model QV1 2AB and CV1 2CI", "postcode") == []


def test_postcode_without_its_space_needs_context() -> None:
    """Seen in the Enron mail: participant IDs like ER93FX have a postcode's shape."""
    assert spans("Unique ID - Participant\nER93FX - John", "postcode") == []
    assert spans("Postcode: SW1A1AA", "postcode") == ["SW1A1AA"]


def test_email_addresses_are_found() -> None:
    text = "a.one@example.com, b_two+x@mail.example.co.uk; not@valid"
    assert spans(text, "email") == ["a.one@example.com", "b_two+x@mail.example.co.uk"]


# --- EU national identifiers -------------------------------------------------------------------

STRONG = ["fr-nir", "es-dni", "es-nie", "it-codicefiscale", "fi-hetu", "ie-pps"]
WEAK = ["de-idnr", "nl-bsn", "pl-pesel", "pt-nif"]
WORD = {"de-idnr": "Steuer-ID", "nl-bsn": "BSN", "pl-pesel": "PESEL", "pt-nif": "NIF"}


@pytest.mark.parametrize("scheme", STRONG)
def test_distinctive_national_ids_are_found_alone(scheme: str) -> None:
    value = SYNTH.national(scheme)
    match = found(f"Holder {value} confirmed", "national-id")
    assert [m.recognizer for m in match] == [scheme]


@pytest.mark.parametrize("scheme", WEAK)
def test_plain_digit_national_ids_need_their_name_nearby(scheme: str) -> None:
    value = SYNTH.national(scheme)
    assert found(f"Reference {value} confirmed", "national-id") == []
    match = found(f"{WORD[scheme]}: {value}", "national-id")
    assert [m.recognizer for m in match] == [scheme]


@pytest.mark.parametrize("scheme", STRONG + WEAK + ["be-nn", "se-personnummer"])
def test_national_ids_with_a_broken_check_are_rejected(scheme: str) -> None:
    value = SYNTH.national(scheme)
    rec = next(r for r in national_recognizers() if r.name == scheme)
    broken = next(
        value[:-1] + ch
        for ch in "0123456789ABCDEFGHJKLMNPRSTUVWXY"
        if ch != value[-1] and not rec.validate(rec.normalise(value[:-1] + ch))
    )
    assert [m for m in found(f"Identity number: {broken}") if m.recognizer == scheme] == []


def test_danish_cpr_has_no_checksum_so_only_its_own_name_counts() -> None:
    assert found("Identity number: 100561-8950", "national-id") == []
    assert [m.recognizer for m in found("CPR-nr: 100561-8950", "national-id")] == ["dk-cpr"]


def test_every_result_says_why_it_scored() -> None:
    text = "NI AB123456C, IBAN GB82 WEST 1234 5698 7654 32, call 020 7946 0018"
    for m in found(text):
        assert m.reasons[0].startswith("format:")
