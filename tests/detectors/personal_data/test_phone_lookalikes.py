"""Numbers that pass a checksum by chance must not be reported without context (from Enron mail)."""

from __future__ import annotations

from stdnum.gb import nhs

from missend.detectors.personal_data import Scanner


def _valid_nhs_like_phone() -> str:
    for tail in range(10000):
        digits = f"713853{tail:04d}"
        if nhs.is_valid(digits):
            return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    raise AssertionError("no checksum-valid number in range")


def kinds(text: str) -> set[str]:
    return {m.kind for m in Scanner().scan(text).matches}


def test_a_north_american_phone_number_is_not_an_nhs_number() -> None:
    number = _valid_nhs_like_phone()
    assert "nhs" not in kinds(f"Call me at {number} tomorrow about the gas contract.")


def test_the_same_digits_with_nhs_context_are_an_nhs_number() -> None:
    number = _valid_nhs_like_phone()
    assert "nhs" in kinds(f"Patient NHS number: {number}")
