"""The state store: every group of queries over one database, opened and migrated as one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa

from hub.errors import ConfigError
from hub.state import migrate
from hub.state.backends import open_database
from hub.state.crossref import CrossReferences
from hub.state.dead_letters import DeadLetters
from hub.state.leases import Leases
from hub.state.records import SourceRecords
from hub.state.runs import Runs
from hub.state.schema import HEAD
from hub.state.tenants import StoredTenants

__all__ = ["StateStore"]


class StateStore(CrossReferences, SourceRecords, Runs, DeadLetters, Leases, StoredTenants):
    """The hub's durable state; open with ``async with StateStore.open(url) as store``.

    Its methods come from one class per job (cross-reference and ledger, source records,
    runs and cursors, dead letters, leases, tenants), each over the same database.
    """

    @classmethod
    @asynccontextmanager
    async def open(
        cls, url: str, *, owner: str | None = None, connections: int = 5
    ) -> AsyncIterator[StateStore]:
        """Connect, migrate to the current schema, and close every connection afterwards
        (``connections``: how many a PostgreSQL store keeps open for calls at once).

        A database that cannot be reached or opened is a ``ConfigError`` on ``state.url``
        (its text never holds the URL, which may hold a password).
        """
        database = open_database(url, connections=connections)
        try:
            store = cls(database, owner=owner)
            try:
                await store._migrate()
            except (OSError, sa.exc.DBAPIError) as exc:
                message = f"cannot open the state store: {_reason(exc)}"
                raise ConfigError(message, key="state.url") from None
            yield store
        finally:
            await database.close()

    async def _migrate(self) -> None:
        # A store already at the newest revision (nearly every open) takes no lock.
        if await self.run(migrate.current) != HEAD:
            await self.run(migrate.upgrade, write=True)


def _reason(exc: BaseException) -> str:
    """One line of what went wrong, without SQLAlchemy's statement and link."""
    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(cause).split()) or type(cause).__name__
    return text[:300]
