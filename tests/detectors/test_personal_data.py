"""The personal-data detector: severity follows what the data is, how much, and where it goes."""

from __future__ import annotations

import json
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from missend.detectors.base import CheckContext, Finding, FixKind
from missend.detectors.personal_data import PersonalData, PersonalDataSettings, Scanner
from missend.detectors.personal_data.samples import Synth
from missend.engine import Engine
from missend.history.model import SenderHistory
from missend.message import parse_message
from missend.message.model import Address, Attachment, Field, Message, Recipient
from missend.orgs import Organisations
from missend.policy import Policy
from missend.verdict import Action

SENDER = "alice@acme.co.uk"
PARTNER = ("bob@partner.co.uk", "carol@partner.co.uk")
COLLEAGUE = ("dave@acme.co.uk",)
SIGNATURE = (
    "\n\nKind regards,\nAlice Jones\nPayroll Officer, Acme Ltd\n"
    "1 High Street, London EC1A 1BB\nTel: 020 7946 0018\n"
)
SYNTH = Synth(11)


def message(
    body: str = "Hello,\nplease see below." + SIGNATURE,
    to: tuple[str, ...] = PARTNER,
    attachments: tuple[Attachment, ...] = (),
    subject: str = "Update",
) -> Message:
    return Message(
        from_=(Address(SENDER),),
        recipients=tuple(Recipient(Address(e), Field.TO) for e in to),
        subject=subject,
        body_text=body,
        attachments=attachments,
    )


def check(msg: Message, **overrides: float | int) -> list[Finding]:
    ctx = CheckContext(msg, SenderHistory(SENDER), Organisations(["acme.co.uk"]))
    return list(PersonalData(PersonalDataSettings(**overrides)).check(ctx))  # type: ignore[arg-type]


def severity(msg: Message) -> float:
    findings = check(msg)
    return max((f.severity for f in findings), default=0.0)


def staff_csv(rows: int, column: str = "NI number", make: str = "nino") -> Attachment:
    values = [getattr(SYNTH, make)() for _ in range(rows)]
    text = f"Name\t{column}\tTeam\n" + "\n".join(
        f"Person {i}\t{v}\tTeam {i % 7}" for i, v in enumerate(values)
    )
    return Attachment("staff.csv", "text/csv", len(text), text, records=rows)


# --- severity depends on context -----------------------------------------------------------


def test_a_phone_number_in_a_signature_to_a_partner_does_not_warn() -> None:
    assert severity(message()) < 0.3


def test_contact_details_of_a_few_people_in_a_thread_do_not_warn() -> None:
    quoted = "".join(
        f"\n> From: Person {i}\n> Tel {SYNTH.phone()}\n> {SYNTH.postcode()}" for i in range(3)
    )
    assert severity(message("Thanks, agreed." + SIGNATURE + quoted)) < 0.3


def test_a_spreadsheet_of_500_ninos_going_outside_is_high() -> None:
    findings = check(message(attachments=(staff_csv(500),)))
    assert len(findings) == 1
    f = findings[0]
    assert f.severity >= 0.8
    assert f.evidence["counts"]["nino"] >= 495
    assert "national insurance numbers in staff.csv" in f.explanation
    assert "going to 2 people outside your organisation" in f.explanation
    assert f.fix is not None
    assert f.fix.kind is FixKind.REMOVE_ATTACHMENT
    assert f.fix.parts == ("attachment:staff.csv",)
    assert set(f.recipients) == set(PARTNER)


def test_the_same_spreadsheet_sent_internally_is_low_at_most() -> None:
    s = severity(message(to=COLLEAGUE, attachments=(staff_csv(500),)))
    assert 0.3 <= s < 0.55


def test_internal_mail_with_very_many_people_can_reach_medium() -> None:
    s = severity(message(to=COLLEAGUE, attachments=(staff_csv(1200),)))
    assert s >= 0.55


def test_special_category_data_about_a_person_going_outside_is_at_least_medium() -> None:
    body = (
        "Hi Bob,\nRe our patient, NHS number "
        f"{SYNTH.nhs()}: she was diagnosed with depression last year and her medication "
        "was changed by the GP." + SIGNATURE
    )
    f = check(message(body))[0]
    assert f.severity >= 0.55
    assert "health" in f.explanation
    assert f.evidence["special_categories"] == ["health"]


