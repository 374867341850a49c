"""What every group of the store's queries stands on: its database, owner and statements."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import sqlalchemy as sa

from hub.state.backends import Database
from hub.state.bulk import Statements
from hub.state.owners import RUN_TTL, process_owner

__all__ = ["StoreBase", "aware", "now"]

T = TypeVar("T")


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """``value`` with its time zone (SQLite gives timestamps back without one: UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class StoreBase:
    """The store's database and identity; each query group is a subclass of this."""

    def __init__(self, database: Database, *, owner: str | None = None) -> None:
        self.database = database
        self.dialect = database.dialect
        #: who this process is, in the runs it starts (and the leases a daemon takes)
        self.owner = owner or process_owner()
        #: how long a run started here is presumed alive unless ``renew_runs`` extends it
        self.run_ttl = RUN_TTL
        self.statements = Statements(database.dialect)

    async def run(self, work: Callable[[sa.Connection], T], *, write: bool = False) -> T:
        """Run ``work(connection)`` in one transaction of the store's database (committed
        when ``write``): every query goes through here, as may tools reading the tables."""
        return await self.database.run(work, write)
