"""Where the store's calls run: SQLite on its own thread, PostgreSQL on an async engine.

Every store call is one function of a SQLAlchemy ``Connection``, run in one transaction. On
PostgreSQL it runs on the async engine (asyncpg) through ``run_sync``. On SQLite it runs on a
sync engine in the store's own worker thread: one trip to that thread per call, where an async
SQLite driver makes a trip per cursor operation (measured: a tenth of the event loop's CPU per
call), and one thread is also the single writer SQLite wants.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import create_async_engine

from hub.errors import ConfigError

__all__ = [
    "WAL_PAGES",
    "WAL_SWITCH_ATTEMPTS",
    "AsyncEngine",
    "Database",
    "ThreadedSQLite",
    "async_url",
    "open_database",
    "sqlite_path",
]

T = TypeVar("T")
log = structlog.get_logger("hub.state")

#: the most pages SQLite's write-ahead log grows to within one run before it is checkpointed
WAL_PAGES = 10_000
#: tries at switching a new SQLite file to WAL while another connection does (20 ms apart)
WAL_SWITCH_ATTEMPTS = 250


class Database(Protocol):
    """Where the store's calls run: ``run`` one function of a connection in a transaction."""

    dialect: sa.Dialect

    async def run(self, work: Callable[[sa.Connection], T], write: bool) -> T:
        """``work`` in a transaction (committed when ``write``, else rolled back)."""

    async def close(self) -> None:
        """Close every connection."""


def async_url(url: str) -> str:
    """The SQLAlchemy async URL (asyncpg) for a plain ``postgresql://`` URL."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite ``state.url``; None for memory, or a URL of another database."""
    if not url.startswith("sqlite"):
        return None
    database = sa.engine.make_url("sqlite://" + url.split("://", 1)[1]).database
    return database if database and database != ":memory:" else None


def open_database(url: str, *, connections: int = 5) -> Database:
    """The backend for a ``state.url``: SQLite (any driver named: the stdlib's) or PostgreSQL
    (keeping up to ``connections`` open, and a few more for a burst)."""
    if url.startswith("sqlite"):
        return ThreadedSQLite("sqlite://" + url.split("://", 1)[1])
    if importlib.util.find_spec("asyncpg") is None:
        message = "a PostgreSQL state store needs asyncpg: pip install 'property-hub[postgres]'"
        raise ConfigError(message, key="state.url")
    return AsyncEngine(async_url(url), connections=connections)


class ThreadedSQLite:
    """SQLite on a sync engine, used from one worker thread only."""

    def __init__(self, url: str) -> None:
        # Every use ends its transaction (commit, or rollback on leaving ``connect()``), so
        # the pool's own rollback on return would only cost another statement.
        self.engine = sa.create_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None)
        sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.dialect = self.engine.dialect
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="prophub-store")

    async def run(self, work: Callable[[sa.Connection], T], write: bool) -> T:
        """One trip to the worker thread; a cancelled caller leaves the transaction to end
        there, whole (committed or rolled back), never half-done."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.thread, self._call, work, write)

    def _call(self, work: Callable[[sa.Connection], T], write: bool) -> T:
        with self.engine.begin() if write else self.engine.connect() as conn:
            return work(conn)

    def checkpoint_later(self) -> None:
        """Copy the write-ahead log into the database file on the store's thread, after the
        calls queued before it, with nobody waiting: a run's end is not held up by it."""
        self.thread.submit(self._checkpoint).add_done_callback(_report_checkpoint)

    def _checkpoint(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    async def close(self) -> None:
        """Close the connections on their own thread, after every call queued before."""
        try:
            await asyncio.get_running_loop().run_in_executor(self.thread, self.engine.dispose)
        finally:
            self.thread.shutdown(wait=False)  # idle by now: the dispose ran last


class AsyncEngine:
    """An async driver (asyncpg): the same functions, run through ``run_sync``."""

    def __init__(self, url: str, *, connections: int = 5) -> None:
        # A pool smaller than the runs at once closes a connection each time one comes back
        # (and asyncpg introspects types on every new one): it is sized to the runs. A
        # connection is pinged as it leaves the pool, so one a server restart cut is
        # replaced before a run's call fails on it.
        # A few more for a burst, no more: replicas share the server's max_connections (100
        # by default) with their job queues.
        self.engine = create_async_engine(
            url, pool_size=connections, max_overflow=4, pool_pre_ping=True
        )
        self.dialect = self.engine.dialect

    async def run(self, work: Callable[[sa.Connection], T], write: bool) -> T:
        """``work`` on a pooled connection, in a transaction."""
        if write:
            async with self.engine.begin() as conn:
                return await conn.run_sync(work)
        async with self.engine.connect() as conn:
            return await conn.run_sync(work)

    async def close(self) -> None:
        """Dispose of the pool."""
        await self.engine.dispose()


def _report_checkpoint(done: Future[None]) -> None:
    # Only a missed chance to shrink the log: the next checkpoint (or close) does it.
    if not done.cancelled() and done.exception() is not None:
        log.warning("checkpoint failed", error=str(done.exception()))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Turning a new file to WAL takes a lock SQLite does not wait for (its busy timeout does
    # not apply): processes opening a new store together take turns here.
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.02)
    cursor.execute("PRAGMA synchronous=NORMAL")
    # The log is copied into the database after a run that wrote enough (see
    # StateStore.finish_run), not by whichever commit crosses 1,000 pages (often a run's
    # last, which would then wait for it); this is the cap within one long run.
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
    cursor.close()
