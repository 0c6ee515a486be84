"""Attachment text extraction: every supported format read, every limit enforced, nothing raised.

The documents are built here in memory, writing only the parts real applications write and
missend reads, so the tests need no binary fixtures and say exactly what each file holds.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from missend.message.attachments import NOT_INSPECTED, Extracted, extract
from missend.message.limits import Limits

LIMITS = Limits()

# --- builders ------------------------------------------------------------------------------

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_R = "http://schemas.openxmlformats.org/package/2006/relationships"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
)


def make_zip(members: dict[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def make_docx(paragraphs: Iterable[str], *, document_xml: str | None = None) -> bytes:
    body = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{escape(p)}</w:t></w:r></w:p>' for p in paragraphs
    )
    xml = document_xml or (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
    )
    return make_zip(
        {
            "[Content_Types].xml": '<?xml version="1.0"?><Types/>',
            "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{PKG_R}"/>',
            "word/document.xml": xml,
        }
    )


def _cell(ref: str, value: str | int | float, strings: dict[str, int]) -> str:
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    index = strings.setdefault(value, len(strings))
    return f'<c r="{ref}" t="s"><v>{index}</v></c>'


def _col(n: int) -> str:
    name = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        name = chr(65 + rem) + name
    return name


def make_xlsx(sheets: dict[str, Sequence[Sequence[str | int | float]]]) -> bytes:
    strings: dict[str, int] = {}
    members: dict[str, bytes | str] = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types/>',
    }
    entries = []
    rels = []
    for number, (name, rows) in enumerate(sheets.items(), start=1):
        xml_rows = "".join(
            f'<row r="{r + 1}">'
            + "".join(_cell(f"{_col(c)}{r + 1}", v, strings) for c, v in enumerate(row))
            + "</row>"
            for r, row in enumerate(rows)
        )
        members[f"xl/worksheets/sheet{number}.xml"] = (
            f'<?xml version="1.0"?><worksheet xmlns="{S}"><sheetData>{xml_rows}'
            "</sheetData></worksheet>"
        )
        entries.append(f'<sheet name="{escape(name)}" sheetId="{number}" r:id="rId{number}"/>')
        rels.append(
            f'<Relationship Id="rId{number}" Target="worksheets/sheet{number}.xml" Type="ws"/>'
        )
    members["xl/workbook.xml"] = (
        f'<?xml version="1.0"?><workbook xmlns="{S}" xmlns:r="{R}"><sheets>'
        + "".join(entries)
        + "</sheets></workbook>"
    )
    members["xl/_rels/workbook.xml.rels"] = (
        f'<?xml version="1.0"?><Relationships xmlns="{PKG_R}">' + "".join(rels) + "</Relationships>"
    )
    shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    members["xl/sharedStrings.xml"] = f'<?xml version="1.0"?><sst xmlns="{S}">{shared}</sst>'
    return make_zip(members)


def make_pptx(slides: Sequence[Sequence[str]]) -> bytes:
    members: dict[str, bytes | str] = {"ppt/presentation.xml": f'<p:presentation xmlns:p="{P}"/>'}
    for number, lines in enumerate(slides, start=1):
        paras = "".join(f"<a:p><a:r><a:t>{escape(line)}</a:t></a:r></a:p>" for line in lines)
        members[f"ppt/slides/slide{number}.xml"] = (
            f'<p:sld xmlns:p="{P}" xmlns:a="{A}"><p:cSld><p:spTree><p:sp><p:txBody>'
            f"{paras}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
        )
    return make_zip(members)


def _odf(mimetype: str, body: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        zf.writestr(
            "content.xml",
            f'<?xml version="1.0"?><office:document-content {ODF_NS}><office:body>'
            f"{body}</office:body></office:document-content>",
            compress_type=zipfile.ZIP_DEFLATED,
        )
    return out.getvalue()


def make_odt(paragraphs: Iterable[str]) -> bytes:
    body = "".join(f"<text:p>{escape(p)}</text:p>" for p in paragraphs)
    return _odf("application/vnd.oasis.opendocument.text", f"<office:text>{body}</office:text>")


def make_ods(rows: Sequence[Sequence[str]], *, repeat_last: int = 1) -> bytes:
    xml_rows = []
    for index, row in enumerate(rows):
        cells = "".join(
            f"<table:table-cell><text:p>{escape(v)}</text:p></table:table-cell>" for v in row
        )
        attr = f' table:number-rows-repeated="{repeat_last}"' if index == len(rows) - 1 else ""
        xml_rows.append(f"<table:table-row{attr}>{cells}</table:table-row>")
    empty_tail = (
        '<table:table-row table:number-rows-repeated="1048000">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    table = f'<table:table table:name="Sheet1">{"".join(xml_rows)}{empty_tail}</table:table>'
    return _odf(
        "application/vnd.oasis.opendocument.spreadsheet",
        f"<office:spreadsheet>{table}</office:spreadsheet>",
    )


def make_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A PDF whose pages show the given lines in Helvetica, with a correct cross-reference table."""
    objects: list[bytes] = []
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        ops = ["BT /F1 12 Tf 72 720 Td 14 TL"]
        for line in lines:
            safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({safe}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def zeros_zip(name: str, size: int, *, level: int = 6) -> bytes:
    """An archive holding `size` zero bytes, written in chunks so building it stays small in memory."""
    out = io.BytesIO()
    chunk = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf,
        zf.open(name, "w", force_zip64=size > 0xFFFFFFFF // 2) as member,
    ):
        left = size
        while left > 0:
            member.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return out.getvalue()


# --- helpers -------------------------------------------------------------------------------


def read(name: str, payload: bytes, content_type: str = "", **limits: float) -> Extracted:
    return extract(name, content_type, payload, Limits(**limits) if limits else LIMITS)  # type: ignore[arg-type]


def lie_about_size(archive: bytes, size: int) -> bytes:
    """Rewrite the first member's declared size in both headers, as a crafted zip bomb does."""
    data = bytearray(archive)
    struct.pack_into("<L", data, data.find(b"PK\x01\x02") + 24, size)
    struct.pack_into("<L", data, data.find(b"PK\x03\x04") + 22, size)
    return bytes(data)


# --- documents -----------------------------------------------------------------------------


def test_docx_paragraphs_are_read_in_order() -> None:
    got = read("letter.docx", make_docx(["Dear Mrs Patel,", "Your payslip is attached."]))
    assert got.error is None
    assert got.text == "Dear Mrs Patel,\nYour payslip is attached.\n"


def test_docx_tracked_deletions_tabs_and_breaks_are_kept() -> None:
    body = (
        f'<w:document xmlns:w="{W}"><w:body><w:p>'
        "<w:pPr><w:tabs><w:tab/></w:tabs></w:pPr>"
        "<w:r><w:t>Name</w:t><w:tab/><w:t>J Smith</w:t><w:br/><w:t>NI</w:t></w:r>"
        "<w:del><w:r><w:delText>QQ123456C</w:delText></w:r></w:del>"
        "</w:p></w:body></w:document>"
    )
    got = read("form.docx", make_docx([], document_xml=body))
    assert got.text == "Name\tJ Smith\nNIQQ123456C\n"


def test_docx_external_entities_are_never_resolved() -> None:
    body = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>before&x;after</w:t></w:r>'
        "</w:p></w:body></w:document>"
    )
    got = read("xxe.docx", make_docx([], document_xml=body))
    assert got.text == "beforeafter\n"
    assert "root:" not in got.text


