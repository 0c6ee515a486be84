"""The register's store: incidents and their actions, every change logged in the same transaction.

A change and its audit entry commit together or not at all. Updates are compare-and-set on the
row's version, so two officers editing at once cannot overwrite each other unseen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from missend.audit.log import AuditLog
from missend.history.schema import incident_actions as at
from missend.history.schema import incidents as it
from missend.history.store import Store
from missend.hold.queue import now
from missend.message.addresses import normalize_email
from missend.register.deadlines import as_utc, deadline
from missend.register.model import (
    ActionKind,
    Incident,
    IncidentAction,
    Level,
    NewIncident,
    Source,
    Status,
)

_LISTS = ("recipients", "affected", "categories", "special_categories")
_ADDRESS_LISTS = ("recipients", "affected")
_TEXTS = {
    "title": 300,
    "description": 20_000,
    "consequences": 20_000,
    "measures": 20_000,
    "regulator_reasoning": 20_000,
    "subjects_reasoning": 20_000,
    "dpo_contact": 500,
    "subject": 998,
}
_TIMES = ("aware_at", "sent_at", "regulator_notified_at", "subjects_notified_at")
_OPTIONAL_TIMES = ("sent_at", "regulator_notified_at", "subjects_notified_at")
UPDATABLE = frozenset(
    {
        *_LISTS,
        *_TEXTS,
        *_TIMES,
        "status",
        "people",
        "records",
        "likelihood",
        "severity",
        "notify_regulator",
        "notify_subjects",
        "message_id",
    }
)
MAX_LIST = 100_000


class IncidentNotFound(LookupError):
    pass


class VersionConflict(RuntimeError):
    """Someone else changed the incident since it was read."""


class InvalidChange(ValueError):
    """The change would leave the incident in a state the register does not accept; says why."""


def _addresses(values: Iterable[str], name: str) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for value in values:
        email = normalize_email(str(value))
        local, at_, domain = email.rpartition("@")
        if not (at_ and local and domain) or len(email) > 320 or any(c.isspace() for c in email):
            raise InvalidChange(f"{name}: {value!r} is not an e-mail address")
        out[email] = None
    return tuple(out)


def _clean(name: str, value: Any) -> Any:
    """One field, checked and normalised to its stored form."""
    if name in _LISTS:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise InvalidChange(f"{name} must be a list")
        items = list(value)
        if len(items) > MAX_LIST:
            raise InvalidChange(f"{name} has more than {MAX_LIST} entries")
        if name in _ADDRESS_LISTS:
            return _addresses(items, name)
        return tuple(dict.fromkeys(str(v).strip()[:200] for v in items if str(v).strip()))
    if name in _TEXTS:
        if not isinstance(value, str):
            raise InvalidChange(f"{name} must be text")
        if name == "title" and not value.strip():
            raise InvalidChange("title cannot be empty")
        return value.strip()[: _TEXTS[name]]
    if name in _TIMES:
        if value is None and name in _OPTIONAL_TIMES:
            return None
        if not isinstance(value, datetime):
            raise InvalidChange(f"{name} must be a date and time")
        return as_utc(value)
    if name in ("people", "records"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidChange(f"{name} must be a whole number, 0 or more")
        return value
    if name in ("likelihood", "severity"):
        try:
            return None if value is None else Level(value)
        except ValueError:
            raise InvalidChange(f"{name} must be low, medium or high") from None
    if name in ("notify_regulator", "notify_subjects"):
        if value is not None and not isinstance(value, bool):
            raise InvalidChange(f"{name} must be true, false or null (undecided)")
        return value
    if name == "status":
        try:
            return Status(value)
        except ValueError:
            raise InvalidChange("status must be open or closed") from None
    if name == "message_id":
        if value is not None and not isinstance(value, str):
            raise InvalidChange("message_id must be text")
        return value[:998] if value else None
    raise InvalidChange(f"{name} cannot be changed")


def _check_whole(values: Mapping[str, Any]) -> None:
    """Rules across fields: every decision has its reasons, and nothing closes undecided."""
    for decision, reasoning, what in (
        ("notify_regulator", "regulator_reasoning", "notify the regulator"),
        ("notify_subjects", "subjects_reasoning", "tell the people affected"),
    ):
        if values[decision] is not None and not values[reasoning]:
            raise InvalidChange(
                f"give the reasoning ({reasoning}) for the decision whether to {what}"
            )
    if values["status"] == Status.CLOSED:
        undecided = [d for d in ("notify_regulator", "notify_subjects") if values[d] is None]
        if undecided:
            raise InvalidChange(
                f"an incident cannot be closed before deciding {' and '.join(undecided)}"
            )


def _stored(name: str, value: Any) -> Any:
    if name in _LISTS:
        return json.dumps(list(value))
    if isinstance(value, Level | Status):
        return str(value)
    return value


def _incident(row: Row[Any], actions: Sequence[IncidentAction] = ()) -> Incident:
    return Incident(
        id=row.id,
        status=Status(row.status),
        source=Source(row.source),
        title=row.title,
        description=row.description,
        sender=row.sender,
        message_id=row.message_id,
        subject=row.subject,
        sent_at=row.sent_at,
        verdict_id=row.verdict_id,
        hold_id=row.hold_id,
        recipients=tuple(json.loads(row.recipients)),
        affected=tuple(json.loads(row.affected)),
        categories=tuple(json.loads(row.categories)),
        special_categories=tuple(json.loads(row.special_categories)),
        people=row.people,
        records=row.records,
        aware_at=row.aware_at,
        deadline_at=row.deadline_at,
        likelihood=Level(row.likelihood) if row.likelihood else None,
        severity=Level(row.severity) if row.severity else None,
        consequences=row.consequences,
        measures=row.measures,
        notify_regulator=row.notify_regulator,
        regulator_reasoning=row.regulator_reasoning,
        regulator_notified_at=row.regulator_notified_at,
        notify_subjects=row.notify_subjects,
        subjects_reasoning=row.subjects_reasoning,
        subjects_notified_at=row.subjects_notified_at,
        dpo_contact=row.dpo_contact,
        reported_by=row.reported_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        actions=tuple(actions),
    )


def _action(row: Row[Any]) -> IncidentAction:
    return IncidentAction(
        id=row.id,
        incident_id=row.incident_id,
        kind=ActionKind(row.kind),
        description=row.description,
        recipient=row.recipient,
        taken_at=row.taken_at,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


class Register:
    def __init__(self, store: Store, audit: AuditLog | None = None) -> None:
        self.store = store
        self.engine = store.engine
        self.audit = audit or AuditLog(store)

    def open(self, new: NewIncident, by: str) -> Incident:
        with self.audit.transaction() as conn:
            incident_id = self.open_in(conn, new, by)
        return self.get(incident_id)

    def open_in(self, conn: Connection, new: NewIncident, by: str) -> int:
        """Open an incident inside the caller's audit transaction (see `AuditLog.transaction`)."""
        values = asdict(new)
        clean = {k: _clean(k, values[k]) for k in UPDATABLE & values.keys()}
        stamp = now()
        row = {k: _stored(k, v) for k, v in clean.items()}
        row.update(
            status=str(Status.OPEN),
            source=str(Source(new.source)),
            sender=normalize_email(new.sender) if new.sender else "",
            verdict_id=new.verdict_id,
            hold_id=new.hold_id,
            deadline_at=deadline(clean["aware_at"]),
            notify_regulator=None,
            regulator_reasoning="",
            notify_subjects=None,
            subjects_reasoning="",
            reported_by=new.reported_by[:320],
            created_at=stamp,
            updated_at=stamp,
            version=1,
        )
        incident_id = int(conn.execute(insert(it).values(**row).returning(it.c.id)).scalar_one())
        self.audit.append(
            conn,
            by,
            "incident.open",
            str(incident_id),
            {
                "source": str(new.source),
                "verdict": new.verdict_id,
                "hold": new.hold_id,
                "recipients": len(clean["recipients"]),
                "people": clean["people"],
                "records": clean["records"],
            },
        )
        return incident_id

    def get(self, incident_id: int) -> Incident:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(it).where(it.c.id == incident_id)).first()
            if row is None:
                raise IncidentNotFound(f"no incident {incident_id}")
            actions = [
                _action(a)
                for a in conn.execute(
                    select(at)
                    .where(at.c.incident_id == incident_id)
                    .order_by(at.c.taken_at, at.c.id)
                )
            ]
        return _incident(row, actions)

    def find(
        self, status: Status | None = None, limit: int = 100, offset: int = 0
    ) -> list[Incident]:
        """Newest first, each with its actions."""
        query = select(it).order_by(it.c.id.desc()).limit(limit).offset(offset)
        if status is not None:
            query = query.where(it.c.status == str(status))
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            by_incident: dict[int, list[IncidentAction]] = {i: [] for i in ids}
            if ids:
                for a in conn.execute(
                    select(at).where(at.c.incident_id.in_(ids)).order_by(at.c.taken_at, at.c.id)
                ):
                    by_incident[a.incident_id].append(_action(a))
        return [_incident(r, by_incident[r.id]) for r in rows]

    def count(self, status: Status | None = None) -> int:
        query = select(func.count()).select_from(it)
        if status is not None:
            query = query.where(it.c.status == str(status))
        with self.store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def update(
        self,
        incident_id: int,
        changes: Mapping[str, Any],
        by: str,
        expected_version: int | None = None,
    ) -> Incident:
        unknown = sorted(set(changes) - UPDATABLE)
        if unknown:
            raise InvalidChange(f"cannot change {', '.join(unknown)}")
        clean = {k: _clean(k, v) for k, v in changes.items()}
        with self.audit.transaction() as conn:
            row = conn.execute(select(it).where(it.c.id == incident_id)).first()
            if row is None:
                raise IncidentNotFound(f"no incident {incident_id}")
            if expected_version is not None and row.version != expected_version:
                raise VersionConflict(
                    f"incident {incident_id} is at version {row.version}, not {expected_version}"
                )
            current = _incident(row)
            merged = {**{k: getattr(current, k) for k in UPDATABLE}, **clean}
            _check_whole(merged)
            changed = sorted(k for k, v in clean.items() if getattr(current, k) != v)
            if not changed:
                return self.get(incident_id)
            values = {k: _stored(k, clean[k]) for k in changed}
            if "aware_at" in changed:
                values["deadline_at"] = deadline(clean["aware_at"])
            result = conn.execute(
                update(it)
                .where(it.c.id == incident_id, it.c.version == row.version)
                .values(**values, updated_at=now(), version=row.version + 1)
            )
            if result.rowcount != 1:
                raise VersionConflict(f"incident {incident_id} was changed by someone else")
            self.audit.append(
                conn,
                by,
                "incident.update",
                str(incident_id),
                {"fields": changed, "version": row.version + 1},
            )
        return self.get(incident_id)

    def add_action(
        self,
        incident_id: int,
        kind: ActionKind,
        by: str,
        *,
        description: str = "",
        recipient: str | None = None,
        taken_at: datetime | None = None,
    ) -> Incident:
        """Record what was done; notifying the regulator or the people also stamps the incident."""
        kind = ActionKind(kind)
        email = _addresses([recipient], "recipient")[0] if recipient else None
        when = as_utc(taken_at) if taken_at else now()
        with self.audit.transaction() as conn:
            row = conn.execute(select(it.c.id, it.c.version).where(it.c.id == incident_id)).first()
            if row is None:
                raise IncidentNotFound(f"no incident {incident_id}")
            action_id = conn.execute(
                insert(at)
                .values(
                    incident_id=incident_id,
                    kind=str(kind),
                    description=description.strip()[:20_000],
                    recipient=email,
                    taken_at=when,
                    recorded_by=by[:320],
                    recorded_at=now(),
                )
                .returning(at.c.id)
            ).scalar_one()
            stamps: dict[str, Any] = {}
            if kind == ActionKind.REGULATOR_NOTIFIED:
                stamps = {"regulator_notified_at": when}
            elif kind == ActionKind.SUBJECTS_NOTIFIED:
                stamps = {"subjects_notified_at": when}
            conn.execute(
                update(it)
                .where(it.c.id == incident_id)
                .values(**stamps, updated_at=now(), version=row.version + 1)
            )
            self.audit.append(
                conn,
                by,
                "incident.action",
                str(incident_id),
                {"kind": str(kind), "action": int(action_id), "version": row.version + 1},
            )
        return self.get(incident_id)
