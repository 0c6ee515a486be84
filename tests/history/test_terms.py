"""Hashed word profiles: what a draft says, counted the way history keeps it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from missend.history.terms import READ_CHARS, cosine, squares, term_counts

_PIECES = st.sampled_from(
    ["pipeline ", "capacity\n", "> quoted ", "-----Original Message-----\n", "On Monday wrote:\n"]
)


def test_a_repeated_word_counts_once_per_use_in_one_bucket() -> None:
    counts = term_counts("pipeline pipeline", "Pipeline capacity and the pipeline.")
    assert sorted(counts.values()) == [1, 4]


def test_stop_words_and_the_quoted_thread_are_not_counted() -> None:
    body = "Thanks for the figures.\n\n-----Original Message-----\nFrom: x\nSent: y\nquarterly"
    assert sum(term_counts("", body).values()) == 1


def test_a_cosine_from_kept_sums_of_squares_is_the_cosine() -> None:
    draft = term_counts("Pipeline capacity", "Nominations for the pipeline capacity in March.")
    profile = term_counts("", "pipeline pipeline capacity budget forecast nominations variance")
    unrelated = term_counts("", "holiday rota lunch")
    expected = cosine(draft, profile)
    assert 0 < expected < 1
    assert cosine(draft, profile, squares(draft), squares(profile)) == expected
    assert cosine(draft, unrelated, squares(draft), squares(unrelated)) == 0.0
    assert cosine(draft, draft) == cosine(draft, draft, squares(draft), squares(draft)) == 1.0


@settings(max_examples=40, deadline=None)
@given(st.lists(_PIECES, min_size=700, max_size=1500), st.integers(0, 30))
def test_nothing_past_the_read_limit_of_a_body_counts(pieces: list[str], shift: int) -> None:
    body = "x" * shift + "".join(pieces)
    assert term_counts("budget", body) == term_counts("budget", body[:READ_CHARS])
