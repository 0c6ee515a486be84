"""PDF text through PDFium, page by page, stopping at the page and text limits.

PDFium is not thread-safe, so every use goes through one lock; a server checking messages on
several threads would otherwise crash inside the C library.
"""

from __future__ import annotations

import threading

import pypdfium2 as pdfium

from missend.message.readers.budget import Budget, Unreadable

_LOCK = threading.Lock()


def read_pdf(payload: bytes, budget: Budget) -> None:
    with _LOCK:
        try:
            pdf = pdfium.PdfDocument(payload)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise Unreadable("is password-protected") from exc
            raise Unreadable("is a damaged PDF") from exc
        try:
            _pages(pdf, budget)
        finally:
            pdf.close()


def _pages(pdf: pdfium.PdfDocument, budget: Budget) -> None:
    count = len(pdf)
    max_pages = budget.limits.max_pages
    for index in range(min(count, max_pages)):
        budget.check_time()
        page = pdf[index]
        try:
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_range()
            finally:
                textpage.close()
        except pdfium.PdfiumError:
            budget.note(f"page {index + 1} could not be read")
            continue
        finally:
            page.close()
        budget.add(text.replace("\r\n", "\n") + "\n\f")
    if count > max_pages:
        budget.note(f"only the first {max_pages} of {count} pages were checked")
