"""Source records keyed by (entity, key, source): a look-up by key needs no index of its own,
and every record stored is one B-tree insert fewer.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KEY = ["entity", "key", "source"]


def upgrade() -> None:
    """Re-key ``records`` and drop its index by key, every row kept."""
    inspector = sa.inspect(op.get_bind())
    primary = inspector.get_pk_constraint("records")
    # A store made by a later version of the hand-written schema 1 has this key already.
    if primary["constrained_columns"] == KEY:
        return
    indexes = {index["name"] for index in inspector.get_indexes("records")}
    if op.get_bind().dialect.name == "sqlite":
        # SQLite alters no primary key: batch mode copies the rows into a table of this shape.
        rekeyed = sa.Table(
            "records",
            sa.MetaData(),
            sa.Column("entity", sa.String(40), primary_key=True),
            sa.Column("key", sa.String(255), primary_key=True),
            sa.Column("source", sa.String(100), primary_key=True),
            sa.Column("source_id", sa.String(255), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("seen_run", sa.Integer, nullable=False),
        )
        with op.batch_alter_table("records", copy_from=rekeyed, recreate="always"):
            pass
        return
    if "records_by_key" in indexes:
        op.drop_index("records_by_key", table_name="records")
    name = primary["name"] or "records_pkey"  # PostgreSQL names every constraint
    op.drop_constraint(name, "records", type_="primary")
    op.create_primary_key(name, "records", KEY)
