"""wrong-attachment: a file about someone who is not a recipient, or a list of many people going out."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest

from missend.detectors.base import CheckContext, Finding, FixKind
from missend.detectors.wrong_attachment import (
    WrongAttachment,
    WrongAttachmentSettings,
    filename_tokens,
)
from missend.engine import Engine
from missend.history.model import Contact, SenderHistory
from missend.message import Limits, parse_message
from missend.message.attachments import extract
from missend.message.model import Address, Attachment, Field, Message, Recipient
from missend.orgs import Organisations
from missend.verdict import Action

SENDER = "ann.lee@ours.example"
SETTINGS = WrongAttachmentSettings()


def recipient(spec: str, field: Field = Field.TO) -> Recipient:
    name, _, email = spec.rpartition(" <")
    return (
        Recipient(Address(email.strip("<>"), name), field)
        if name
        else Recipient(Address(spec), field)
    )


def attachment(filename: str, text: str = "", records: int | None = None) -> Attachment:
    return Attachment(filename, "application/octet-stream", len(text) + 100, text, records)


def history(*contacts: tuple[str, str, int]) -> SenderHistory:
    h = SenderHistory(SENDER)
    for email, name, count in contacts:
        h.contacts[email] = Contact(email, name, count)
    return h


def check(
    to: list[str],
    *files: Attachment,
    body: str = "Please see attached.",
    subject: str = "Documents",
    known: SenderHistory | None = None,
) -> list[Finding]:
    message = Message(
        from_=(Address(SENDER, "Ann Lee"),),
        recipients=tuple(recipient(t) for t in to),
        subject=subject,
        body_text=body,
        attachments=files,
    )
    ctx = CheckContext(message, known or SenderHistory(SENDER), Organisations(["ours.example"]))
    return list(WrongAttachment().check(ctx))


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def staff_sheet(rows: int, header: str = "Name\tDate of birth\tEmail\tNI number") -> str:
    lines = [header] + [
        f"Person {i}\t1980-01-{i % 28 + 1:02}\tp{i}@mail.example\tQQ{i:06}C" for i in range(rows)
    ]
    return "\n".join(lines)


# --- someone else's file -------------------------------------------------------------------


def test_payslip_named_for_someone_else_is_held() -> None:
    f = only(check(["Mary Jones <mary.jones@client.example>"], attachment("Smith_J_payslip.pdf")))
    assert f.detector == "wrong-attachment"
    assert SETTINGS.named_person_severity == f.severity
    assert f.explanation.startswith(
        "The attachment Smith_J_payslip.pdf seems to be about J Smith (going by its file name), "
        "who is not among the recipients."
    )
    assert f.parts == ("attachment:Smith_J_payslip.pdf",)
    assert f.fix is not None
    assert f.fix.kind is FixKind.REMOVE_ATTACHMENT
    assert f.fix.parts == ("attachment:Smith_J_payslip.pdf",)


@pytest.mark.parametrize(
    "to",
    [
        "John Smith <john.smith@client.example>",
        "jsmith@client.example",
        "smith.j@client.example",
        "J Smith <js@client.example>",
        "Smith, John <j.smith@client.example>",
    ],
)
def test_the_right_persons_own_payslip_does_not_warn(to: str) -> None:
    assert check([to], attachment("Smith_J_payslip.pdf")) == []


def test_letter_greeting_another_person_is_held() -> None:
    letter = attachment(
        "letter.docx", "Our ref: 1234\n\nDear Mrs Patel,\n\nThank you for your claim."
    )
    f = only(check(["jones@client.example"], letter))
    assert f.severity == SETTINGS.named_person_severity
    assert "seems to be about Mrs Patel (going by the greeting inside it)" in f.explanation


def test_letter_to_the_recipient_does_not_warn() -> None:
    letter = attachment("letter.docx", "Dear Mrs Patel,\n\nThank you for your claim.")
    assert check(["Asha Patel <asha.patel@home.example>"], letter) == []


def test_named_label_inside_a_payslip_is_read() -> None:
    slip = attachment("payslip.pdf", "ACME LTD PAYSLIP\nEmployee: John Smith\nNet pay: 1,234.00")
    f = only(check(["Mary Jones <mary.jones@client.example>"], slip))
    assert "John Smith" in f.explanation
    assert "the name written in it" in f.explanation


def test_generic_greetings_name_nobody() -> None:
    for text in (
        "Dear Sir or Madam,",
        "Dear all,",
        "Dear Customer,",
        "Hello there,",
        "Dear Hiring Manager,",
    ):
        assert check(["mary.jones@client.example"], attachment("letter.pdf", text)) == [], text


def test_file_names_without_a_person_do_not_warn() -> None:
    for name in (
        "Quarterly_report_March_2024.pdf",
        "Payslip_March_2024.pdf",
        "Plan_B.pdf",
        "contract_v2_final.docx",
    ):
        assert check(["mary.jones@client.example"], attachment(name)) == [], name


def test_role_mailboxes_could_be_anyone() -> None:
    assert check(["payroll@bureau.example"], attachment("Smith_J_payslip.pdf")) == []
    assert check(["Payroll Team <hr@bureau.example>"], attachment("Smith_J_payslip.pdf")) == []


def test_a_role_mailbox_beside_a_named_one_lowers_the_severity() -> None:
    f = only(
        check(
            ["mary.jones@client.example", "accounts@client.example"],
            attachment("Smith_J_payslip.pdf"),
        )
    )
    assert f.severity == SETTINGS.weak_severity


def test_a_person_the_sender_writes_about_is_deliberate() -> None:
    body = "Please find attached the reference for John Smith, as discussed."
    found = check(
        ["Mary Jones <mary.jones@employer.example>"], attachment("Smith_J_reference.pdf"), body=body
    )
    assert found == []


def test_greeting_the_person_in_the_body_does_not_count_as_mentioning_them() -> None:
    body = "Dear Mr Smith,\n\nYour payslip is attached."
    f = only(
        check(
            ["Mary Jones <mary.jones@client.example>"], attachment("Smith_J_payslip.pdf"), body=body
        )
    )
    assert "J Smith" in f.explanation


def test_a_first_name_greeting_is_a_weak_clue() -> None:
    f = only(
        check(
            ["Mary Jones <mary.jones@client.example>"],
            attachment("note.pdf", "Dear John,\nAs promised."),
        )
    )
    assert f.severity == SETTINGS.weak_severity
    assert check(["jones@client.example"], attachment("note.pdf", "Dear John,\nAs promised.")) == []


def test_wrong_colleague_inside_the_organisation_is_only_low() -> None:
    f = only(check(["Bob Brown <bob.brown@ours.example>"], attachment("Smith_J_payslip.pdf")))
    assert f.severity == SETTINGS.internal_severity


def test_a_contact_from_history_named_in_the_file_name() -> None:
    known = history(("priya.patel@clientco.example", "Priya Patel", 12))
    f = only(
        check(
            ["Tom Reed <tom.reed@other.example>"],
            attachment("Priya_Patel_contract.docx"),
            known=known,
        )
    )
    assert f.severity == SETTINGS.named_person_severity
    assert "You have written to Priya Patel <priya.patel@clientco.example> before." in f.explanation


def test_a_contact_from_history_named_at_the_top_of_a_document_is_a_weak_clue() -> None:
    known = history(("priya.patel@clientco.example", "Priya Patel", 12))
    doc = attachment(
        "summary.pdf", "Prepared for: Priya Patel\nClientCo Ltd\n\nSummary of the account"
    )
    f = only(check(["Tom Reed <tom.reed@other.example>"], doc, known=known))
    assert f.severity == SETTINGS.weak_severity


def test_file_naming_another_client_company_is_held() -> None:
    known = history(("bob@acme.example", "Bob Stone", 9), ("eve@globex.example", "Eve Ray", 4))
    f = only(
        check(["Eve Ray <eve@globex.example>"], attachment("Acme_invoice_March.pdf"), known=known)
    )
    assert f.severity == SETTINGS.named_org_severity
    assert "names Acme (acme.example)" in f.explanation
    assert "none of the recipients is from there" in f.explanation


def test_file_naming_the_recipients_company_too_is_fine() -> None:
    known = history(("bob@acme.example", "Bob Stone", 9))
    assert check(["eve@globex.example"], attachment("Acme_Globex_agreement.pdf"), known=known) == []
    assert check(["bob@acme.example"], attachment("Acme_invoice_March.pdf"), known=known) == []


def test_filename_tokens_split_case_digits_and_separators() -> None:
    assert filename_tokens("HR/SmithJ-P60_2024.PDF") == ["smith", "j", "p60", "2024"]
    assert filename_tokens("JohnSmithPayslip.pdf") == ["john", "smith", "payslip"]


# --- many people going outside -------------------------------------------------------------


def test_staff_list_going_outside_is_high() -> None:
    sheet = attachment("staff.xlsx", staff_sheet(200), records=200)
    f = only(check(["Tom Reed <tom.reed@other.example>"], sheet))
    assert f.severity >= 0.8
    assert "holds about 200 rows of people's details" in f.explanation
    assert "names, dates of birth, contact details and identity numbers" in f.explanation
    assert f.parts == ("attachment:staff.xlsx",)
    assert f.fix is not None
    assert f.fix.kind is FixKind.REMOVE_ATTACHMENT


def test_staff_list_to_a_personal_mailbox_is_highest() -> None:
    f = only(check(["someone@gmail.com"], attachment("staff.csv", staff_sheet(50), records=50)))
    assert f.severity == SETTINGS.records_personal_mailbox_severity
    assert "a personal mailbox" in f.explanation


def test_staff_list_to_an_established_processor_is_medium() -> None:
    known = history(("payroll@bureau.example", "", 24))
    f = only(
        check(
            ["payroll@bureau.example"],
            attachment("staff.csv", staff_sheet(50), records=50),
            known=known,
        )
    )
    assert f.severity == SETTINGS.records_known_recipient_severity


def test_internal_staff_list_is_not_a_finding() -> None:
    sheet = attachment("staff.xlsx", staff_sheet(300), records=300)
    assert check(["Bob Brown <bob.brown@ours.example>", "hr@ours.example"], sheet) == []


def test_small_or_impersonal_sheets_are_not_findings() -> None:
    assert check(["tom@other.example"], attachment("few.csv", staff_sheet(5), records=5)) == []
    stock = "\n".join(["Product\tPrice\tQty"] + [f"Item {i}\t{i}.99\t{i}" for i in range(300)])
    assert check(["tom@other.example"], attachment("stock.csv", stock, records=300)) == []
    firms = "\n".join(
        ["Company name\tAddress\tPhone"] + [f"Firm {i}\t{i} Road\t0{i}" for i in range(300)]
    )
    assert check(["tom@other.example"], attachment("suppliers.csv", firms, records=300)) == []


def test_a_list_of_addresses_without_headers_counts_as_people() -> None:
    emails = "\n".join(f"member{i}@mail.example" for i in range(100))
    f = only(check(["tom@other.example"], attachment("list.txt", emails, records=99)))
    assert f.severity == SETTINGS.records_severity


# --- through the engine --------------------------------------------------------------------


def test_engine_holds_a_member_list_sent_outside() -> None:
    csv = "name,email,dob\n" + "".join(
        f"Member {i},m{i}@mail.example,1990-02-{i % 28 + 1:02}\n" for i in range(80)
    )
    raw = (
        b"From: Ann Lee <ann.lee@ours.example>\r\nTo: Tom Reed <tom.reed@other.example>\r\n"
        b"Subject: List\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nHere you go.\r\n"
        b'--B\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename="members.csv"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(csv.encode())
        + b"--B--\r\n"
    )
    verdict = Engine().check(parse_message(raw))
    mine = [d for d in verdict.findings if d.finding.detector == "wrong-attachment"]
    assert len(mine) == 1
    assert mine[0].action is Action.HOLD
    assert "80 rows" in mine[0].finding.explanation


def test_naming_the_company_in_the_message_is_deliberate() -> None:
    known = history(("bob@acmecorp.example", "Bob Stone", 9))
    body = "Here is the Acme Corp invoice you asked to see."
    assert (
        check(["eve@globex.example"], attachment("AcmeCorp_invoice.pdf"), body=body, known=known)
        == []
    )
    assert check(["eve@globex.example"], attachment("AcmeCorp_invoice.pdf"), known=known) != []


def test_a_staff_list_inside_a_zip_is_seen() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "Files for the audit")
        zf.writestr("export/staff.csv", staff_sheet(40).replace("\t", ","))
    got = extract("audit.zip", "application/zip", archive.getvalue(), Limits())
    f = only(check(["tom@other.example"], attachment("audit.zip", got.text, got.records)))
    assert "holds about 40 rows" in f.explanation
