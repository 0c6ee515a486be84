"""The scanner: the fast paths find exactly what a plain pattern-by-pattern scan finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from missend.detectors.personal_data.categories import words
from missend.detectors.personal_data.context import TextContext
from missend.detectors.personal_data.recognizers import Match
from missend.detectors.personal_data.samples import Synth
from missend.detectors.personal_data.scanner import Scanner, _collective, _resolve, _State

SCANNER = Scanner()
SYNTH = Synth(5)


def plain_scan(text: str) -> tuple[Match, ...]:
    """Every pattern tried at every position, every recognizer on every match: the reference."""
    state = _State(TextContext(text, words(text).present, SCANNER.min_score))
    for pat, owners in SCANNER._groups:
        recs = tuple(rec for rec, _ in owners)
        if not pat.first:
            for m in pat.regex.finditer(text):
                state.add(pat, recs, m)
            continue
        for start in range(len(text)):
            if (m := pat.regex.match(text, start)) is not None:
                state.add(pat, recs, m)
    found = _collective(state.found, state.candidates, state.tc)
    return tuple(_resolve([m for m in found if m.score >= SCANNER.min_score]))


PIECES = [
    lambda: SYNTH.nino(spaced=True),
    SYNTH.nino,
    SYNTH.nhs,
    lambda: SYNTH.nhs(spaced=False),
    SYNTH.card,
    SYNTH.iban,
    SYNTH.phone,
    lambda: SYNTH.phone(international=True),
    SYNTH.postcode,
    SYNTH.passport,
    lambda: SYNTH.national("es-dni"),
    lambda: SYNTH.national("nl-bsn"),
    lambda: SYNTH.national("it-codicefiscale"),
    lambda: SYNTH.birth_date().strftime("%d/%m/%Y"),
    lambda: f"{SYNTH.sort_code()} account {SYNTH.account()}",
    lambda: SYNTH.digits(10),
    lambda: "x@example.org",
]
WORDS = [
    "passport",
    "DOB",
    "date of birth",
    "NHS",
    "BSN",
    "sort code",
    "NI number",
    "order",
    "born",
    "\t",
    "\n",
    " ",
    ", ",
    "-",
    "Name\tPassport\tRef\n",
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(range(len(PIECES))).map(lambda i: PIECES[i]()),
            st.sampled_from(WORDS),
        ),
        max_size=40,
    ).map(" ".join)
)
def test_fast_scan_finds_the_same_as_a_plain_scan(text: str) -> None:
    assert SCANNER.scan(text).matches == plain_scan(text)


def test_weak_formats_need_their_context_word_close_by() -> None:
    number = SYNTH.passport()
    near = f"Passport number: {number}"
    far = "Passport renewal is due. " + "Nothing else to add here. " * 8 + f"Ticket {number}"
    assert [m.kind for m in SCANNER.scan(near).matches] == ["passport"]
    assert SCANNER.scan(far).matches == ()


def test_a_column_header_is_context_for_its_column_only() -> None:
    rows = "\n".join(f"P{i}\t{SYNTH.passport()}\t{SYNTH.digits(9)}" for i in range(5))
    text = "Name\tPassport\tOrder\n" + rows
    found = SCANNER.scan(text).matches
    assert len(found) == 5
    assert all(text.count("\t", text.rfind("\n", 0, m.start), m.start) == 1 for m in found)


def test_collective_evidence_is_judged_per_column() -> None:
    rows = [f"P{i}\t{SYNTH.nhs(spaced=False)}\t{4000000000 + 7919 * i}" for i in range(30)]
    text = "Name\tRef A\tRef B\n" + "\n".join(rows)
    nhs = [m for m in SCANNER.scan(text).matches if m.kind == "nhs"]
    columns = {text.count("\t", text.rfind("\n", 0, m.start), m.start) for m in nhs}
    assert len(nhs) == 30
    assert columns == {1}


def test_overlapping_matches_keep_the_strongest() -> None:
    text = f"Card number {SYNTH.card()} thanks"
    kinds = [m.kind for m in SCANNER.scan(text).matches]
    assert kinds == ["card"]


def test_scanning_text_without_digits_or_at_signs_finds_nothing_quickly() -> None:
    text = "A perfectly ordinary note about the quarterly plan. " * 200
    assert SCANNER.scan(text).matches == ()


def test_a_failed_candidate_does_not_hide_a_real_one_inside_it() -> None:
    card = SYNTH.card()
    text = f"23/02/1949 {card}"
    assert [text[m.start : m.end] for m in SCANNER.scan(text).matches] == [card]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text("ABCEGHJKLMNPRSTWXYZ abcdeijmnosuv.-/()+\t\n", max_size=12),
            st.sampled_from(WORDS),
        ),
        max_size=30,
    ).map(" ".join)
)
def test_text_without_digits_or_at_signs_is_skipped_and_holds_nothing(text: str) -> None:
    assert not SCANNER.may_find(text)
    assert plain_scan(text) == ()