def test_special_category_words_count_from_a_part_that_holds_no_identifier() -> None:
    body = "Hi Bob,\nshe was diagnosed with depression and her medication was changed."
    f = check(message(body, subject=f"Patient NHS number {SYNTH.nhs()}"))[0]
    assert f.evidence["special_categories"] == ["health"]


def test_special_category_words_without_data_about_people_do_not_raise_severity() -> None:
    body = "Our mental health and wellbeing policy covers depression and anxiety." + SIGNATURE
    assert severity(message(body)) < 0.3


def test_forwarded_chain_mail_with_many_addresses_and_sensitive_words_is_not_special() -> None:
    """Seen in the Enron mail: jokes forwarded to long lists mention religion and illness."""
    addresses = ", ".join(f"friend{i}@example{i % 4}.org" for i in range(40))
    body = f"To: {addresses}\n\nA Christian, a Muslim and a patient with cancer walk into a bar."
    assert severity(message(body)) < 0.55


def test_a_table_of_people_with_health_details_going_outside_is_special() -> None:
    rows = "\n".join(f"Person {i}\t{SYNTH.phone()}\tdiagnosis pending" for i in range(20))
    text = "Name\tPhone\tNotes\n" + rows + "\nMedication review due for all."
    att = Attachment("clinic.csv", "text/csv", len(text), text, records=20)
    f = check(message("List attached." + SIGNATURE, attachments=(att,)))[0]
    assert f.severity >= 0.55
    assert f.evidence["special_categories"] == ["health"]


def test_a_card_number_weighs_more_than_a_phone_number() -> None:
    card = severity(message(f"Please charge card {SYNTH.card()} today." + SIGNATURE))
    phone = severity(message(f"Please call {SYNTH.phone()} today." + SIGNATURE))
    assert card >= 0.55
    assert phone < 0.3


def test_more_people_means_higher_severity() -> None:
    few = severity(message(attachments=(staff_csv(3),)))
    many = severity(message(attachments=(staff_csv(60),)))
    assert few < many


def test_a_personal_mailbox_recipient_raises_severity() -> None:
    body = f"Your NI number is {SYNTH.nino()}." + SIGNATURE
    company = severity(message(body, to=("bob@partner.co.uk",)))
    webmail = severity(message(body, to=("bob@gmail.com",)))
    assert webmail > company
    assert "personal e-mail address" in check(message(body, to=("bob@gmail.com",)))[0].explanation


def test_a_list_of_many_email_addresses_counts_as_personal_data() -> None:
    addresses = "\n".join(f"member{i}@example{i % 5}.org" for i in range(40))
    findings = check(message("Mailing list export:\n" + addresses))
    assert findings
    assert findings[0].evidence["counts"]["email"] == 40


def test_a_few_addresses_in_a_quoted_thread_are_not_a_list() -> None:
    quoted = "\n".join(f"> From: p{i}@other.org" for i in range(4))
    assert check(message("Agreed.\n" + quoted)) == []


def test_the_message_own_participants_are_not_counted_as_a_list() -> None:
    to = tuple(f"user{i}@partner.co.uk" for i in range(15))
    body = "Sending to: " + ", ".join(to)
    assert check(message(body, to=to)) == []


# --- findings are plain, countable, and carry no identifiers -----------------------------


def test_findings_never_contain_the_identifier_values() -> None:
    nino, card, nhs = SYNTH.nino(), SYNTH.card(), SYNTH.nhs()
    body = f"NI {nino}\nCard {card}\nNHS number {nhs}\n" + SIGNATURE
    f = check(message(body))[0]
    dumped = json.dumps(f.to_dict(), ensure_ascii=False)
    for value in (nino, card, nhs, card.replace(" ", ""), nhs.replace(" ", "")):
        assert value not in dumped
    assert f.evidence["examples"]["nino"].startswith(nino[:2])
    assert "•" in f.evidence["examples"]["nino"]


def test_body_only_data_gets_a_concrete_review_instruction() -> None:
    f = check(message(f"Her NI number is {SYNTH.nino()}." + SIGNATURE))[0]
    assert f.fix is not None
    assert f.fix.kind is FixKind.REVIEW
    assert "national insurance numbers" in f.fix.description
    assert f.parts == ("body",)


