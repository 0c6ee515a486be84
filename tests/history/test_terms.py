"""Hashed word profiles: what a draft says, counted the way history keeps it."""

from __future__ import annotations

from missend.history.terms import term_counts


def test_a_repeated_word_counts_once_per_use_in_one_bucket() -> None:
    counts = term_counts("pipeline pipeline", "Pipeline capacity and the pipeline.")
    assert sorted(counts.values()) == [1, 4]


def test_stop_words_and_the_quoted_thread_are_not_counted() -> None:
    body = "Thanks for the figures.\n\n-----Original Message-----\nFrom: x\nSent: y\nquarterly"
    assert sum(term_counts("", body).values()) == 1
