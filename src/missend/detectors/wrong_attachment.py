"""An attachment that belongs to someone other than the recipients, or lists many people.

The classic breach is the right message with the wrong file: Smith's payslip sent to Jones, a
letter that opens "Dear Mrs Patel" sent to someone else, another client's invoice. The file says
whom it is about in its name (`Smith_J_payslip.pdf`), its salutation, or a label such as
"Employee: J Smith"; the sender's history adds the full names of people and the organisations
they write to. A named person or organisation that none of the recipients could be is the
finding. Whether a recipient could be that person is judged leniently (surname, mailbox, initials)
and a role mailbox (payroll@, hr@) could be anyone, so the check stays quiet unless it is clear.

Separately, a spreadsheet with many rows of people's details going outside the organisation is
high risk whoever it is meant for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from missend.detectors.base import CheckContext, Detector, Finding, Fix, FixKind, Settings
from missend.history.model import SenderHistory
from missend.message.model import Address, Attachment
from missend.orgs import Organisations, org_name

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_PIECES = re.compile(r"[^\W_]+", re.UNICODE)
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}", re.UNICODE)
_TOKEN = r"[^\W\d_](?:\.|[\w'’-]{0,40})"
_NAME = rf"({_TOKEN}(?:[ \t]{{1,3}}{_TOKEN}){{0,2}})"
_TITLE = (
    r"(?:(mr|mrs|ms|miss|mx|dr|prof|professor|judge|sir|dame|lady|lord|rev|revd|cllr)"
    r"(?:\.[ \t]{0,3}|[ \t]{1,3}))"
)
_SALUTATION = re.compile(
    r"(?:^|[\s>])(?i:dear|hello|hi|attn:?|attention:|fao:?|for the attention of)[ \t]{1,3}"
    rf"(?i:{_TITLE})?{_NAME}(?=[ \t]{{0,3}}(?:[,:;!.\r\n]|$))",
    re.UNICODE | re.MULTILINE,
)
_LABEL = re.compile(
    r"^[ \t]{0,20}(?i:(?:employee|staff|patient|client|customer|pupil|student|tenant|applicant|"
    r"candidate|member|claimant|resident|account holder|payee)(?:[ \t]{1,3}name)?|full name)"
    rf"[ \t]{{0,3}}:[ \t]{{0,20}}(?i:{_TITLE})?{_NAME}(?=[ \t]{{0,3}}(?:[,;\t\r\n]|$)|[ \t]{{2}})",
    re.UNICODE | re.MULTILINE,
)
_TITLES = frozenset(
    "mr mrs ms miss mx dr prof professor judge sir dame lady lord rev revd cllr".split()
)
_FILENAME_TITLES = frozenset("mr mrs ms miss mx dr".split())
_POSSESSIVE = re.compile(r"['’]s(?![^\W\d_])", re.UNICODE)

_GENERIC_ADDRESSEES = frozenset(
    """sir sirs madam all team colleague colleagues customer customers client clients friend
    friends parent parents member members applicant applicants resident residents supplier
    suppliers patient patients everyone hiring manager recipient occupier homeowner student
    students shareholder shareholders valued there folks guys partner partners reader readers
    candidate candidates tenant tenants employee employees staff board committee you whom
    concern gang guests industry producer producers operator operators association participants
    attendees community council group department panel fans fan family neighbours neighbors
    mom mum dad mother father son daughter brother sister aunt uncle cousin grandma grandpa
    granny nana honey darling babe buddy mate pal sweetie""".split()
)

_ROLE_WORDS = frozenset(
    """info admin administrator administration hr payroll pay accounts account accounting finance
    office enquiries enquiry inquiries inquiry contact contactus support help helpdesk service
    services sales team hello mail post postmaster reception billing invoices invoice jobs careers
    recruitment noreply reply webmaster legal compliance dpo privacy data gdpr security it
    marketing press media news orders order bookings booking customerservice customers members
    membership general secretary clerk staff all everyone group list board management operations
    ops claims complaints feedback referrals admissions registry records pensions pension benefits
    housing school office mailbox shared desk student students hiring hr-team people talent
    solicitors law firm clinic surgery practice appointments bureau department dept""".split()
)

_MONTHS = frozenset(
    """jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july
    august september october november december mon tue wed thu fri sat sun monday tuesday
    wednesday thursday friday saturday sunday""".split()
)

_FILENAME_STOP = _MONTHS | frozenset(
    """final draft copy signed scan scanned version ver rev new old updated update revised amended
    doc docs document documents file files pdf docx xlsx the and of for to re fw fwd page pages part
    annex appendix attachment attached template summary report year month week q quarter no num
    number ref with from by in on at a an our your my their his her cc print printed img image
    photo screenshot tmp temp backup out data info details ltd limited plc inc llc co uk us eu
    en de fr full complete annual monthly weekly daily employee employees staff team all company
    policy procedure guidance guide handbook form forms overview notes minutes agenda meeting
    confidential private personal internal external v fy ytd""".split()
)

_PERSONAL_DOCS = frozenset(
    """payslip payslips payslp pay slip slips salary wage wages p45 p60 p11d cv resume appraisal
    disciplinary grievance sicknote fitnote sickness absence medical referral reference passport
    licence license contract offer letter statement invoice tenancy mortgage pension redundancy
    dismissal probation timesheet tax claim application assessment results transcript certificate
    diagnosis prescription bill receipt remittance""".split()
)

_COLUMN_KINDS: dict[str, tuple[str, ...]] = {
    "names": (
        "name", "first name", "firstname", "forename", "forenames", "surname", "last name",
        "lastname", "full name", "fullname", "given name", "family name", "employee", "student",
        "patient", "pupil", "customer", "client", "candidate", "applicant",
    ),
    "contact details": (
        "email", "e mail", "email address", "phone", "mobile", "tel", "telephone", "contact number",
    ),
    "dates of birth": ("dob", "d o b", "date of birth", "birth date", "birthdate", "birthday", "age"),
    "addresses": ("address", "street", "postcode", "post code", "zip", "zip code", "city", "town"),
    "identity numbers": (
        "ni", "nino", "ni number", "ni no", "national insurance", "ssn", "social security", "nhs",
        "nhs number", "nhs no", "passport", "employee id", "staff id", "student id", "payroll",
        "payroll number", "account number", "sort code", "iban", "tax code", "utr",
    ),
    "sensitive details": (
        "salary", "gender", "sex", "ethnicity", "religion", "diagnosis", "medical",
        "disability", "health", "condition", "sickness", "absence", "criminal", "dbs",
        "disciplinary",
    ),
}  # fmt: skip
_NOT_PEOPLE = frozenset(
    "company organisation organization business supplier vendor product item project site "
    "branch store shop building asset".split()
)
_PERSON_KINDS = frozenset({"names", "dates of birth", "identity numbers", "sensitive details"})
_COLUMN_INDEX = {tuple(k.split()): kind for kind, ks in _COLUMN_KINDS.items() for k in ks}
_MAX_HEADER_ROWS = 5
_MAX_HEADER_CELLS = 80
_MAX_BLOCKS = 20


@dataclass(frozen=True)
class WrongAttachmentSettings(Settings):
    many_records: int = 25
    established_count: int = 5
    records_severity: float = 0.85
    records_personal_mailbox_severity: float = 0.9
    records_known_recipient_severity: float = 0.6
    named_person_severity: float = 0.65
    named_org_severity: float = 0.6
    weak_severity: float = 0.4
    internal_severity: float = 0.35
    head_chars: int = 3000


# --- who a file is about -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Person:
    """A person named by a file: surname and first name or initial, whichever are known."""

    last: str = ""
    first: str = ""
    initial: str = ""
    shown: str = ""
    email: str = ""

    @property
    def key(self) -> str:
        return self.last or self.first


@dataclass(frozen=True, slots=True)
class _Clue:
    person: _Person | None
    org: str
    strong: bool
    where: str


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _split_case(piece: str) -> list[str]:
    """`SmithJPayslip` → Smith, J, Payslip; letter and digit runs are split too."""
    out: list[str] = []
    start = 0
    for i in range(1, len(piece)):
        a, b = piece[i - 1], piece[i]
        nxt = piece[i + 1] if i + 1 < len(piece) else ""
        if (
            (a.isdigit() != b.isdigit())
            or (a.islower() and b.isupper())
            or (a.isupper() and b.isupper() and nxt.islower())
        ):
            out.append(piece[start:i])
            start = i
    out.append(piece[start:])
    return [p for p in out if p]


def filename_tokens(filename: str) -> list[str]:
    """Lower-cased words of a file name without folder or extension; `p60` stays one token."""
    base = filename.replace("\\", "/").rpartition("/")[2]
    stem = _POSSESSIVE.sub("", base.rpartition(".")[0] if "." in base else base)
    tokens: list[str] = []
    for piece in _PIECES.findall(stem):
        if piece.lower() in _PERSONAL_DOCS:
            tokens.append(piece.lower())
        else:
            tokens.extend(p.lower() for p in _split_case(piece))
    return tokens


def _person_from_words(words: list[str], title: str) -> _Person | None:
    """A person from a salutation or label: the capitalised words, generic addressees dropped."""
    kept: list[str] = []
    for word in words:
        clean = word.strip(".'’-")
        if not clean or not clean[0].isupper() or clean.lower() in _TITLES:
            break
        if len(clean) > 2 and clean.isupper():
            break
        kept.append(clean)
    if not kept or any(k.lower() in _GENERIC_ADDRESSEES | _ROLE_WORDS for k in kept):
        return None
    low = [k.lower() for k in kept]
    shown = " ".join(([title.capitalize()] if title else []) + kept)
    if len(kept) == 1:
        if len(low[0]) < 2:
            return None
        return _Person(last=low[0], shown=shown) if title else _Person(first=low[0], shown=shown)
    last = low[-1]
    if len(last) < 2:
        return None
    first = low[0] if len(low[0]) > 1 else ""
    return _Person(last=last, first=first, initial=low[0][0], shown=shown)


def _text_clues(head: str) -> list[_Clue]:
    clues: list[_Clue] = []
    for rx, where in ((_SALUTATION, "salutation"), (_LABEL, "label")):
        for match in rx.finditer(head):
            title = (match.group(1) or "").lower()
            person = _person_from_words(match.group(2).split(), title)
            if person is not None:
                strong = bool(person.last) or where == "label"
                clues.append(_Clue(person, "", strong, where))
    return clues


def _ngrams(tokens: list[str]) -> set[str]:
    """Adjacent tokens joined, so `Acme_Corp` and `AcmeCorp` both give `acmecorp`."""
    return {"".join(tokens[i : i + n]) for n in (1, 2, 3) for i in range(len(tokens) - n + 1)}


def _is_name(token: str) -> bool:
    return (
        len(token) >= 2
        and token.isalpha()
        and token not in _FILENAME_STOP
        and token not in _PERSONAL_DOCS
        and token not in _TITLES
    )


def _runs(tokens: list[str]) -> list[tuple[int, list[str]]]:
    """Maximal runs of name-like tokens (single letters count), with where each run starts."""
    runs: list[tuple[int, list[str]]] = []
    for i, token in enumerate(tokens):
        if _is_name(token) or (len(token) == 1 and token.isalpha()):
            if runs and runs[-1][0] + len(runs[-1][1]) == i:
                runs[-1][1].append(token)
            else:
                runs.append((i, [token]))
    return runs


def _filename_clues(tokens: list[str], index: _Index) -> list[_Clue]:
    """People and organisations a file name points to.

    A name in a file name stands alone between document words (`Smith_J_payslip`), so only a run
    of one or two name-like words counts: a longer run is a title (`Firm_PtP_Transmission_Form`).
    """
    clues: list[_Clue] = []
    has_doc = any(t in _PERSONAL_DOCS for t in tokens)
    for start, run in _runs(tokens):
        titled = start > 0 and tokens[start - 1] in _FILENAME_TITLES
        if titled and len(run) <= 2 and len(run[-1]) >= 2:
            first = run[0] if len(run) == 2 and len(run[0]) > 1 else ""
            shown = " ".join([tokens[start - 1].capitalize(), *(w.capitalize() for w in run)])
            person = _Person(last=run[-1], first=first, initial=run[0][0], shown=shown)
            clues.append(_Clue(person, "", True, "name"))
        elif len(run) == 2 and has_doc:
            initial, last = (run[0], run[1]) if len(run[0]) == 1 else (run[1], run[0])
            if len(initial) == 1 and len(last) >= 3:
                shown = f"{initial.upper()} {last.capitalize()}"
                clues.append(
                    _Clue(_Person(last=last, initial=initial, shown=shown), "", True, "name")
                )
            elif run[0] in index.first_names:
                first, last = run
                shown = f"{first.capitalize()} {last.capitalize()}"
                person = _Person(last=last, first=first, initial=first[0], shown=shown)
                clues.append(_Clue(person, "", True, "name"))
    present = set(tokens)
    initials = {t for t in tokens if len(t) == 1}
    for token in present:
        for person in index.by_last.get(token, ()):
            if person.first in present or person.initial in initials:
                clues.append(_Clue(person, "", has_doc, "name"))
    clues += [_Clue(None, org, True, "name") for org in sorted(_ngrams(tokens) & index.orgs.keys())]
    return clues


def _history_clues(head: str, index: _Index) -> list[_Clue]:
    """Known outside contacts named near the top of the document (its addressee block)."""
    words = _words(head)
    clues: list[_Clue] = []
    for i, word in enumerate(words):
        for person in index.external_by_last.get(word, ()):
            window = words[max(0, i - 3) : i]
            if person.first in window or person.initial in (w for w in window if len(w) == 1):
                clues.append(_Clue(person, "", False, "text"))
    return clues


class _Index:
    """People (full names) and organisations the sender writes to, from the history."""

    def __init__(self, history: SenderHistory, orgs: Organisations) -> None:
        self.by_last: dict[str, list[_Person]] = {}
        self.external_by_last: dict[str, list[_Person]] = {}
        self.first_names: set[str] = set()
        self.orgs: dict[str, str] = {}
        for contact in history.contacts.values():
            person = _contact_person(contact.name, contact.email)
            if person is not None:
                self.first_names.add(person.first)
                self.by_last.setdefault(person.last, []).append(person)
                if not orgs.is_internal(contact.email):
                    self.external_by_last.setdefault(person.last, []).append(person)
            domain = contact.email.rpartition("@")[2]
            if orgs.is_internal(contact.email) or orgs.is_personal(contact.email):
                continue
            label = re.sub(r"[^a-z]", "", org_name(domain).lower())
            if len(label) >= 4 and label not in _FILENAME_STOP and label not in _PERSONAL_DOCS:
                self.orgs.setdefault(label, domain)

    @classmethod
    def of(cls, ctx: CheckContext) -> _Index:
        key = "wrong-attachment.index"
        index = ctx.history.derived.get(key)
        if not isinstance(index, cls):
            index = ctx.history.derived[key] = cls(ctx.history, ctx.orgs)
        return index


def _contact_person(name: str, email: str) -> _Person | None:
    if not name or "@" in name:
        return None
    ordered = name.split(",", 1)[1] + " " + name.split(",", 1)[0] if "," in name else name
    words = [w for w in _words(ordered) if w not in _TITLES]
    if len(words) < 2 or len(words[0]) < 2 or len(words[-1]) < 2:
        return None
    return _Person(last=words[-1], first=words[0], initial=words[0][0], shown=name, email=email)


# --- who the recipients are ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Identity:
    """What can be told about one recipient's name from the address alone."""

    tokens: frozenset[str]
    blob: str
    firsts: frozenset[str]
    initials: frozenset[str]
    known: bool

    @classmethod
    def of(cls, address: Address) -> _Identity:
        local = address.local.split("+", 1)[0]
        pieces = [p for p in re.split(r"[._-]", local) if p]
        local_words = [w for p in pieces for w in _words(p)]
        named = [w for w in local_words if w not in _ROLE_WORDS and len(w) >= 2]
        display = address.name
        if "," in display:
            display = display.split(",", 1)[1] + " " + display.split(",", 1)[0]
        display_words = [w for w in _words(display) if w not in _TITLES]
        firsts: set[str] = set()
        initials: set[str] = set()
        if len(display_words) >= 2 and len(display_words[0]) > 1:
            firsts.add(display_words[0])
        letters = [_words(p)[0] for p in pieces if _words(p)]
        if len(letters) >= 2:
            if len(letters[0]) > 1:
                firsts.add(letters[0])
            else:
                initials.add(letters[0])
        initials |= {f[0] for f in firsts}
        return cls(
            tokens=frozenset(w for w in display_words + local_words if len(w) >= 2),
            blob="".join(local_words),
            firsts=frozenset(firsts),
            initials=frozenset(initials),
            known=bool(named),
        )

    def could_be(self, person: _Person) -> bool:
        """False only when the address clearly belongs to someone else."""
        if not self.known:
            return True
        if person.last:
            if _matches(person.last, self.tokens):
                return True
            if len(person.last) >= 3 and (
                self.blob.startswith(person.last) or self.blob.endswith(person.last)
            ):
                return True
            initial = person.initial or person.first[:1]
            return (
                2 <= len(self.blob) <= 3
                and bool(initial)
                and self.blob[0] == initial
                and self.blob[-1] == person.last[0]
            )
        if _matches(person.first, self.tokens) or self.blob.startswith(person.first):
            return True
        if len(person.first) >= 3 and any(t[:3] == person.first[:3] for t in self.firsts):
            return True  # Dave / David, Ken / Kenneth
        if self.firsts:
            return False
        return not self.initials or person.first[0] in self.initials


