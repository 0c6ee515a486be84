"""The dashboard in Debian's Chromium (headless, driven by Playwright), as an officer uses it.

Screenshots of each step are saved under artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from missend.history.store import Store
from missend.hold.queue import HoldQueue
from missend.register.repository import Register

from .conftest import DELIVERED, OFFICER, PASSWORD, hold, screenshot, seed_verdicts
from .test_pages import incident

LEFT = re.compile(r"^(71 h 5\d min|72 h 0 min) left$")


def sign_in(page: Page, password: str = PASSWORD) -> None:
    page.fill("input[name=name]", OFFICER)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")


def test_sign_in_release_a_held_message_and_see_the_deadline(
    browser: Page, officer: str, store: Store
) -> None:
    page = browser
    held = hold(store)
    page.goto("/dashboard/holds")
    expect(page).to_have_url(re.compile(r"/dashboard/login\?next=%2Fdashboard%2Fholds$"))
    expect(page.locator("h1")).to_have_text("Sign in")
    assert held.subject not in page.content()
    screenshot(page, "01-sign-in")

    sign_in(page)
    expect(page).to_have_url(re.compile(r"/dashboard/holds$"))
    card = page.locator(f"#hold-{held.id}")
    expect(card.locator("h2")).to_have_text(held.subject)
    expect(card.locator(".finding").first).to_be_visible()
    assert card.locator(".finding p").first.inner_text().strip()  # the plain-words explanation
    screenshot(page, "02-held-messages")

    card.locator("button.release-button").click()
    notice = page.locator("p.notice")
    expect(notice).to_contain_text("was released")
    expect(notice).to_contain_text("INC-000001")
    assert held.id in DELIVERED
    assert HoldQueue(store).get(held.id).status == "released"  # type: ignore[union-attr]
    screenshot(page, "03-released-incident-opened")

    notice.locator("a").click()
    expect(page.locator("h1")).to_contain_text("INC-000001")
    expect(page.locator("section.deadline .countdown")).to_have_text(LEFT)
    expect(page.locator("pre.report")).to_contain_text("(a) Nature of the personal data breach")
    screenshot(page, "04-incident-detail")

    page.click("nav >> text=Incidents")
    row = page.locator("tr[data-reference='INC-000001']")
    expect(row.locator(".countdown")).to_have_text(LEFT)
    opened = Register(store).get(1)
    assert opened.source == "hold_release"
    assert opened.reported_by == f"dashboard:{OFFICER} (officer)"
    screenshot(page, "05-register")


def test_report_a_mis_send_by_hand_and_see_overdue_highlighted(
    browser: Page, officer: str, store: Store
) -> None:
    page = browser
    late = incident(store, datetime.now(UTC) - timedelta(hours=75), people=12)
    page.goto("/dashboard/incidents/new")
    sign_in(page)
    expect(page.locator("h1")).to_have_text("Report a mis-send")
    addresses = "\n".join(f"Applicant {i} <applicant{i}@mail.example>" for i in range(240))
    page.fill("input[name=title]", "Newsletter sent with all 240 addresses in To")
    page.fill("textarea[name=recipients]", addresses)
    page.fill("textarea[name=affected]", addresses)
    page.fill("input[name=people]", "240")
    page.fill("input[name=categories]", "contact details, immigration status")
    page.click("button:has-text('Open the incident')")
    expect(page.locator("h1")).to_contain_text("Newsletter sent with all 240 addresses")
    expect(page.locator("section.deadline .countdown")).to_have_text(LEFT)
    expect(page.get_by_text("Every address is in Bcc only: 240 people")).to_be_visible()
    expect(page.locator("pre.notice-text")).to_contain_text("To: undisclosed-recipients:;")
    screenshot(page, "06-reported-incident")

    page.click("nav >> text=Incidents")
    overdue = page.locator(f"tr[data-reference='INC-{late:06d}']")
    expect(overdue).to_have_class("overdue")
    expect(overdue.locator(".countdown")).to_have_text(re.compile(r"^overdue by 3 h"))
    background = overdue.locator("td").first.evaluate("td => getComputedStyle(td).backgroundColor")
    assert background == "rgb(253, 232, 230)"  # the stylesheet loaded and marks it
    assert page.evaluate("typeof tick") == "function"  # the countdown script ran under the CSP
    expect(page.locator("p.summary")).to_contain_text("1 past the 72-hour deadline")
    screenshot(page, "07-register-overdue")


def test_a_wrong_password_and_a_form_without_its_csrf_token(
    browser: Page, officer: str, store: Store
) -> None:
    page = browser
    held = hold(store)
    page.goto("/dashboard/incidents")
    sign_in(page, "this is not the password")
    expect(page.locator("p.error")).to_have_text("That name and password do not match.")
    expect(page).to_have_url(re.compile(r"/dashboard/login$"))
    screenshot(page, "08-wrong-password")

    sign_in(page)
    expect(page).to_have_url(re.compile(r"/dashboard/incidents$"))
    forged = page.request.post(
        f"/dashboard/holds/{held.id}/release",
        form={"reviewed_safe": "yes"},
        max_redirects=0,
    )
    assert forged.status == 403
    assert HoldQueue(store).get(held.id).status == "held"  # type: ignore[union-attr]

    page.click("button:has-text('Sign out')")
    expect(page).to_have_url(re.compile(r"/dashboard/login$"))
    page.goto(f"/dashboard/holds/{held.id}")
    expect(page).to_have_url(re.compile(r"/dashboard/login\?next="))
    assert held.subject not in page.content()


def test_trends_are_drawn_as_charts(browser: Page, officer: str, store: Store) -> None:
    page = browser
    now = datetime.now(UTC)
    rows: list[tuple[datetime, str, tuple[str, ...], str | None]] = []
    for week in range(8):
        at = now - timedelta(weeks=week, hours=1)
        rows += [(at, "pat@agency.example", ("exposed-recipients",), "fixed")] * (week % 3 + 1)
        rows += [(at, "sam@agency.example", ("misdirected-recipient",), "cancelled")] * 2
        rows += [(at, "sam@agency.example", ("personal-data",), "sent_anyway")] * (week % 2)
        rows += [(at, "lee@agency.example", ("personal-data", "wrong-attachment"), None)]
    seed_verdicts(store, rows)
    page.goto("/dashboard/trends")
    sign_in(page)
    expect(page.locator("svg.chart")).to_have_count(3)
    near_misses = page.locator("svg[aria-label='Near-misses caught per week, by detector']")
    expect(near_misses.locator("text.legend")).to_have_text(
        ["exposed-recipients", "misdirected-recipient"]
    )
    senders = page.locator("svg[aria-label='Senders with the most flagged messages'] text.tick")
    expect(senders.first).to_contain_text("sam@agency.example")
    expect(page.locator(".totals")).to_contain_text("of decided warnings overridden")
    screenshot(page, "09-trends")