def test_docx_entity_expansion_bomb_is_refused_quickly() -> None:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{f"&{chr(97 + i)};" * 10}">' for i in range(9)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE d [{entities}]>'
        f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&j;</w:t></w:r></w:p>'
        "</w:body></w:document>"
    )
    got = read("laughs.docx", make_docx([], document_xml=body))
    assert got.error is not None
    assert "damaged XML" in got.error
    assert len(got.text) < 1000


def test_xlsx_rows_become_tab_separated_lines_and_data_rows_are_counted() -> None:
    sheets = {
        "Staff": [
            ["Name", "DOB", "Email"],
            ["Ann Lee", 30000, "ann@x.com"],
            ["Bo Ma", 31000, "bo@x.com"],
        ],
        "Notes": [["Topic"], ["Pay review"]],
    }
    got = read("staff.xlsx", make_xlsx(sheets))
    assert got.error is None
    assert got.text.splitlines()[:3] == [
        "Name\tDOB\tEmail",
        "Ann Lee\t30000\tann@x.com",
        "Bo Ma\t31000\tbo@x.com",
    ]
    assert "Pay review" in got.text
    assert got.records == 3  # two data rows on Staff, one on Notes; headers are not records


def test_xlsx_sheets_follow_the_workbook_tab_order() -> None:
    book = make_xlsx({"First": [["alpha"]], "Second": [["beta"]]})
    members = {}
    with zipfile.ZipFile(io.BytesIO(book)) as zf:
        for name in zf.namelist():
            members[name] = zf.read(name)
    members["xl/workbook.xml"] = (
        members["xl/workbook.xml"]
        .replace(b"rId1", b"rIdX")
        .replace(b"rId2", b"rId1")
        .replace(b"rIdX", b"rId2")
    )
    got = read("order.xlsx", make_zip(members))
    assert got.text.index("beta") < got.text.index("alpha")


