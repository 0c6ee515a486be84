"""A bulk statement writes exactly what SQLAlchemy's own executemany writes, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, bindparam, create_engine
from sqlalchemy.dialects import postgresql, sqlite

from missend.history.bulk import BulkStatement
from missend.history.schema import UTCDateTime

metadata = MetaData()
counted = Table(
    "counted",
    metadata,
    Column("key", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("blob", LargeBinary),
    Column("seen", UTCDateTime),
)
NAMES = ["key", "count", "blob", "seen"]
EAST = timezone(timedelta(hours=5, minutes=30))


def upsert(dialect_name: str):  # type: ignore[no-untyped-def]
    insert = (sqlite if dialect_name == "sqlite" else postgresql).insert
    stmt = insert(counted).values({name: bindparam(name) for name in NAMES})
    return stmt.on_conflict_do_update(
        index_elements=[counted.c.key],
        set_={"count": counted.c.count + stmt.excluded.count, "seen": stmt.excluded.seen},
    )


ROWS = [
    {"key": 1, "count": 2, "blob": b"\x00\xff", "seen": datetime(2026, 1, 2, 3, 4, tzinfo=EAST)},
    {"key": 2, "count": 1, "blob": None, "seen": None},
    {"key": 3, "count": 5, "blob": b"", "seen": datetime(2026, 6, 1, 12, 0, tzinfo=UTC)},
]
AGAIN = [{"key": 1, "count": 3, "blob": b"x", "seen": datetime(2026, 2, 1, tzinfo=UTC)}]


def written(url: str, bulk: bool) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        stmt = upsert(engine.dialect.name)
        with engine.begin() as conn:
            for rows in (ROWS, AGAIN):
                if bulk:
                    BulkStatement(stmt, counted, NAMES, engine.dialect).execute(conn, rows)
                else:
                    conn.execute(stmt, rows)
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(counted.select().order_by(counted.c.key))]
    finally:
        engine.dispose()


def test_rows_come_back_the_same_as_through_sqlalchemys_executemany(store_url: str) -> None:
    through_sqlalchemy = written(store_url, bulk=False)
    assert written(store_url, bulk=True) == through_sqlalchemy
    first = through_sqlalchemy[0]
    assert first[1] == 5
    assert first[3] == datetime(2026, 2, 1, tzinfo=UTC)
    assert through_sqlalchemy[2][3] == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_a_statement_binding_other_values_than_the_named_columns_is_refused() -> None:
    stmt = sqlite.insert(counted).values({"key": bindparam("key"), "count": 1})
    with pytest.raises(ValueError, match="binds"):
        BulkStatement(stmt, counted, ["key", "count"], sqlite.dialect())


def test_nothing_to_write_sends_nothing(sqlite_url: str) -> None:
    """The table was never created here, so any statement sent would raise."""
    engine = create_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            BulkStatement(upsert("sqlite"), counted, NAMES, engine.dialect).execute(conn, [])
    finally:
        engine.dispose()
