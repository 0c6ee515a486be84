"""Dashboard users (argon2id password hashes), their sessions, and the cookie-signing key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dashboard_users",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("password_changed_at", _WHEN, nullable=False),
        sa.Column("last_login_at", _WHEN, nullable=True),
        sa.Column("disabled_at", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dashboard_users"),
        sa.UniqueConstraint("name", name="uq_dashboard_users_name"),
    )
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("seen_at", _WHEN, nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dashboard_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["dashboard_users.id"],
            name="fk_dashboard_sessions_user_id_dashboard_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_dashboard_sessions_user_id", "dashboard_sessions", ["user_id"])
    op.create_index("ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"])
    keys = op.create_table(
        "dashboard_keys",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dashboard_keys"),
    )
    # Each store gets its own key, so a cookie from one deployment means nothing to another.
    op.bulk_insert(
        keys, [{"id": 1, "key": secrets.token_urlsafe(48), "created_at": datetime.now(UTC)}]
    )


def downgrade() -> None:
    for table in ("dashboard_keys", "dashboard_sessions", "dashboard_users"):
        op.drop_table(table)
