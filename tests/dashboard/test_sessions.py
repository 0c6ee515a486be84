"""Sessions: signed cookies over rows the server can delete, ending at the absolute or idle limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from missend.dashboard.accounts import Accounts, User
from missend.dashboard.sessions import Sessions
from missend.dashboard.settings import DashboardSettings
from missend.history.schema import dashboard_keys, dashboard_sessions
from missend.history.store import Store
from missend.hold.queue import now

from .conftest import CHEAP, PASSWORD


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """These run on SQLite and on PostgreSQL."""
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture
def accounts(store: Store) -> Accounts:
    return Accounts(store, CHEAP)


@pytest.fixture
def user(accounts: Accounts) -> User:
    return accounts.create("pat", PASSWORD, "officer")


def sessions(store: Store, accounts: Accounts, **settings: object) -> Sessions:
    return Sessions(store, accounts, DashboardSettings(**settings))  # type: ignore[arg-type]


def test_the_store_keeps_only_a_hash_of_the_cookie(
    store: Store, accounts: Accounts, user: User
) -> None:
    made = sessions(store, accounts)
    cookie = made.start(user)
    token = cookie.partition(".")[0]
    with store.engine.connect() as conn:
        ids = conn.execute(select(dashboard_sessions.c.id)).scalars().all()
    assert len(ids) == 1
    assert token not in ids[0]
    found = made.find(cookie)
    assert found is not None
    assert found.user == user
    assert made.find(cookie.replace(".", ".x", 1)) is None


def test_each_store_signs_with_its_own_key(store: Store, accounts: Accounts, user: User) -> None:
    with store.engine.connect() as conn:
        key = conn.execute(select(dashboard_keys.c.key)).scalar_one()
    assert len(key) >= 64
    cookie = sessions(store, accounts).start(user)
    with store.engine.begin() as conn:
        conn.execute(update(dashboard_keys).values(key="another-key-" + "0" * 60))
    assert sessions(store, accounts).find(cookie) is None


def test_sessions_end_when_idle_or_old(store: Store, accounts: Accounts, user: User) -> None:
    made = sessions(store, accounts, idle_minutes=30, session_hours=8)
    idle, old, fresh = made.start(user), made.start(user), made.start(user)
    rows = dashboard_sessions
    with store.engine.begin() as conn:
        conn.execute(
            update(rows)
            .where(rows.c.id == made.find(idle).id)  # type: ignore[union-attr]
            .values(seen_at=now() - timedelta(minutes=31))
        )
        conn.execute(
            update(rows)
            .where(rows.c.id == made.find(old).id)  # type: ignore[union-attr]
            .values(expires_at=now() - timedelta(seconds=1))
        )
    assert made.find(idle) is None
    assert made.find(old) is None
    assert made.find(fresh) is not None
    with store.engine.connect() as conn:
        assert len(conn.execute(select(rows.c.id)).all()) == 1  # the ended ones are gone


def test_csrf_tokens_differ_per_session(store: Store, accounts: Accounts, user: User) -> None:
    made = sessions(store, accounts)
    first = made.find(made.start(user))
    second = made.find(made.start(user))
    assert first is not None
    assert second is not None
    assert first.csrf != second.csrf
    assert Sessions.csrf_ok(first, first.csrf)
    assert not Sessions.csrf_ok(first, second.csrf)
    assert not Sessions.csrf_ok(first, "")
    assert not Sessions.csrf_ok(first, "ü" * 10)


def test_the_sign_in_form_token_matches_only_its_cookie(store: Store, accounts: Accounts) -> None:
    made = sessions(store, accounts)
    cookie, token = made.login_nonce()
    other_cookie, other_token = made.login_nonce()
    assert made.login_form_ok(cookie, token)
    assert not made.login_form_ok(cookie, other_token)
    assert not made.login_form_ok(None, token)
    assert not made.login_form_ok(other_cookie.split(".")[0] + ".forged", other_token)


def test_secure_cookie_names(store: Store, accounts: Accounts) -> None:
    assert sessions(store, accounts).cookie_name == "__Host-missend_session"
    assert sessions(store, accounts, secure_cookies=False).cookie_name == "missend_session"
