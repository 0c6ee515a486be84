"""How the store keeps addresses: the keyed-hash marker (`privacy.hash_addresses`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_settings",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("hash_addresses", sa.Boolean(), nullable=False),
        sa.Column("key_check", sa.String(64), nullable=False),
        sa.Column("key_file", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_settings"),
    )


def downgrade() -> None:
    op.drop_table("privacy_settings")