def test_pptx_slides_are_read() -> None:
    got = read("deck.pptx", make_pptx([["Quarterly review"], ["Contact: ann@x.com"]]))
    assert "Quarterly review" in got.text
    assert "ann@x.com" in got.text


def test_odt_text_is_read() -> None:
    got = read("letter.odt", make_odt(["Dear Mr Jones,", "Thank you."]))
    assert got.text == "Dear Mr Jones,\nThank you.\n"


def test_ods_repeated_rows_are_counted_not_expanded() -> None:
    payload = make_ods(
        [["Name", "Email"], ["Ann", "ann@x.com"], ["Bo", "bo@x.com"]], repeat_last=50
    )
    got = read("list.ods", payload)
    assert got.error is None
    assert got.records == 51
    assert got.text.count("bo@x.com") == 1


def test_pdf_text_is_read_page_by_page() -> None:
    got = read("payslip.pdf", make_pdf([["Payslip", "Employee: J Smith"], ["Net pay 1,234.00"]]))
    assert got.error is None
    pages = got.text.split("\f")
    assert "Employee: J Smith" in pages[0]
    assert "Net pay 1,234.00" in pages[1]


def test_pdf_beyond_the_page_limit_says_what_was_not_checked() -> None:
    got = read("long.pdf", make_pdf([[f"page {i}"] for i in range(8)]), max_pages=3)
    assert "page 2" in got.text
    assert "page 3" not in got.text
    assert got.error == "only the first 3 of 8 pages were checked"


def test_damaged_pdf_is_reported() -> None:
    good = make_pdf([["hello"]])
    got = read("broken.pdf", good[:20])
    assert got.error == "is a damaged PDF"


# --- plain formats -------------------------------------------------------------------------


def test_csv_counts_records_and_detects_the_delimiter() -> None:
    got = read("people.csv", b"name;email\nAnn;ann@x.com\nBo;bo@x.com\n\n")
    assert got.records == 2
    assert got.text == "name\temail\nAnn\tann@x.com\nBo\tbo@x.com\n"


def test_utf16_tab_separated_export_is_decoded() -> None:
    got = read("export.txt", "name\temail\nZoë\tz@x.com\n".encode("utf-16"), "text/csv")
    assert got.text == "name\temail\nZoë\tz@x.com\n"
    assert got.records == 1


def test_windows_1252_text_is_decoded() -> None:
    got = read("note.txt", "Café owner: Müller".encode("cp1252"))
    assert got.text == "Café owner: Müller"


def test_csv_records_are_counted_past_the_text_limit() -> None:
    payload = ("name\n" + "a person\n" * 5000).encode()
    got = read("big.csv", payload, max_text_chars=100)
    assert got.truncated
    assert len(got.text) == 100
    assert got.records == 5000
    assert got.error is None


def test_rows_beyond_the_row_limit_are_reported() -> None:
    csv_got = read("big.csv", ("name\n" + "x\n" * 50).encode(), max_rows=10)
    xlsx_got = read(
        "big.xlsx", make_xlsx({"S": [["name"]] + [[f"x{i}"] for i in range(50)]}), max_rows=10
    )
    for got in (csv_got, xlsx_got):
        assert got.records == 9
        assert got.error == "only the first 10 rows were checked"


