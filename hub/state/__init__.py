"""The hub's durable state over SQLAlchemy 2 Core: one code path for SQLite and PostgreSQL.

Holds the cross-reference of ids (canonical key <-> vendor ref per connector) with the content
hash last written there, the last canonical record read from each source, the idempotency
ledger of intended creates, cursors, runs, dead letters and leases. The schema is made and
migrated by Alembic when the store opens; nobody runs DDL by hand.

- ``schema``: the tables; ``migrate`` and ``migrations/``: Alembic, under a lock
- ``backends``: SQLite on its own thread, PostgreSQL on asyncpg; ``bulk``: compiled statements
- ``crossref``, ``ledger``, ``records``, ``runs``, ``dead_letters``, ``leases``: the queries,
  one class per job, combined in ``store.StateStore``; ``owners``: who holds a run or lease
"""

from __future__ import annotations

from hub.state.backends import async_url, sqlite_path
from hub.state.crossref import Batch, XRef
from hub.state.owners import RUN_TTL, Stale, owner_alive, process_owner
from hub.state.store import StateStore

__all__ = [
    "RUN_TTL",
    "Batch",
    "Stale",
    "StateStore",
    "XRef",
    "async_url",
    "owner_alive",
    "process_owner",
    "sqlite_path",
]
