"""Alembic's environment: revisions run on the connection ``hub.state.migrate`` hands over,
inside the transaction that holds its lock (never on a connection of their own)."""

from __future__ import annotations

from alembic import context

from hub.state.schema import metadata

connection = context.config.attributes["connection"]
# Batch mode: on SQLite, which cannot alter a key or a column in place, a table is rebuilt
# (copied into a new one); elsewhere the same operations are plain ALTER statements.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