def test_html_attachment_is_read_as_text() -> None:
    got = read(
        "page.html", b"<html><head><title>t</title></head><body><p>Hi <b>Ann</b></p></body></html>"
    )
    assert got.text.strip() == "Hi Ann"


def test_binary_data_labelled_as_text_is_reported() -> None:
    got = read("notes.txt", b"\x00\x01\x02\x03" * 100, "text/plain")
    assert got.error == "is labelled as text but holds binary data"


def test_images_are_not_inspected_and_unknown_text_is() -> None:
    assert read("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png").error == NOT_INSPECTED
    assert read("data.bin", b"\x93\x11\xfe" * 50, "application/octet-stream").error == NOT_INSPECTED
    got = read("export", b"Name: Ann Lee\nDOB: 1980-01-01\n", "application/octet-stream")
    assert got.error is None
    assert "Ann Lee" in got.text


# --- what a file is, whatever it is called --------------------------------------------------


def test_content_decides_the_format_not_the_name_or_label() -> None:
    book = make_xlsx({"S": [["Name"], ["Ann"], ["Bo"]]})
    got = read("notes.txt", book, "text/plain")
    assert got.records == 2
    assert "Ann" in got.text
    pdf_got = read("report.docx", make_pdf([["Secret pay data"]]), "application/msword")
    assert "Secret pay data" in pdf_got.text


def test_a_file_that_is_not_what_its_name_says_is_reported() -> None:
    assert read("cv.pdf", b"just some text", "application/pdf").error == (
        "is named as a PDF but is damaged or not a PDF"
    )
    assert "damaged or not one" in (read("cv.docx", b"just some text").error or "")


