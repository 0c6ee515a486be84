"""The trends page: three charts drawn on the server from the verdict and hold records."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from missend.dashboard.charts import horizontal_bars, rate_columns, stacked_columns
from missend.dashboard.trends import trends
from missend.dashboard.web import dashboard, page, viewer

router = APIRouter()


@router.get("/trends")
def trends_page(request: Request) -> Response:
    session = viewer(request)
    if isinstance(session, Response):
        return session
    dash = dashboard(request)
    found = trends(dash.svc.store, dash.settings.trend_weeks)
    labels = [w.strftime("%d %b") for w in found.weeks]
    near_misses = stacked_columns("Near-misses caught per week, by detector", labels, found.caught)
    senders = horizontal_bars(
        "Senders with the most flagged messages",
        [
            (s.sender, (s.caught, s.overridden, s.flagged - s.caught - s.overridden))
            for s in found.senders
        ],
        ("caught", "sent anyway or released", "no decision yet"),
    )
    overrides = rate_columns(
        "Share of flagged messages sent anyway, per week", labels, found.overridden, found.decided
    )
    return page(
        request,
        "trends.html",
        {
            "trends": found,
            "labels": labels,
            "near_misses": near_misses,
            "senders": senders,
            "overrides": overrides,
        },
        session=session,
    )
