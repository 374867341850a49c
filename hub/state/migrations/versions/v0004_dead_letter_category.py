"""Dead letters carry a category (what the hub does with them next), not only the name of the
error class that made them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: the error classes whose dead letters each run gave another go before categories existed
_PARKED_BEFORE = (
    "MissingParent",
    "RateLimited",
    "Unavailable",
    "ConnectionFailed",
    "RequestTimeout",
    "TransientError",
    "ProtocolError",
    "TokenUnavailable",
)


def upgrade() -> None:
    """Add ``dead_letters.category`` and categorise the letters already parked."""
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("dead_letters")}
    if "category" in present:  # a store the schema's own tables made, adopted at 0003
        return
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(
            sa.Column("category", sa.String(20), nullable=False, server_default="refused")
        )
    letters = sa.table("dead_letters", sa.column("error_type"), sa.column("category"))
    op.execute(
        letters.update().where(letters.c.error_type.in_(_PARKED_BEFORE)).values(category="parked")
    )
    op.execute(
        letters.update().where(letters.c.error_type == "EditedCopy").values(category="edited-copy")
    )