def test_old_office_formats_are_reported_as_uninspectable() -> None:
    got = read("staff.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    assert got.error is not None
    assert "old-format or password-protected Office file" in got.error


def test_truncated_office_file_is_reported() -> None:
    got = read("staff.xlsx", make_xlsx({"S": [["Name"], ["Ann"]]})[:-40])
    assert got.error is not None
    assert got.error.startswith("is damaged or incomplete")


# --- archives and zip bombs ----------------------------------------------------------------


def test_zip_members_are_listed_and_readable_ones_read() -> None:
    archive = make_zip(
        {
            "march/Smith_J_payslip.pdf": make_pdf([["Payslip for J Smith"]]),
            "march/staff.csv": "name,email\nAnn,ann@x.com\nBo,bo@x.com\n",
            "march/logo.png": b"\x89PNG\r\n\x1a\n",
        }
    )
    got = read("march.zip", archive)
    assert got.error is None
    assert "march/Smith_J_payslip.pdf" in got.text
    assert "march/logo.png" in got.text
    assert "Payslip for J Smith" in got.text
    assert got.records == 2


def test_nested_archives_are_opened_to_a_fixed_depth() -> None:
    inner = make_zip({"deep.csv": "name\nAnn\n"})
    for level in range(5):
        inner = make_zip({f"level{level}.zip": inner})
    got = read("nest.zip", inner)
    assert "level2.zip" in got.text
    assert "deep.csv" not in got.text
    assert got.error is not None
    assert "levels of archives" in got.error


def test_only_the_member_limit_is_read_and_the_rest_reported() -> None:
    archive = make_zip({f"f{i:02}.txt": f"file {i}" for i in range(30)})
    got = read("many.zip", archive, max_archive_members=10)
    assert "file 9" in got.text
    assert "file 10" not in got.text
    assert got.error == "only the first 10 of 30 files in the archive were checked"


def test_password_protected_member_is_reported() -> None:
    archive = bytearray(make_zip({"secret.csv": "name\nAnn\n"}))
    struct.pack_into("<H", archive, archive.find(b"PK\x01\x02") + 8, 1)
    got = read("secret.zip", bytes(archive))
    assert got.error == "secret.csv: is password-protected"


def test_one_gigabyte_bomb_is_refused_from_its_declared_size() -> None:
    bomb = zeros_zip("zeros.csv", 1 << 30, level=1)
    assert len(bomb) < 8 * 1024 * 1024
    got = read("bomb.zip", bomb)
    assert (
        got.error
        == "zeros.csv: unpacks to 1024 MB, more than the 100 MB allowed (a possible zip bomb)"
    )


def test_highly_compressed_member_is_refused_even_under_the_size_limit() -> None:
    got = read("ratio.xlsx", zeros_zip("xl/sharedStrings.xml", 20 << 20))
    assert got.error is not None
    assert "compressed 1029 times over" in got.error
    assert "zip bomb" in got.error


def test_a_member_that_lies_about_its_size_is_stopped_at_the_declared_size() -> None:
    bomb = lie_about_size(zeros_zip("data.csv", 20 << 20), 1000)
    got = read("lying.zip", bomb)
    assert got.error is not None
    assert got.error.startswith("data.csv: is damaged")
    assert len(got.text) < 2000


def test_the_inflated_byte_budget_is_shared_by_all_members() -> None:
    archive = make_zip({f"f{i}.txt": "words " * 2000 for i in range(20)})
    got = read("all.zip", archive, max_inflated_bytes=50_000)
    assert got.error is not None
    assert "unpacks to more than 49 KB in all" in got.error
    assert got.text.count("words") < 50_000 // 6


def test_time_budget_stops_reading() -> None:
    got = read("slow.docx", make_docx(["p"] * 100), attachment_seconds=0.0)
    assert got.error is not None
    assert got.error.startswith("took longer than 0 s to read")


# --- never raises --------------------------------------------------------------------------

_NAMES = st.sampled_from(
    ["a.pdf", "a.docx", "a.xlsx", "a.ods", "a.odt", "a.pptx", "a.zip", "a.csv", "a.txt", "a"]
)
_SEEDS = [
    make_pdf([["Payslip J Smith"]]),
    make_docx(["Dear Mrs Patel"]),
    make_xlsx({"S": [["Name"], ["Ann"]]}),
    make_ods([["Name"], ["Ann"]]),
    make_zip({"a.csv": "x\n1\n", "b.zip": make_zip({"c.txt": "hi"})}),
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(_SEEDS),
    name=_NAMES,
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 10_000),
)
def test_damaged_documents_never_raise(
    seed: bytes, name: str, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(seed)
    for position, value in edits:
        data[position % len(data)] = value
    got = extract(name, "", bytes(data[: max(cut, len(data) // 2)]), LIMITS)
    assert isinstance(got, Extracted)
    assert got.text is not None


@settings(max_examples=200, deadline=None)
@given(
    name=_NAMES,
    content_type=st.sampled_from(["", "text/plain", "application/pdf", "text/csv"]),
    payload=st.binary(max_size=2000),
)
def test_arbitrary_bytes_never_raise(name: str, content_type: str, payload: bytes) -> None:
    assert isinstance(extract(name, content_type, payload, LIMITS), Extracted)


@pytest.mark.parametrize("prefix", [b"%PDF-1.7\n", b"PK\x03\x04", b"PK\x05\x06"])
def test_bare_magic_numbers_are_reported_not_raised(prefix: bytes) -> None:
    got = read("x", prefix + bytes(10))
    assert got.error is not None


def test_docx_headers_footers_and_comments_are_read() -> None:
    archive = make_docx(["Body text"])
    members = {}
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        for name in zf.namelist():
            members[name] = zf.read(name)
    para = '<w:{0} xmlns:w="{1}"><w:p><w:r><w:t>{2}</w:t></w:r></w:p></w:{0}>'
    members["word/header1.xml"] = para.format("hdr", W, "Private: J Smith")
    members["word/comments.xml"] = para.format("comments", W, "Check NI number")
    got = read("letter.docx", make_zip(members))
    assert got.text == "Body text\nPrivate: J Smith\nCheck NI number\n"


def test_archive_declaring_absurdly_many_members_is_refused_before_listing() -> None:
    archive = bytearray(make_zip({"a.txt": "hi"}))
    end = archive.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", archive, end + 8, 30_000, 30_000)
    got = read("many.zip", bytes(archive))
    assert got.error == "holds 30000 files, too many to inspect"


def test_outlook_message_files_are_reported() -> None:
    got = read("fwd.msg", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    assert got.error == "is an Outlook message file (.msg), which cannot be checked"
