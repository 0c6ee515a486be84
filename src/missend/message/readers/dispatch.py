"""Choose the reader for a file, by what its bytes are before what its name or label claims.

A `.txt` that is really a spreadsheet is read as a spreadsheet; a `.pdf` that is not a PDF is
reported as unreadable rather than silently skipped. Archives are opened member by member with
the same budget, up to a fixed nesting depth.
"""

from __future__ import annotations

from missend.message.readers.budget import Budget, OutOfTime, OverBudget, TextFull, Unreadable
from missend.message.readers.odf import read_ods, read_odt
from missend.message.readers.office import read_docx, read_pptx, read_xlsx
from missend.message.readers.pdf import read_pdf
from missend.message.readers.plain import looks_textual, read_csv, read_html, read_text
from missend.message.readers.safezip import SafeZip, is_zip

MAX_NESTING = 3
LISTED_MEMBERS = 1000

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OTHER_ARCHIVES = (b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b")
_MEDIA = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"ID3",
    b"OggS",
    b"fLaC",
)
_ODF_MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
}
_ZIP_NAMES = (".zip", ".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".odt", ".ods")
_ZIP_TYPES = ("zip", "officedocument", "opendocument")
_INSPECTED = (
    ".pdf",
    ".csv",
    ".tsv",
    ".txt",
    ".text",
    ".htm",
    ".html",
    ".log",
    ".eml",
    ".md",
    ".json",
    ".xml",
    *_ZIP_NAMES,
)


def read_any(filename: str, content_type: str, payload: bytes, budget: Budget, depth: int) -> bool:
    """Read one file into the budget; False when its type is not one missend inspects."""
    name = filename.lower()
    ctype = content_type.lower()
    head = payload[:1024]
    if b"%PDF-" in head:
        read_pdf(payload, budget)
        return True
    if is_zip(head):
        _read_zip(payload, budget, depth)
        return True
    if head.startswith(_OLE) and name.endswith(".msg"):
        raise Unreadable("is an Outlook message file (.msg), which cannot be checked")
    if head.startswith(_OLE):
        raise Unreadable(
            "is an old-format or password-protected Office file, which cannot be checked"
        )
    if head.startswith(_OTHER_ARCHIVES):
        raise Unreadable("is a compressed archive of a kind that cannot be opened (.rar, .7z, .gz)")
    if name.endswith(".pdf") or ctype == "application/pdf":
        raise Unreadable("is named as a PDF but is damaged or not a PDF")
    if name.endswith(_ZIP_NAMES) or any(t in ctype for t in _ZIP_TYPES):
        raise Unreadable("is named as an Office document or archive but is damaged or not one")
    if head.startswith(_MEDIA):
        return False
    if name.endswith((".csv", ".tsv")) or ctype in ("text/csv", "text/tab-separated-values"):
        read_csv(payload, budget, tsv=name.endswith(".tsv") or "tab-separated" in ctype)
        return True
    if name.endswith((".htm", ".html")) or ctype in ("text/html", "application/xhtml+xml"):
        read_html(payload, budget)
        return True
    if name.endswith(_INSPECTED) or ctype.startswith("text/") or looks_textual(payload):
        read_text(payload, budget)
        return True
    return False


def _read_zip(payload: bytes, budget: Budget, depth: int) -> None:
    if depth >= MAX_NESTING:
        raise Unreadable(f"is inside more than {MAX_NESTING} levels of archives, so was not opened")
    zf = SafeZip(payload, budget)
    if zf.get("word/document.xml"):
        read_docx(zf, budget)
    elif zf.get("xl/workbook.xml"):
        read_xlsx(zf, budget)
    elif zf.get("ppt/presentation.xml"):
        read_pptx(zf, budget)
    elif (kind := _odf_kind(zf)) == "odt":
        read_odt(zf, budget)
    elif kind == "ods":
        read_ods(zf, budget)
    else:
        _read_archive(zf, budget, depth)


def _worth_reading(name: str) -> bool:
    """Inspectable by extension, or with no extension at all (then the content decides)."""
    base = name.rpartition("/")[2].lower()
    return base.endswith(_INSPECTED) or "." not in base


def _odf_kind(zf: SafeZip) -> str | None:
    info = zf.get("mimetype")
    if info is None or info.file_size > 200 or zf.get("content.xml") is None:
        return None
    mimetype = zf.read(info).decode("ascii", "replace").strip()
    return _ODF_MIMETYPES.get(mimetype)


def _read_archive(zf: SafeZip, budget: Budget, depth: int) -> None:
    """List every member, then read the inspectable ones up to the member limit."""
    names = [i.filename for i in zf.members]
    budget.add("\n".join(names[:LISTED_MEMBERS]) + "\n")
    limit = budget.limits.max_archive_members
    wanted = [i for i in zf.members if _worth_reading(i.filename)]
    for info in zf.members[:LISTED_MEMBERS]:
        if info not in wanted[:limit]:
            try:
                zf.check(info, reading=False)
            except Unreadable as exc:
                budget.note(f"{info.filename}: {exc}")
    for info in wanted[:limit]:
        budget.check_time()
        if budget.full:
            raise TextFull
        try:
            data = zf.read(info)
            budget.add("\n")
            read_any(info.filename, "", data, budget, depth + 1)
        except (OutOfTime, OverBudget):
            raise
        except Unreadable as exc:
            budget.note(f"{info.filename}: {exc}")
    if len(wanted) > limit:
        budget.note(f"only the first {limit} of {len(wanted)} files in the archive were checked")