def _matches(word: str, tokens: Iterable[str]) -> bool:
    for token in tokens:
        if token == word:
            return True
        if len(word) >= 5 and len(token) >= 5 and Levenshtein.distance(word, token) <= 1:
            return True
    return False


# --- the detector --------------------------------------------------------------------------


def _header_kinds(text: str) -> list[str]:
    """Kinds of personal columns in the header rows of each sheet (blocks split by blank lines)."""
    found: dict[str, None] = {}
    for block in text.split("\n\n", _MAX_BLOCKS)[:_MAX_BLOCKS]:
        for line in block.lstrip("\n").split("\n", _MAX_HEADER_ROWS)[:_MAX_HEADER_ROWS]:
            for cell in line.split("\t", _MAX_HEADER_CELLS)[:_MAX_HEADER_CELLS]:
                words = tuple(_words(cell))
                if not words or len(words) > 6 or _NOT_PEOPLE.intersection(words):
                    continue
                for n in (3, 2, 1):
                    for i in range(len(words) - n + 1):
                        kind = _COLUMN_INDEX.get(words[i : i + n])
                        if kind:
                            found[kind] = None
    return list(found)


def _distinct_emails(text: str, limit: int) -> int:
    seen: set[str] = set()
    for match in _EMAIL.finditer(text):
        seen.add(match.group().lower())
        if len(seen) >= limit:
            break
    return len(seen)


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class WrongAttachment(Detector):
    name = "wrong-attachment"
    summary = "An attachment about someone other than the recipients, or listing many people."
    settings_class = WrongAttachmentSettings

    def check(self, ctx: CheckContext) -> Sequence[Finding]:
        s = self.settings
        assert isinstance(s, WrongAttachmentSettings)
        attachments = ctx.message.attachments
        if not attachments or not ctx.recipients:
            return ()
        findings: list[Finding] = []
        index = _Index.of(ctx)
        for attachment in attachments:
            records = self._records(ctx, attachment, s)
            if records:
                findings.append(records)
            named = self._named(ctx, attachment, index, s)
            if named:
                findings.append(named)
        return findings

    # many people going outside

    def _records(
        self, ctx: CheckContext, a: Attachment, s: WrongAttachmentSettings
    ) -> Finding | None:
        if not ctx.external or (a.records or 0) < s.many_records:
            return None
        kinds = _header_kinds(a.text)
        personal = len(kinds) >= 2 and not _PERSON_KINDS.isdisjoint(kinds)
        if not personal and _distinct_emails(a.text, s.many_records) < s.many_records:
            return None
        if not kinds:
            kinds = ["contact details"]
        outside = [r.email for r in ctx.external]
        private = [e for e in outside if ctx.orgs.is_personal(e)]
        regular = all(
            (c := ctx.history.contact(e)) is not None and c.count >= s.established_count
            for e in outside
        )
        if private:
            severity, where = s.records_personal_mailbox_severity, "a personal mailbox "
        elif regular:
            severity, where = s.records_known_recipient_severity, "a regular contact "
        else:
            severity, where = s.records_severity, ""
        shown = _and(outside[:3]) + (f" and {len(outside) - 3} more" if len(outside) > 3 else "")
        name = a.filename or "an attachment"
        return Finding(
            detector=self.name,
            severity=severity,
            title=f"{name} lists {a.records} people and is going outside the organisation",
            explanation=(
                f"The attachment {name} holds about {a.records} rows of people's details "
                f"({_and(kinds)}) and is going outside your organisation to {where}{shown}. "
                "Sending a whole list is a data breach if the recipient does not need every row."
            ),
            fix=Fix(
                FixKind.REMOVE_ATTACHMENT,
                f"Remove {name}, or send only the rows the recipient needs, in a protected file.",
                parts=(a.label,),
            ),
            recipients=tuple(outside),
            parts=(a.label,),
            scores={"records": float(a.records or 0)},
            evidence={"records": a.records, "columns": kinds, "truncated": a.truncated},
        )

    # someone else's file

    def _named(
        self, ctx: CheckContext, a: Attachment, index: _Index, s: WrongAttachmentSettings
    ) -> Finding | None:
        head = a.text[: s.head_chars]
        tokens = filename_tokens(a.filename)
        clues = _filename_clues(tokens, index)
        clues += _text_clues(head) + _history_clues(head, index)
        if not clues:
            return None
        identities = [_Identity.of(r.address) for r in ctx.recipients]
        named = [i for i in identities if i.known]
        if not named:
            return None
        sender = ctx.message.sender
        if sender:
            named.append(_Identity.of(sender))
        recipient_orgs = {re.sub(r"[^a-z]", "", org_name(r.address.domain)) for r in ctx.recipients}
        if sender:
            recipient_orgs.add(re.sub(r"[^a-z]", "", org_name(sender.domain)))
        said = _words(ctx.message.subject) + _words(
            _SALUTATION.sub(" ", ctx.message.body_text[:5000])
        )
        mentioned = set(said)
        if _ngrams(tokens) & {o for o in recipient_orgs if len(o) >= 3}:
            clues = [c for c in clues if c.person is not None]
        best: tuple[float, _Clue, bool] | None = None
        for clue in clues:
            if clue.person is not None:
                if clue.person.key in mentioned or any(i.could_be(clue.person) for i in named):
                    continue
            elif clue.org in _ngrams(said):
                continue
            severity = self._severity(ctx, clue, identities, s)
            known = clue.person is not None and bool(clue.person.email)
            if severity > 0 and (best is None or (severity, known) > (best[0], best[2])):
                best = (severity, clue, known)
        if best is None:
            return None
        return self._named_finding(ctx, a, index, best[0], best[1])

    def _severity(
        self,
        ctx: CheckContext,
        clue: _Clue,
        identities: list[_Identity],
        s: WrongAttachmentSettings,
    ) -> float:
        if not ctx.external:
            return s.internal_severity if clue.strong and clue.person is not None else 0.0
        if not clue.strong or not all(i.known for i in identities):
            return s.weak_severity if clue.strong or clue.person is not None else 0.0
        return s.named_person_severity if clue.person is not None else s.named_org_severity

    def _named_finding(
        self, ctx: CheckContext, a: Attachment, index: _Index, severity: float, clue: _Clue
    ) -> Finding:
        name = a.filename or "an attachment"
        where = {
            "name": "its file name",
            "salutation": "the greeting inside it",
            "label": "the name written in it",
            "text": "the names at the top of it",
        }[clue.where]
        if clue.person is not None:
            who = clue.person.shown or clue.person.key.capitalize()
            title = f"{name} seems to be about {who}, who is not a recipient"
            explanation = (
                f"The attachment {name} seems to be about {who} (going by {where}), "
                "who is not among the recipients."
            )
            if clue.person.email:
                explanation += f" You have written to {who} <{clue.person.email}> before."
            evidence = {"person": who, "from": clue.where}
        else:
            domain = index.orgs.get(clue.org, clue.org)
            title = f"{name} names {clue.org.capitalize()}, and no recipient is from there"
            explanation = (
                f"The file name {name} names {clue.org.capitalize()} ({domain}), an organisation "
                "you write to, but none of the recipients is from there."
            )
            evidence = {"organisation": domain, "from": clue.where}
        return Finding(
            detector=self.name,
            severity=severity,
            title=title,
            explanation=explanation + " Check that this is the right file for these recipients.",
            fix=Fix(
                FixKind.REMOVE_ATTACHMENT,
                f"Remove {name}, or attach the file meant for these recipients.",
                parts=(a.label,),
            ),
            recipients=tuple(r.email for r in ctx.recipients),
            parts=(a.label,),
            evidence=evidence,
        )
