"""The register as CSV (for a spreadsheet) and JSON (for another system), one row per incident."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from missend.register.model import Incident

COLUMNS = (
    "reference",
    "status",
    "source",
    "title",
    "sender",
    "subject",
    "message_id",
    "sent_at",
    "aware_at",
    "deadline_at",
    "overdue",
    "recipients",
    "people",
    "records",
    "categories",
    "special_categories",
    "likelihood",
    "severity",
    "risk",
    "consequences",
    "notify_regulator",
    "regulator_reasoning",
    "regulator_notified_at",
    "notify_subjects",
    "subjects_reasoning",
    "subjects_notified_at",
    "measures",
    "actions",
    "reported_by",
    "created_at",
    "updated_at",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """Text a spreadsheet shows as text: a leading formula character is escaped (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def to_csv(incidents: Iterable[Incident]) -> str:
    """Lists count their recipients rather than naming them: the CSV travels further than the register."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for incident in incidents:
        data = incident.to_dict()
        data["recipients"] = len(incident.recipients)
        data["categories"] = "; ".join(incident.categories)
        data["special_categories"] = "; ".join(incident.special_categories)
        data["actions"] = "; ".join(f"{a.taken_at.isoformat()} {a.kind}" for a in incident.actions)
        writer.writerow([_cell(data[c]) for c in COLUMNS])
    return out.getvalue()


def to_json(incidents: Iterable[Incident]) -> str:
    return json.dumps({"incidents": [i.to_dict() for i in incidents]}, indent=2, ensure_ascii=False)
