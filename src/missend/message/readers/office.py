"""Office Open XML (DOCX, PPTX, XLSX) read straight from the package's XML parts.

Parts are streamed from the zip into lxml's iterparse and each paragraph or row is released as
soon as it is read, so memory stays flat however large the document is. Tracked deletions are
read too: they are still in the file the recipient gets.
"""

from __future__ import annotations

import re
from typing import Any

from missend.message.readers.budget import Budget, TextFull
from missend.message.readers.safezip import SafeZip
from missend.message.readers.xml import iterparse, local, own_text, release

_TEXT = frozenset({"t", "delText"})
_BREAK = frozenset({"br", "cr"})
_DIGITS = re.compile(r"(\d{1,9})")
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_MAX_SHARED = 2_000_000


def _natural(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in _DIGITS.split(name)]


def _parts(zf: SafeZip, pattern: str) -> list[str]:
    rx = re.compile(pattern)
    return sorted((i.filename for i in zf if rx.fullmatch(i.filename)), key=_natural)


def _paragraph_text(paragraph: Any) -> str:
    out: list[str] = []
    for el in paragraph.iter():
        name = local(el.tag)
        if name in _TEXT:
            out.append(own_text(el))
        elif name == "tab" and local(el.getparent().tag) != "tabs":
            out.append("\t")
        elif name in _BREAK:
            out.append("\n")
    return "".join(out)


def _read_paragraphs(zf: SafeZip, part: str, budget: Budget) -> None:
    info = zf.get(part)
    if info is None:
        return
    with zf.stream(info) as stream:
        for paragraph in iterparse(stream, ("{*}p",), budget):
            text = _paragraph_text(paragraph)
            release(paragraph)
            if text:
                budget.add(text + "\n")


def read_docx(zf: SafeZip, budget: Budget) -> None:
    parts = ["word/document.xml"]
    parts += _parts(zf, r"word/(header|footer)\d*\.xml")
    parts += ["word/footnotes.xml", "word/endnotes.xml", "word/comments.xml"]
    for part in parts:
        _read_paragraphs(zf, part, budget)


def read_pptx(zf: SafeZip, budget: Budget) -> None:
    for part in _parts(zf, r"ppt/slides/slide\d+\.xml") + _parts(
        zf, r"ppt/notesSlides/notesSlide\d+\.xml"
    ):
        _read_paragraphs(zf, part, budget)
        budget.add("\n")


def _shared_strings(zf: SafeZip, budget: Budget) -> list[str]:
    info = zf.get("xl/sharedStrings.xml")
    if info is None:
        return []
    strings: list[str] = []
    room = budget.limits.max_text_chars
    with zf.stream(info) as stream:
        for si in iterparse(stream, ("{*}si",), budget):
            if len(strings) >= _MAX_SHARED:
                budget.truncated = True
                break
            text = _shared_text(si)
            release(si)
            if room <= 0:
                budget.truncated = True
                text = ""
            room -= len(text)
            strings.append(text)
    return strings


def _shared_text(si: Any) -> str:
    """A shared string: its runs joined, without the phonetic guides (rPh) some locales add."""
    if len(si) == 1:
        return own_text(si[0])
    return "".join(own_text(t) for t in si.iter("{*}t") if local(t.getparent().tag) != "rPh")


def _sheet_parts(zf: SafeZip, budget: Budget) -> list[str]:
    """Worksheets in the workbook's tab order; by file name when the workbook map is unusable."""
    found = _parts(zf, r"xl/worksheets/[^/]{1,200}\.xml")
    rels = zf.get("xl/_rels/workbook.xml.rels")
    book = zf.get("xl/workbook.xml")
    if rels is None or book is None:
        return found
    targets: dict[str, str] = {}
    with zf.stream(rels) as stream:
        for rel in iterparse(stream, ("{*}Relationship",), budget):
            target = (rel.get("Target") or "").lstrip("/")
            targets[rel.get("Id") or ""] = target if target.startswith("xl/") else f"xl/{target}"
            release(rel)
    ordered: list[str] = []
    with zf.stream(book) as stream:
        for sheet in iterparse(stream, ("{*}sheet",), budget):
            target = targets.get(sheet.get(_REL_NS) or "")
            if target in found and target not in ordered:
                ordered.append(target)
            release(sheet)
    return ordered + [p for p in found if p not in ordered]


def _cell_text(cell: Any, shared: list[str]) -> str:
    kind = cell.get("t")
    if kind == "inlineStr":
        return "".join(own_text(t) for t in cell.iter("{*}t"))
    value = cell.findtext("{*}v") or ""
    if kind == "s":
        try:
            return shared[int(value)]
        except (ValueError, IndexError):
            return ""
    return value


def _row_text(row: Any, shared: list[str]) -> str:
    """Cells in sheet order, tab-separated; empty cells between values are not reproduced."""
    cells = [_cell_text(cell, shared) for cell in row.iterchildren("{*}c")]
    return "\t".join(c.replace("\t", " ").replace("\n", " ") for c in cells if c)


def _row_has_value(row: Any) -> bool:
    return any(
        cell.get("t") == "inlineStr" or cell.findtext("{*}v") for cell in row.iterchildren("{*}c")
    )


def read_xlsx(zf: SafeZip, budget: Budget) -> None:
    shared = _shared_strings(zf, budget)
    max_rows = budget.limits.max_rows
    total = 0
    for part in _sheet_parts(zf, budget):
        info = zf.get(part)
        if info is None:
            continue
        rows = 0
        try:
            with zf.stream(info) as stream:
                for row in iterparse(stream, ("{*}row",), budget):
                    line = "" if budget.full else _row_text(row, shared)
                    counted = bool(line.strip()) if not budget.full else _row_has_value(row)
                    release(row)
                    if not counted:
                        continue
                    rows += 1
                    if total + rows > max_rows:
                        budget.note(f"only the first {max_rows} rows were checked")
                        rows -= 1
                        break
                    budget.offer(line + "\n")
        finally:
            budget.add_records(max(rows - 1, 0))
        total += rows
        if total >= max_rows:
            break
        budget.offer("\n")
    if budget.full:
        raise TextFull
