"""The state store's tables, as the newest migration leaves them (SQLAlchemy Core).

Queries are built from these; the tables themselves are made and changed only by the Alembic
revisions in ``hub/state/migrations/versions``, which keep their own frozen copies.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "HEAD",
    "cursors",
    "dead_letters",
    "leases",
    "ledger",
    "metadata",
    "records",
    "runs",
    "tenants",
    "xref",
]

#: the Alembic revision these tables match (a test holds it to the newest revision): a store
#: already there opens without loading Alembic at all
HEAD = "0005"

metadata = sa.MetaData()

xref = sa.Table(
    "xref",
    metadata,
    sa.Column("connector", sa.String(100), primary_key=True),
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("ref", sa.String(255), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("xref_by_ref", "connector", "entity", "ref"),
)
records = sa.Table(
    "records",
    metadata,
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("source", sa.String(100), primary_key=True),
    sa.Column("source_id", sa.String(255), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("seen_run", sa.Integer, nullable=False),
)
ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow", sa.String(200), nullable=False),
    sa.Column("target", sa.String(100), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ledger_pending", "target", "entity", "key", "state"),
)
cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("flow", sa.String(200), primary_key=True),
    sa.Column("cursor", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow", sa.String(200), nullable=False, index=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("counts", sa.Text, nullable=False, default="{}"),
    sa.Column("error", sa.Text),
    # who runs it (host:pid), and until when it is presumed alive without a word from them
    sa.Column("owner", sa.String(200)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
)
dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow", sa.String(200), nullable=False, index=True),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("source_id", sa.String(255), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("error_type", sa.String(100), nullable=False),
    # what the hub does next: "parked" (its cause may pass: each run tries it again),
    # "refused" (until it changes or `prophub dlq retry`), "edited-copy" (reported once)
    sa.Column("category", sa.String(20), nullable=False, server_default="refused"),
    sa.Column("body", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    # the definition as JSON, its secrets sealed (or references to env and files)
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
