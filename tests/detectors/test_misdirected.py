"""misdirected-recipient: warn on a slip for a known contact, never on a first contact alone."""

from __future__ import annotations

from missend.engine import Engine
from missend.history.model import SenderHistory
from missend.message.model import Message
from missend.testing import days_ago, history, message
from missend.verdict import Action, Verdict

ME = "Sam Hale <sam@acme-grid.com>"
TOM = "Tom Reed <tom.reed@northwind.co.uk>"
ADA = "Ada Keller <ada.keller@northwind.co.uk>"
JOHN = "John Smith <john.smith@harbourfreight.com>"
JOHNNY = "John Smithers <j.smithers@kestrel-media.com>"


def sam_history() -> SenderHistory:
    sent: list[Message] = []
    for week in range(12):
        when = days_ago(100 - 7 * week)
        sent.append(
            message(
                ME,
                [TOM, ADA],
                subject=f"Works update {week}",
                date=when,
                body="Update on the substation connection works and the outage plan.",
            )
        )
        sent.append(
            message(
                ME,
                [JOHN],
                subject=f"Freight {week}",
                date=when,
                body="Please confirm the freight booking for the transformer delivery.",
            )
        )
    sent.append(
        message(
            ME,
            [JOHNNY],
            subject="Press visit",
            date=days_ago(30),
            body="Thanks for the press visit request; we can host you in May.",
        )
    )
    return history("sam@acme-grid.com", sent)


def misdirected(v: Verdict) -> dict[str, object]:
    return {
        d.finding.recipients[0]: d
        for d in v.findings
        if d.finding.detector == "misdirected-recipient"
    }


def check(*to: str, body: str = "Hello", history_: SenderHistory | None = None) -> Verdict:
    return Engine().check(message(ME, list(to), body=body), history_ or sam_history())


def test_first_contact_alone_does_not_warn() -> None:
    v = check("Nina Ortiz <nina@newclient.example>", body="Nice to meet you at the conference.")
    assert misdirected(v) == {}
    assert v.action == Action.ALLOW


def test_first_contact_alongside_known_people_does_not_warn() -> None:
    v = check(TOM, ADA, "Lee Park <lee.park@surveyors.example>")
    assert misdirected(v) == {}


def test_known_contacts_do_not_warn() -> None:
    assert misdirected(check(TOM, ADA)) == {}
    assert misdirected(check(JOHN)) == {}


def test_typo_in_the_domain_of_a_known_contact_warns_and_offers_the_right_address() -> None:
    found = misdirected(check("Tom Reed <tom.reed@northwlnd.co.uk>", ADA))
    d = found["tom.reed@northwlnd.co.uk"]
    assert d.finding.severity >= 0.8  # type: ignore[attr-defined]
    assert d.finding.fix.replacements == {"tom.reed@northwlnd.co.uk": "tom.reed@northwind.co.uk"}  # type: ignore[attr-defined]


def test_sibling_domain_of_a_known_contact_warns() -> None:
    found = misdirected(check("tom.reed@northwind.com", ADA))
    assert found["tom.reed@northwind.com"].finding.severity >= 0.55  # type: ignore[attr-defined]


def test_typo_in_the_local_part_on_a_known_domain_warns() -> None:
    found = misdirected(check("tom.reid@northwind.co.uk", ADA))
    assert "tom.reid@northwind.co.uk" in found


def test_private_address_of_a_work_contact_warns_with_a_reason() -> None:
    found = misdirected(check("Tom Reed <tom.reed1971@gmail.com>", ADA))
    d = found["tom.reed1971@gmail.com"]
    assert "private address" in d.finding.explanation  # type: ignore[attr-defined]
    assert "tom.reed@northwind.co.uk" in d.finding.explanation  # type: ignore[attr-defined]


def test_private_address_next_to_the_same_persons_work_address_suggests_removal() -> None:
    found = misdirected(check(TOM, "tom.reed@gmail.com"))
    d = found["tom.reed@gmail.com"]
    assert d.finding.fix.kind == "remove-recipients"  # type: ignore[attr-defined]


def test_same_display_name_at_an_unknown_address_warns() -> None:
    found = misdirected(check("Ada Keller <ada@keller-consulting.example>", TOM))
    assert "ada@keller-consulting.example" in found


