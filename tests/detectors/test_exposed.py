"""exposed-recipients: what matters is who the visible outsiders are to each other, not how many."""

from __future__ import annotations

import random

import pytest

from missend.engine import Engine
from missend.policy import Policy
from missend.testing import history, message
from missend.verdict import Action

GOV = "Team <team@agency.example.gov.uk>"
WEBMAIL = ["gmail.com", "hotmail.com", "yahoo.co.uk", "outlook.com", "gmx.de", "icloud.com"]


def citizens(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [f"person{i}.{rng.randint(1, 10**6)}@{rng.choice(WEBMAIL)}" for i in range(n)]


def exposed(verdict):  # type: ignore[no-untyped-def]
    return [d for d in verdict.findings if d.finding.detector == "exposed-recipients"]


@pytest.mark.parametrize("count", [240, 500])
def test_hundreds_of_private_addresses_in_to_or_cc_are_high_risk_and_fixed(count: int) -> None:
    for field in ("to", "cc"):
        kwargs = {"cc": citizens(count)} if field == "cc" else {}
        to = ["team@agency.example.gov.uk"] if field == "cc" else citizens(count)
        v = Engine().check(message(GOV, to, **kwargs))  # type: ignore[arg-type]
        [d] = exposed(v)
        assert d.finding.severity >= 0.8
        assert d.action == Action.FIX
        assert len(d.finding.fix.recipients) == count  # type: ignore[union-attr]


def test_twelve_unrelated_members_of_the_public_are_caught_below_client_thresholds() -> None:
    [d] = exposed(Engine().check(message(GOV, citizens(12))))
    assert d.finding.severity >= 0.8
    assert d.finding.evidence["parties"] == 12


def test_visa_applicants_with_lawyers_from_five_firms_are_caught() -> None:
    firms = [f"case{i}@firm{i % 5}-law.co.uk" for i in range(10)]
    [d] = exposed(Engine().check(message(GOV, citizens(90), cc=citizens(70, seed=2) + firms)))
    assert d.finding.severity >= 0.8
    assert d.finding.evidence["organisations"] == 5


def test_all_staff_message_inside_the_organisation_is_not_flagged() -> None:
    staff = [f"staff{i}@agency.example.gov.uk" for i in range(300)]
    assert exposed(Engine().check(message(GOV, staff))) == []


def test_internal_subdomains_count_as_internal() -> None:
    staff = [f"staff{i}@region{i % 3}.agency.example.gov.uk" for i in range(50)]
    assert exposed(Engine().check(message(GOV, staff))) == []


def test_configured_internal_domains_are_not_outsiders() -> None:
    others = [f"p{i}@sister-agency.example.org" for i in range(5)] + citizens(5)
    policy = Policy(internal_domains=("agency.example.gov.uk", "sister-agency.example.org"))
    [d] = exposed(Engine(policy).check(message(GOV, others)))
    assert d.finding.evidence["visible_external"] == 5


def test_one_partner_company_with_an_internal_colleague_in_cc_is_not_flagged() -> None:
    partner = [f"{n}@northwind.co.uk" for n in ("ada", "ben", "cleo", "dev")]
    v = Engine().check(message(GOV, partner, cc=["colleague@agency.example.gov.uk"]))
    assert exposed(v) == []


def test_recipients_written_to_together_before_are_one_party() -> None:
    panel = citizens(6, seed=7)
    past = [message(GOV, panel, subject=f"Panel {i}") for i in range(3)]
    h = history("team@agency.example.gov.uk", past)
    assert exposed(Engine().check(message(GOV, panel), h)) == []
    assert exposed(Engine().check(message(GOV, panel))) != []


def test_reply_within_a_known_thread_is_not_flagged() -> None:
    people = citizens(5, seed=3)
    first = message(GOV, people, message_id="<t1@agency.example.gov.uk>")
    h = history("team@agency.example.gov.uk", [first])
    h.pairs.clear()
    h.neighbours.clear()
    reply = message(GOV, people, in_reply_to="<t1@agency.example.gov.uk>", subject="Re: Hello")
    assert exposed(Engine().check(reply, h)) == []


def test_a_new_outsider_added_to_a_known_group_is_still_exposed_to_it() -> None:
    panel = citizens(6, seed=7)
    h = history("team@agency.example.gov.uk", [message(GOV, panel) for _ in range(3)])
    newcomers = citizens(4, seed=99)
    [d] = exposed(Engine().check(message(GOV, panel + newcomers), h))
    assert d.finding.evidence["parties"] == 5


def test_two_outsiders_from_different_companies_are_below_the_warning_level() -> None:
    v = Engine().check(message(GOV, ["a@alpha.com", "b@beta.com"]))
    assert v.action == Action.ALLOW


def test_business_contacts_weigh_less_than_private_people() -> None:
    companies = [f"buyer@company{i}.com" for i in range(6)]
    private = citizens(6)
    sev = {
        kind: max(
            (d.finding.severity for d in exposed(Engine().check(message(GOV, to)))), default=0.0
        )
        for kind, to in (("companies", companies), ("private", private))
    }
    assert sev["private"] > sev["companies"]


def test_recipients_hidden_in_bcc_or_envelope_are_not_exposed() -> None:
    v = Engine().check(message(GOV, ["team@agency.example.gov.uk"], bcc=citizens(50)))
    assert exposed(v) == []


def test_explanation_speaks_plainly_and_fix_lists_every_outsider() -> None:
    people = citizens(12)
    [d] = exposed(Engine().check(message(GOV, people, cc=["me@agency.example.gov.uk"])))
    assert "12 people outside your organisation" in d.finding.explanation
    assert set(d.finding.fix.recipients) == {p.lower() for p in people}  # type: ignore[union-attr]
    assert "me@agency.example.gov.uk" not in d.finding.fix.recipients  # type: ignore[union-attr]
