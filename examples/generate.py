"""Writes the sample messages: synthetic replays of real mis-send incidents and their look-alikes.

Every person and organisation here is made up. Run `python examples/generate.py` to rebuild the
files; the output is deterministic so the committed samples and this script always agree.
"""

from __future__ import annotations

import itertools
import mailbox
import random
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

HERE = Path(__file__).parent
FIRST = """Amira Bogdan Chiara Dmitri Elif Farah Goran Hana Ines Jonas Kofi Lena Mateus Nadia Oskar
Priya Quentin Rosa Samir Tamsin Ugo Vera Wiktor Ximena Yusuf Zofia Aiden Beatriz Cormac Dalia""".split()
LAST = """Adeyemi Brennan Costa Dvorak Eriksen Fischer Gallo Horvat Ivanova Jansen Kowalski Lindqvist
Moreau Novak Okafor Petrov Quinn Rossi Schmidt Tanaka Urban Varga Weber Xu Yilmaz Zielinski""".split()
WEBMAIL = [
    "gmail.com",
    "yahoo.co.uk",
    "hotmail.com",
    "outlook.com",
    "gmx.de",
    "web.de",
    "icloud.com",
]
_IDS = itertools.count(1)
BASE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def person(rng: random.Random, i: int) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice(
        [f"{first}.{last}", f"{first[0]}{last}", f"{first}{last}{i}", f"{last}.{first}"]
    )
    return f"{first} {last}", f"{local.lower()}{rng.randint(1, 99)}@{rng.choice(WEBMAIL)}"


def message(
    sender: str,
    to: list[str],
    subject: str,
    body: str,
    *,
    cc: list[str] | None = None,
    when: datetime = BASE,
    reply_to: EmailMessage | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to) if to else "undisclosed-recipients:;"
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{next(_IDS)}.{when:%Y%m%d}@{sender.rpartition('@')[2].rstrip('>')}>"
    if reply_to is not None:
        msg["In-Reply-To"] = reply_to["Message-ID"]
        msg["References"] = reply_to["Message-ID"]
    msg.set_content(body)
    return msg


def write(path: Path, msg: EmailMessage) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(msg))


