"""The first history schema: senders, contacts, pairs, recipient sets, threads, profiles, ingested.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = sa.DateTime(timezone=True)


def _sender_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["sender_id"], ["senders.id"], name=f"fk_{table}_sender_id_senders", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "senders",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("first_seen", _WHEN, nullable=True),
        sa.Column("last_seen", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_senders"),
        sa.UniqueConstraint("address", name="uq_senders_address"),
    )
    op.create_table(
        "contacts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sender_id", _ID, nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("name", sa.String(320), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", _WHEN, nullable=True),
        sa.Column("last_seen", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
        sa.UniqueConstraint("sender_id", "address", name="uq_contacts_sender_id_address"),
        _sender_fk("contacts"),
    )
    op.create_index("ix_contacts_address", "contacts", ["address"])
    op.create_index("ix_contacts_last_seen", "contacts", ["last_seen"])
    op.create_table(
        "pairs",
        sa.Column("sender_id", _ID, nullable=False),
        sa.Column("a_id", _ID, nullable=False),
        sa.Column("b_id", _ID, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sender_id", "a_id", "b_id", name="pk_pairs"),
        _sender_fk("pairs"),
        sa.ForeignKeyConstraint(
            ["a_id"], ["contacts.id"], name="fk_pairs_a_id_contacts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["b_id"], ["contacts.id"], name="fk_pairs_b_id_contacts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_pairs_a_id", "pairs", ["a_id"])
    op.create_index("ix_pairs_b_id", "pairs", ["b_id"])
    op.create_table(
        "recipient_sets",
        sa.Column("sender_id", _ID, nullable=False),
        sa.Column("set_hash", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_seen", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("sender_id", "set_hash", name="pk_recipient_sets"),
        _sender_fk("recipient_sets"),
    )
    op.create_index("ix_recipient_sets_last_seen", "recipient_sets", ["last_seen"])
    op.create_table(
        "threads",
        sa.Column("sender_id", _ID, nullable=False),
        sa.Column("thread_hash", sa.String(64), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("last_seen", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("sender_id", "thread_hash", name="pk_threads"),
        _sender_fk("threads"),
    )
    op.create_index("ix_threads_last_seen", "threads", ["last_seen"])
    op.create_table(
        "profiles",
        sa.Column("contact_id", _ID, nullable=False),
        sa.Column("sender_id", _ID, nullable=False),
        sa.Column("buckets", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name="pk_profiles"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_profiles_contact_id_contacts",
            ondelete="CASCADE",
        ),
        _sender_fk("profiles"),
    )
    op.create_index("ix_profiles_sender_id", "profiles", ["sender_id"])
    op.create_table(
        "ingested",
        sa.Column("sender_id", _ID, nullable=False),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("sender_id", "message_key", name="pk_ingested"),
        _sender_fk("ingested"),
    )


def downgrade() -> None:
    for table in (
        "ingested",
        "profiles",
        "threads",
        "recipient_sets",
        "pairs",
        "contacts",
        "senders",
    ):
        op.drop_table(table)
