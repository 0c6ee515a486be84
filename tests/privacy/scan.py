"""A scan of every text column in a database, for what erasure or hashing must leave behind."""

from __future__ import annotations

from sqlalchemy import MetaData, String, create_engine, select


def text_hits(url: str, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) for every text value anywhere that contains one of the needles.

    Reads the tables from the database itself, not from missend's schema, so a table the
    code forgot is scanned too.
    """
    engine = create_engine(url)
    meta = MetaData()
    try:
        meta.reflect(engine)
        hits: list[tuple[str, str, str]] = []
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                cols = [c for c in table.columns if isinstance(c.type, String)]
                if not cols:
                    continue
                for row in conn.execute(select(*cols)):
                    for col, value in zip(cols, row, strict=True):
                        if isinstance(value, str) and any(n in value for n in needles):
                            hits.append((table.name, col.name, value))
        return hits
    finally:
        engine.dispose()