def test_one_finding_summarises_every_part() -> None:
    msg = message(
        f"NI number {SYNTH.nino()}" + SIGNATURE,
        attachments=(staff_csv(20, "NHS number", "nhs"),),
        subject=f"Card {SYNTH.card()}",
    )
    findings = check(msg)
    assert len(findings) == 1
    assert set(findings[0].parts) == {"body", "subject", "attachment:staff.csv"}
    assert findings[0].evidence["parts"]["attachment:staff.csv"]["nhs"] == 20


def test_people_estimate_uses_the_row_count_of_a_truncated_table() -> None:
    att = staff_csv(40)
    truncated = Attachment(
        att.filename, att.content_type, att.size, att.text, records=400, truncated=True
    )
    f = check(message(attachments=(truncated,)))[0]
    assert f.evidence["people"] == 400


def test_thresholds_come_from_settings() -> None:
    body = f"Phone list:\n{SYNTH.phone()}\n{SYNTH.phone()}\n{SYNTH.phone()}"
    assert 0 < severity(message(body)) < 0.3
    assert check(message(body), report_from=0.5) == []


def test_settings_can_be_set_from_the_policy() -> None:
    policy = Policy.from_dict({"detectors": {"personal-data": {"email-list-min": 3}}})
    engine = Engine(policy)
    detector = next(d for d in engine.detectors if d.name == "personal-data")
    assert isinstance(detector.settings, PersonalDataSettings)
    assert detector.settings.email_list_min == 3


# --- end to end -------------------------------------------------------------------------------


def _raw(body: str, csv: str | None, to: str) -> bytes:
    boundary = "XyZ123"
    parts = [
        f"From: Alice <{SENDER}>",
        f"To: {to}",
        "Subject: Staff list",
        "Message-ID: <m1@acme.co.uk>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "",
        body,
    ]
    if csv is not None:
        parts += [
            f"--{boundary}",
            'Content-Type: text/csv; name="staff.csv"',
            'Content-Disposition: attachment; filename="staff.csv"',
            "",
            csv,
        ]
    parts.append(f"--{boundary}--")
    return "\r\n".join(parts).encode()


def test_engine_holds_a_staff_list_sent_outside() -> None:
    rows = "\r\n".join(f"Person {i},{SYNTH.nino()},{SYNTH.phone()}" for i in range(300))
    raw = _raw(
        "Here is the list." + SIGNATURE, "Name,NI number,Phone\r\n" + rows, "bob@partner.co.uk"
    )
    verdict = Engine(Policy(internal_domains=("acme.co.uk",))).check(parse_message(raw))
    decided = [d for d in verdict.findings if d.finding.detector == "personal-data"]
    assert decided
    assert decided[0].finding.severity >= 0.8
    assert decided[0].action is Action.HOLD
    assert verdict.action is Action.HOLD


def test_engine_allows_an_ordinary_message_with_a_signature() -> None:
    raw = _raw("Thanks for the meeting, see you Tuesday." + SIGNATURE, None, "bob@partner.co.uk")
    verdict = Engine(Policy(internal_domains=("acme.co.uk",))).check(parse_message(raw))
    assert [d for d in verdict.findings if d.finding.detector == "personal-data"] == []


# --- robustness -------------------------------------------------------------------------------

SCANNER = Scanner()
_ALPHABET = st.sampled_from(
    [*"0123456789 -./+()@\t\nABCDEGHJKLMNPRSTWXYZabcz", "NHS ", "DOB ", "passport ", "é"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=600).map("".join))
def test_scanning_arbitrary_text_never_raises_and_stays_in_the_text(text: str) -> None:
    for m in SCANNER.scan(text).matches:
        assert 0 <= m.start < m.end <= len(text)
        assert m.score >= 0.5


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000))
def test_scanning_any_unicode_never_raises(text: str) -> None:
    SCANNER.scan(text)


def test_scanning_time_grows_linearly_on_adversarial_input() -> None:
    """Long runs of digits and separators are what the patterns look at; they must stay cheap."""
    nasty = [
        "1" * 200_000,
        "1 " * 100_000,
        "12-" * 70_000,
        "0" + " 0" * 100_000,
        "AB12 " * 40_000,
        "a@" * 100_000,
        ("x" * 63 + "@") * 3000,
        "GB82 " * 40_000,
    ]
    for text in nasty:
        start = time.perf_counter()
        SCANNER.scan(text)
        assert time.perf_counter() - start < 3.0, text[:20]
