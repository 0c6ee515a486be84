"""Text extraction from attachments, bounded in size, time and nesting.

Each attachment gets its own `Budget`; the readers in `missend.message.readers` fill it and stop by
raising. `extract` turns every outcome into an `Extracted`, so a hostile or broken file becomes a
plain reason on the message, never an exception in the mail path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from missend.message.limits import Limits
from missend.message.readers.budget import Budget, TextFull, Unreadable
from missend.message.readers.dispatch import read_any

NOT_INSPECTED = "file type not inspected"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str = ""
    records: int | None = None
    truncated: bool = False
    error: str | None = None


def extract(filename: str, content_type: str, payload: bytes, limits: Limits) -> Extracted:
    """The text of one attachment, with a plain reason in `error` for anything not read."""
    budget = Budget(limits)
    try:
        if not read_any(filename, content_type, payload, budget, depth=0):
            return Extracted(error=NOT_INSPECTED)
    except TextFull:
        pass
    except Unreadable as exc:
        budget.note(str(exc))
    except Exception as exc:  # hostile files make parsers raise anything; it must become a finding, not a lost mail
        log.warning("attachment reader failed: %s", type(exc).__name__)
        budget.note(f"could not be read ({type(exc).__name__})")
    error = "; ".join(budget.notes)
    return Extracted(
        text=budget.text,
        records=budget.records,
        truncated=budget.truncated,
        error=error[:400] or None,
    )