def main() -> None:
    rng = random.Random(2026)
    out = HERE / "messages"
    history: list[EmailMessage] = []

    gov = "EU Settlement Team <eu-settlement@migration.example.gov.uk>"
    citizens = [f"{n} <{a}>" for n, a in (person(rng, i) for i in range(240))]
    write(
        out / "incident-240-eu-citizens-in-to.eml",
        message(
            gov,
            citizens,
            "Your application under the EU Settlement Scheme",
            "Dear applicant,\n\nWe are writing to update you on the status of your application.\n",
        ),
    )
    claimants = [a for _, a in (person(rng, i) for i in range(500))]
    write(
        out / "incident-500-claimants-in-cc.eml",
        message(
            "Compensation Scheme <compensation@homeaffairs.example.gov.uk>",
            ["compensation@homeaffairs.example.gov.uk"],
            "Compensation scheme: next steps",
            "Dear claimant,\n\nThank you for registering for the compensation scheme.\n",
            cc=claimants,
        ),
    )
    firms = [
        "harlowlegal.co.uk",
        "baxter-immigration.com",
        "northgatesolicitors.co.uk",
        "meridianlaw.eu",
        "quayside-law.co.uk",
    ]
    visa_to: list[str] = []
    for i in range(160):
        name, addr = person(rng, i)
        visa_to.append(f"{name} <{addr}>")
    for i, firm in enumerate(firms * 2):
        visa_to.append(f"{rng.choice(FIRST)} {rng.choice(LAST)} <caseworker{i}@{firm}>")
    write(
        out / "incident-170-visa-applicants-and-lawyers.eml",
        message(
            "Visa Processing <visas@borders.example.gov.uk>",
            visa_to[:90],
            "Visa application: documents required",
            "Dear applicant,\n\nPlease send the documents listed below by 30 April.\n",
            cc=visa_to[90:],
        ),
    )
    public = [f"{n} <{a}>" for n, a in (person(rng, i) for i in range(12))]
    write(
        out / "incident-12-members-of-public.eml",
        message(
            "Planning Office <planning@council.example.gov.uk>",
            public,
            "Objections to planning application 26/0412",
            "Dear resident,\n\nThank you for your objection to the planning application.\n",
        ),
    )

    staff = [f"staff{i}@migration.example.gov.uk" for i in range(300)]
    write(
        out / "lookalike-300-all-staff.eml",
        message(
            gov,
            staff,
            "Office closure on Friday",
            "Dear colleagues,\n\nThe office closes at 3pm.\n",
        ),
    )
    partner = [
        f"{n.split()[0].lower()}.{n.split()[1].lower()}@northwind-energy.co.uk"
        for n in ("Ada Keller", "Ben Ortiz", "Cleo Ward", "Dev Rao")
    ]
    write(
        out / "lookalike-partner-company-with-colleague.eml",
        message(
            "Sam Hale <sam.hale@acme-grid.com>",
            partner,
            "Grid connection schedule",
            "Hi all,\n\nAttached is the revised schedule for the connection works.\n",
            cc=["Pat Moss <pat.moss@acme-grid.com>"],
        ),
    )
    thread_people = [
        "Lina Voss <lina.voss@gmail.com>",
        "Omar Haddad <o.haddad@hotmail.com>",
        "Rita Lenz <rita@lenz-architects.de>",
        "Theo Marsh <theo.marsh@yahoo.co.uk>",
    ]
    first = message(
        "Mia Stone <mia.stone@acme-grid.com>",
        thread_people,
        "Community panel: dates",
        "Hello panel members,\n\nHere are the dates for the next community panel.\n",
        when=BASE - timedelta(days=30),
    )
    history.append(first)
    for week in range(1, 4):
        history.append(
            message(
                "Mia Stone <mia.stone@acme-grid.com>",
                thread_people,
                f"Community panel: week {week} notes",
                "Hello panel members,\n\nNotes from this week's panel.\n",
                when=BASE - timedelta(days=30 - 7 * week),
            )
        )
    write(
        out / "lookalike-reply-to-known-thread.eml",
        message(
            "Mia Stone <mia.stone@acme-grid.com>",
            thread_people,
            "Re: Community panel: dates",
            "Thanks all, see you on the 12th.\n",
            reply_to=first,
        ),
    )

    contacts = {
        "Tom Reed": "tom.reed@northwind-energy.co.uk",
        "John Smith": "john.smith@harbourfreight.com",
        "John Smithers": "j.smithers@kestrel-media.com",
        "Ada Keller": "ada.keller@northwind-energy.co.uk",
    }
    sam = "Sam Hale <sam.hale@acme-grid.com>"
    for week in range(20):
        when = BASE - timedelta(days=150 - 7 * week)
        history.append(
            message(
                sam,
                [f"Tom Reed <{contacts['Tom Reed']}>", f"Ada Keller <{contacts['Ada Keller']}>"],
                f"Connection works update {week}",
                "Hi Tom, Ada,\n\nUpdate on the substation connection works and the outage plan.\n",
                when=when,
            )
        )
        history.append(
            message(
                sam,
                [f"John Smith <{contacts['John Smith']}>"],
                f"Freight booking {week}",
                "Hi John,\n\nPlease confirm the freight booking for the transformer delivery.\n",
                when=when,
            )
        )
    history.append(
        message(
            sam,
            [f"John Smithers <{contacts['John Smithers']}>"],
            "Press visit",
            "Hi John,\n\nThanks for the press visit request; we can host you in May.\n",
            when=BASE - timedelta(days=60),
        )
    )
    write(
        out / "misdirect-typo-domain.eml",
        message(
            sam,
            ["Tom Reed <tom.reed@northwind-energy.co>", f"Ada Keller <{contacts['Ada Keller']}>"],
            "Outage plan",
            "Hi Tom, Ada,\n\nThe outage plan for the substation works is below.\n",
        ),
    )
    write(
        out / "misdirect-wrong-john.eml",
        message(
            sam,
            [f"John Smithers <{contacts['John Smithers']}>", f"Tom Reed <{contacts['Tom Reed']}>"],
            "Transformer delivery",
            "Hi John, Tom,\n\nThe transformer delivery and freight booking are confirmed.\n",
        ),
    )
    write(
        out / "misdirect-private-address.eml",
        message(
            sam,
            ["Tom Reed <tom.reed@gmail.com>", f"Ada Keller <{contacts['Ada Keller']}>"],
            "Substation access list",
            "Hi Tom, Ada,\n\nThe access list for the substation works.\n",
        ),
    )
    nino_sheet = "name,national_insurance_number,date_of_birth\n" + "".join(
        f"{rng.choice(FIRST)} {rng.choice(LAST)},{p}{rng.randint(100000, 999999)}{rng.choice('ABCD')},"
        f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}\n"
        for p in (rng.choice(["AB", "CE", "JH", "KL", "MW", "PR", "SX", "WP"]) for _ in range(400))
    )
    payroll = message(
        sam,
        ["John Smith <john.smith@harbourfreight.com>"],
        "Re: Freight booking 19",
        "Hi John,\n\nHere is the file you asked for.\n",
    )
    payroll.add_attachment(
        nino_sheet.encode(), maintype="text", subtype="csv", filename="payroll-march.csv"
    )
    write(out / "wrong-attachment-payroll-to-supplier.eml", payroll)
    write(
        out / "ok-known-contact.eml",
        message(
            sam,
            [f"John Smith <{contacts['John Smith']}>"],
            "Freight booking 20",
            "Hi John,\n\nPlease confirm the freight booking for next week.\n",
        ),
    )

    box_path = HERE / "history" / "sent.mbox"
    box_path.parent.mkdir(parents=True, exist_ok=True)
    box_path.unlink(missing_ok=True)
    box = mailbox.mbox(box_path)
    for msg in history:
        entry = mailbox.mboxMessage(msg)
        entry.set_from("MAILER-DAEMON", time.gmtime(parsedate_to_datetime(msg["Date"]).timestamp()))
        box.add(entry)
    box.flush()
    box.close()


if __name__ == "__main__":
    main()
