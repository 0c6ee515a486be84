"""Shared fixtures: history store URLs for every supported database.

PostgreSQL is the real server on loopback (trust auth). The session gets its own database, created
here and dropped at the end; each test gets its own schema in it, so tests never see each other's rows.
Point MISSEND_TEST_POSTGRES at another server to run elsewhere.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, make_url, text

POSTGRES_ADMIN = os.environ.get(
    "MISSEND_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """A fresh database for this test session, dropped afterwards."""
    admin = make_url(POSTGRES_ADMIN)
    name = f"missend_test_{secrets.token_hex(4)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin.set(database=name)
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture
def postgresql_url(postgres_database: URL) -> Iterator[str]:
    """A URL whose connections see only a schema made for this one test."""
    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = postgres_database.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The same test against SQLite (a temporary file) and PostgreSQL (a fresh schema)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url