def test_wrong_john_picked_by_autocomplete_is_caught_by_company_and_content() -> None:
    v = check(JOHNNY, TOM, body="The transformer delivery and the freight booking are confirmed.")
    d = misdirected(v)["j.smithers@kestrel-media.com"]
    assert d.finding.fix.replacements == {  # type: ignore[attr-defined]
        "j.smithers@kestrel-media.com": "john.smith@harbourfreight.com"
    }
    assert v.action.rank >= Action.WARN.rank


def test_wrong_john_alone_is_caught_by_content() -> None:
    v = check(JOHNNY, body="Please confirm the freight booking for the transformer delivery.")
    assert "j.smithers@kestrel-media.com" in misdirected(v)


def test_the_other_john_for_his_own_topic_is_fine() -> None:
    v = check(JOHNNY, body="About the press visit in May: we can host you and a photographer.")
    assert misdirected(v) == {}


def _reply_to_john(*to: str, subject: str = "RE: Crane hire") -> Verdict:
    body = (
        "Yes, Thursday works.\n\n-----Original Message-----\n"
        "From: John Smith [mailto:john.smith@harbourfreight.com]\n"
        "Sent: Monday, 3 March 2025 09:12\nSubject: Crane hire\n\nCan we move it to Thursday?\n"
    )
    return Engine().check(message(ME, list(to), subject=subject, body=body), sam_history())


def test_a_reply_to_one_john_sent_to_the_other_warns_and_offers_the_one_answered() -> None:
    d = misdirected(_reply_to_john(JOHNNY))["j.smithers@kestrel-media.com"]
    finding = d.finding  # type: ignore[attr-defined]
    assert "answers the mail from John Smith" in finding.explanation
    assert "wrong John" in finding.explanation
    assert finding.fix.replacements == {
        "j.smithers@kestrel-media.com": "john.smith@harbourfreight.com"
    }
    assert finding.severity >= 0.6


def test_a_reply_sent_to_an_address_starting_like_the_authors_warns() -> None:
    assert "joh99@kestrel-media.com" in misdirected(_reply_to_john("joh99@kestrel-media.com"))


def test_an_author_quoted_by_name_alone_is_found_among_the_contacts() -> None:
    body = "Thursday is fine.\n\n-----Original Message-----\nFrom: Smith, John\nSent: Monday\n"
    v = Engine().check(message(ME, [JOHNNY], subject="RE: Crane hire", body=body), sam_history())
    d = misdirected(v)["j.smithers@kestrel-media.com"]
    assert d.finding.fix.replacements == {  # type: ignore[attr-defined]
        "j.smithers@kestrel-media.com": "john.smith@harbourfreight.com"
    }


def test_a_reply_to_the_person_who_wrote_does_not_warn() -> None:
    assert misdirected(_reply_to_john(JOHN)) == {}
    assert misdirected(_reply_to_john(JOHN, JOHNNY)) == {}


def test_a_forward_of_someones_mail_to_a_namesake_does_not_warn() -> None:
    assert misdirected(_reply_to_john(JOHNNY, subject="FW: Crane hire")) == {}


def test_a_reply_to_someone_unrelated_to_the_author_is_left_to_the_other_checks() -> None:
    assert misdirected(_reply_to_john(TOM, ADA)) == {}


def test_no_history_means_no_misdirect_findings() -> None:
    v = Engine().check(
        message(ME, ["tom.reed@northwlnd.co.uk"]), SenderHistory("sam@acme-grid.com")
    )
    assert misdirected(v) == {}


def test_scores_are_per_recipient() -> None:
    v = check("tom.reed@northwlnd.co.uk", "ada.keler@northwind.co.uk")
    found = misdirected(v)
    assert set(found) == {"tom.reed@northwlnd.co.uk", "ada.keler@northwind.co.uk"}
    for email, d in found.items():
        assert set(d.finding.scores) == {email}  # type: ignore[attr-defined]


def test_in_a_broadcast_a_domain_slip_is_still_found() -> None:
    crowd = [f"member{i}@club{i % 9}.example" for i in range(120)]
    v = check(*crowd, "tom.reed@northwind.co", ADA)
    assert "tom.reed@northwind.co" in misdirected(v)
