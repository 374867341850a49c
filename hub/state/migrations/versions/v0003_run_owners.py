"""Runs say who runs them and until when they are presumed alive, so a run whose process died
can be told from one still going.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``runs.owner`` and ``runs.expires_at`` (nullable: older runs have neither)."""
    # A store made by a later version of the hand-written schema 1 has them already.
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("runs")}
    wanted: list[sa.Column[object]] = [
        sa.Column("owner", sa.String(200)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
    ]
    with op.batch_alter_table("runs") as batch:
        for column in wanted:
            if column.name not in present:
                batch.add_column(column)
