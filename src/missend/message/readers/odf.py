"""OpenDocument text (ODT) and spreadsheets (ODS), from the package's content.xml.

ODF writes runs of identical rows and cells once with a repeat count (an empty sheet tail is one
row repeated a million times), so repeats are counted, never expanded.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from missend.message.readers.budget import Budget, TextFull, Unreadable
from missend.message.readers.safezip import SafeZip
from missend.message.readers.xml import iterparse, local, release

_MARKS = {"tab": "\t", "line-break": "\n", "s": " "}
_MAX_REPEAT_TEXT = 10
_MAX_SPACES = 100


def _attr(el: Any, name: str) -> str | None:
    for key, value in el.attrib.items():
        if local(key) == name:
            return str(value)
    return None


def _repeat(el: Any, name: str) -> int:
    try:
        return max(int(_attr(el, name) or 1), 1)
    except ValueError:
        return 1


def _text(paragraph: Any) -> str:
    for el in paragraph.iter("{*}tab", "{*}line-break", "{*}s"):
        count = min(_repeat(el, "c"), _MAX_SPACES) if local(el.tag) == "s" else 1
        el.text = _MARKS[local(el.tag)] * count
    return str(etree.tostring(paragraph, method="text", encoding="unicode", with_tail=False))


def _content(zf: SafeZip) -> Any:
    info = zf.get("content.xml")
    if info is None:
        raise Unreadable("is an OpenDocument file without content")
    return zf.stream(info)


def read_odt(zf: SafeZip, budget: Budget) -> None:
    with _content(zf) as stream:
        for paragraph in iterparse(stream, ("{*}p", "{*}h"), budget):
            text = _text(paragraph)
            release(paragraph)
            if text:
                budget.add(text + "\n")


def _row(row: Any) -> str:
    cells: list[str] = []
    for cell in row:
        if local(cell.tag) not in ("table-cell", "covered-table-cell"):
            continue
        text = " ".join(_text(p) for p in cell.iter("{*}p")).replace("\t", " ")
        repeat = _repeat(cell, "number-columns-repeated")
        cells.extend([text] * (min(repeat, _MAX_REPEAT_TEXT) if text else min(repeat, 1)))
    return "\t".join(cells).rstrip("\t")


def read_ods(zf: SafeZip, budget: Budget) -> None:
    max_rows = budget.limits.max_rows
    total = rows = 0
    with _content(zf) as stream:
        for el in iterparse(stream, ("{*}table-row", "{*}table"), budget):
            if local(el.tag) == "table":
                budget.add_records(max(rows - 1, 0))
                total += rows
                rows = 0
                release(el)
                budget.offer("\n")
                continue
            line = _row(el)
            repeat = _repeat(el, "number-rows-repeated")
            release(el)
            if not line.strip():
                continue
            if total + rows + repeat > max_rows:
                budget.note(f"only the first {max_rows} rows were checked")
                break
            rows += repeat
            budget.offer(line + "\n")
    budget.add_records(max(rows - 1, 0))
    if budget.full:
        raise TextFull
