"""Trends from the records: near-misses by detector per week, senders to coach, overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from missend.dashboard.charts import horizontal_bars, nice_ceiling, rate_columns, stacked_columns
from missend.dashboard.trends import Event, Outcome, summarise, trends, week_of
from missend.history.store import Store

from .conftest import hold, seed_verdicts

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday


def ev(days_ago: float, sender: str, detectors: tuple[str, ...], outcome: Outcome) -> Event:
    return Event(NOW - timedelta(days=days_ago), sender, detectors, outcome)


def test_weeks_start_on_monday_utc() -> None:
    assert week_of(NOW) == date(2026, 11, 23)
    assert week_of(datetime(2026, 11, 23, 0, 30, tzinfo=UTC)) == date(2026, 11, 23)
    assert week_of(datetime(2026, 11, 22, 23, 59, tzinfo=UTC)) == date(2026, 11, 16)


def test_caught_messages_count_per_detector_and_week() -> None:
    found = summarise(
        [
            ev(0, "a@x", ("exposed-recipients",), Outcome.CAUGHT),
            ev(1, "a@x", ("exposed-recipients", "personal-data"), Outcome.CAUGHT),
            ev(8, "b@x", ("personal-data",), Outcome.CAUGHT),
            ev(8, "b@x", ("personal-data",), Outcome.OVERRIDDEN),
            ev(9, "c@x", ("misdirected-recipient",), Outcome.PENDING),
            ev(100, "d@x", ("personal-data",), Outcome.CAUGHT),  # before the window
        ],
        weeks=4,
        at=NOW,
    )
    assert found.weeks == (
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
        date(2026, 11, 23),
    )
    assert found.caught == {"exposed-recipients": (0, 0, 0, 2), "personal-data": (0, 0, 1, 1)}
    assert found.overridden == (0, 0, 1, 0)
    assert found.decided == (0, 0, 2, 2)
    assert found.totals == {"flagged": 5, "caught": 3, "overridden": 1, "pending": 1, "decided": 4}
    assert found.override_rate == 0.25


def test_senders_are_ranked_by_flagged_messages_then_overrides() -> None:
    events = [ev(0, "many@x", ("d",), Outcome.CAUGHT)] * 3
    events += [ev(0, "risky@x", ("d",), Outcome.OVERRIDDEN)] * 2
    events += [ev(0, "careful@x", ("d",), Outcome.CAUGHT)] * 2
    events += [ev(0, f"s{i}@x", ("d",), Outcome.CAUGHT) for i in range(20)]
    found = summarise(events, weeks=2, at=NOW)
    assert [s.sender for s in found.senders[:3]] == ["many@x", "risky@x", "careful@x"]
    assert found.senders[1].overridden == 2
    assert len(found.senders) == 10


def test_trends_read_the_verdict_records_and_the_hold_queue(store: Store) -> None:
    now = datetime.now(UTC)
    seed_verdicts(
        store,
        [
            (now, "pat@agency.example", ("exposed-recipients",), "fixed"),
            (now, "pat@agency.example", ("exposed-recipients",), "sent_anyway"),
            (now, "pat@agency.example", (), "sent"),  # nothing flagged: not a near-miss
            (now - timedelta(weeks=30), "old@agency.example", ("personal-data",), "fixed"),
        ],
    )
    held = hold(store)
    found = trends(store, weeks=12, at=now)
    assert found.totals["flagged"] == 3
    assert found.caught == {"exposed-recipients": (0,) * 11 + (1,)}
    assert found.overridden[-1] == 1
    assert {s.sender for s in found.senders} == {"pat@agency.example", held.sender}


def test_chart_axes_and_labels() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 12, 26, 101)] == [1, 1, 5, 10, 20, 50, 200]
    svg = stacked_columns("Caught", ["w1", "w2"], {"a<b": [1, 0], "c": [2, 3]})
    assert svg.startswith('<svg class="chart" role="img" aria-label="Caught"')
    assert "<title>w1: a&lt;b 1</title>" in svg
    assert "<title>w2: c 3</title>" in svg
    assert ">0</text>" in svg
    assert ">4</text>" in svg
    bars = horizontal_bars("Senders", [("pat@x", (2, 1))], ("caught", "overridden"))
    assert "<title>pat@x: overridden 1</title>" in bars
    rates = rate_columns("Overrides", ["w1", "w2"], [1, 0], [4, 0])
    assert "1 of 4 overridden (25%)" in rates
    assert rates.count("<rect") == 1  # no column for a week with nothing decided
