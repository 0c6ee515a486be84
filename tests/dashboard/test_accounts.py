"""Dashboard accounts: argon2id hashes, roles limited to officer and admin, disabling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from missend.dashboard.accounts import AccountError, Accounts
from missend.history.schema import dashboard_users
from missend.history.store import Store

from .conftest import CHEAP, PASSWORD


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """These run on SQLite and on PostgreSQL."""
    with Store.open(store_url) as opened:
        yield opened


@pytest.fixture
def accounts(store: Store) -> Accounts:
    return Accounts(store, CHEAP)


def test_a_password_is_kept_only_as_an_argon2id_hash(accounts: Accounts, store: Store) -> None:
    user = accounts.create("  DPO@Agency.Example ", PASSWORD, "officer", by="test")
    assert user.name == "dpo@agency.example"
    with store.engine.connect() as conn:
        stored = conn.execute(select(dashboard_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert accounts.authenticate("dpo@agency.example", PASSWORD) == accounts.get(user.id)
    assert accounts.authenticate("DPO@agency.example", PASSWORD) is not None
    assert accounts.authenticate("dpo@agency.example", PASSWORD + "x") is None
    assert accounts.authenticate("nobody", PASSWORD) is None
    assert accounts.get(user.id).last_login_at is not None  # type: ignore[union-attr]


def test_only_officers_and_admins_with_real_passwords(accounts: Accounts) -> None:
    for role in ("client", "root", ""):
        with pytest.raises(AccountError, match="officer or admin"):
            accounts.create("someone", PASSWORD, role)
    with pytest.raises(AccountError, match="at least 12"):
        accounts.create("someone", "short", "admin")
    for name in ("", "-dash", "has space", "x" * 121, "semi;colon"):
        with pytest.raises(AccountError, match="user name"):
            accounts.create(name, PASSWORD, "admin")
    accounts.create("someone", PASSWORD, "admin")
    with pytest.raises(AccountError, match="already"):
        accounts.create("SOMEONE", PASSWORD, "officer")


def test_disabled_users_and_changed_passwords(accounts: Accounts) -> None:
    accounts.create("pat", PASSWORD, "officer")
    assert accounts.set_password("pat", "another long passphrase")
    assert accounts.authenticate("pat", PASSWORD) is None
    assert accounts.authenticate("pat", "another long passphrase") is not None
    assert accounts.disable("pat")
    assert accounts.authenticate("pat", "another long passphrase") is None
    assert not accounts.disable("nobody")
    assert [u.name for u in accounts.list()] == ["pat"]


def test_a_hash_made_with_an_older_cost_is_upgraded_at_sign_in(store: Store) -> None:
    Accounts(store, CHEAP).create("pat", PASSWORD, "officer")
    stronger = PasswordHasher(time_cost=2, memory_cost=128, parallelism=1)
    assert Accounts(store, stronger).authenticate("pat", PASSWORD) is not None
    with store.engine.connect() as conn:
        stored = conn.execute(select(dashboard_users.c.password_hash)).scalar_one()
    assert not stronger.check_needs_rehash(stored)
