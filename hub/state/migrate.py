"""Bring a store's schema to :data:`~hub.state.schema.HEAD` with Alembic, one process at a time.

Replicas starting together take turns: on PostgreSQL under a transaction-scoped advisory lock,
on SQLite under the write lock taken first; whoever comes second finds the schema made. A store
made before Alembic (its versions in a ``schema_version`` table) is stamped at its version
first, then upgraded like any other.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.state.schema import HEAD

__all__ = ["MIGRATION_LOCK", "SCRIPT_LOCATION", "current", "upgrade"]

#: the PostgreSQL advisory lock key held while the schema is migrated ("prophub" in ASCII)
MIGRATION_LOCK = 0x70726F70687562
#: where Alembic finds ``env.py`` and the revisions: inside the installed package
SCRIPT_LOCATION = "hub.state:migrations"
#: the revision of each version the hand-written migrations recorded in ``schema_version``
_LEGACY = {1: "0001", 2: "0002", 3: "0003"}


def current(conn: sa.Connection) -> str | None:
    """The store's Alembic revision, or None where Alembic never ran."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def upgrade(conn: sa.Connection) -> None:
    """Apply every revision not yet applied, in the caller's write transaction, under the lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
    elif conn.dialect.name == "sqlite":
        # The driver would begin only at the first INSERT, after the checks below.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    if current(conn) == HEAD:  # another process did it while this one waited for the lock
        return
    # Alembic costs a tenth of a second to import: only a store that needs it pays for it.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = conn
    inspector = sa.inspect(conn)
    if inspector.has_table("schema_version") and not inspector.has_table("alembic_version"):
        # Made before Alembic: its tables are those of the version it recorded.
        legacy = conn.exec_driver_sql("SELECT max(version) FROM schema_version").scalar()
        if legacy:
            command.stamp(config, _LEGACY[int(legacy)])
        conn.exec_driver_sql("DROP TABLE schema_version")
    command.upgrade(config, "head")
