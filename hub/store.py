"""The state store over SQLAlchemy 2 Core: one code path for SQLite and PostgreSQL.

Holds the cross-reference of ids (canonical key <-> vendor ref per connector) with the content
hash last written there, the last canonical record read from each source, the idempotency
ledger of intended creates, cursors, runs, dead letters and leases. The schema is created and
migrated by :data:`MIGRATIONS` when the store opens; nobody runs DDL by hand.

Every store call is one function of a SQLAlchemy ``Connection``, run in one transaction. On
PostgreSQL it runs on the async engine (asyncpg) through ``run_sync``. On SQLite it runs on a
sync engine in the store's own worker thread: one trip to that thread per call, where an
async SQLite driver makes a trip per cursor operation (measured: a tenth of the event loop's
CPU per call), and one thread is also the single writer SQLite wants.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import operator
import os
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite
import structlog
from sqlalchemy.ext.asyncio import create_async_engine

from hub.errors import ConfigError

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Batch",
    "Stale",
    "StateStore",
    "XRef",
    "async_url",
    "owner_alive",
    "process_owner",
]

T = TypeVar("T")
log = structlog.get_logger("hub.store")

#: rows of one multi-row INSERT on SQLite (below its limit of 32,766 parameters a statement)
MULTI_ROW = 250
#: the most pages SQLite's write-ahead log grows to within one run before it is checkpointed
WAL_PAGES = 10_000
#: rows written (in bulk) after which a finished run checkpoints SQLite's log
CHECKPOINT_ROWS = 5_000
SQLITE_MAX_PARAMETERS = 32_766
#: tries at switching a new SQLite file to WAL while another connection does (20 ms apart)
WAL_SWITCH_ATTEMPTS = 250
#: the PostgreSQL advisory lock key held while the schema is migrated ("prophub" in ASCII)
MIGRATION_LOCK = 0x70726F70687562

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
schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

Migration = Callable[[sa.Connection], None]


def _v1(conn: sa.Connection) -> None:
    tables = [xref, records, ledger, cursors, runs, dead_letters, leases]
    metadata.create_all(conn, tables=tables)


def _v2(conn: sa.Connection) -> None:
    """Source records keyed by (entity, key, source): a lookup by key needs no index of its
    own, and every record stored is one B-tree insert fewer. (A store made by this version's
    ``_v1`` has that key already.)"""
    primary = sa.inspect(conn).get_pk_constraint("records")
    if primary["constrained_columns"] == ["entity", "key", "source"]:
        return
    columns = ", ".join(column.name for column in records.columns)
    if conn.dialect.name == "sqlite":  # no ALTER of a primary key: copy into a new table
        conn.exec_driver_sql("DROP INDEX IF EXISTS records_by_key")
        conn.exec_driver_sql("ALTER TABLE records RENAME TO records_v1")
        records.create(conn)
        conn.exec_driver_sql(f"INSERT INTO records ({columns}) SELECT {columns} FROM records_v1")
        conn.exec_driver_sql("DROP TABLE records_v1")
        return
    conn.exec_driver_sql(
        f'ALTER TABLE records DROP CONSTRAINT "{primary["name"]}", '
        "ADD PRIMARY KEY (entity, key, source)"
    )
    conn.exec_driver_sql("DROP INDEX IF EXISTS records_by_key")


def _v3(conn: sa.Connection) -> None:
    """Runs say who runs them and until when they are presumed alive, so a run whose
    process died can be told from one still going. (``_v1`` of this version makes them.)"""
    present = {column["name"] for column in sa.inspect(conn).get_columns("runs")}
    for column in (runs.c.owner, runs.c.expires_at):
        if column.name not in present:
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {column.name} {kind}")


#: ordered schema migrations; version N is MIGRATIONS[N - 1]
MIGRATIONS: Sequence[Migration] = (_v1, _v2, _v3)
SCHEMA_VERSION = len(MIGRATIONS)


def async_url(url: str) -> str:
    """The SQLAlchemy async URL (asyncpg) for a plain ``postgresql://`` URL."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


#: how long a run is presumed alive when nobody renews it (``prophub sync``): on its own host a
#: dead process is seen at once; from another host, only once this has passed
RUN_TTL = 3600.0


def process_owner() -> str:
    """This process as a lease or run owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str) -> bool | None:
    """Whether the process ``host:pid`` is alive: known on its own host, None elsewhere."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and someone else's
        return True
    return True


@dataclass(frozen=True, slots=True)
class Stale:
    """A run or a lease left behind by a process that is gone, now cleared."""

    kind: str  # "run" or "lease"
    name: str  # the run's flow, or the lease's name
    owner: str | None
    reason: str
    run_id: int | None = None


def _reason(exc: BaseException) -> str:
    """One line of what went wrong, without SQLAlchemy's statement and link."""
    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(cause).split()) or type(cause).__name__
    return text[:300]


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class _Database(Protocol):
    """Where the store's calls run: ``run`` one function of a connection in a transaction."""

    dialect: sa.Dialect

    async def run(self, work: Callable[[sa.Connection], T], write: bool) -> T:
        """``work`` in a transaction (committed when ``write``, else rolled back)."""

    async def close(self) -> None:
        """Close every connection."""


class _ThreadedSQLite:
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


class _AsyncEngine:
    """An async driver (asyncpg): the same functions, run through ``run_sync``."""

    def __init__(self, url: str) -> None:
        self.engine = create_async_engine(url)
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


def _database(url: str) -> _Database:
    if url.startswith("sqlite"):
        return _ThreadedSQLite("sqlite://" + url.split("://", 1)[1])  # any driver: the stdlib's
    return _AsyncEngine(async_url(url))


@dataclass(frozen=True, slots=True)
class _Bulk:
    """A statement compiled once for the store's database, run with plain row tuples."""

    sql: str
    order: tuple[int, ...]  # the statement's parameters, as positions in the given rows
    processors: tuple[Callable[[Any], Any] | None, ...]  # per parameter, None: as is
    # A multi-row insert: its VALUES group, repeated for up to ``per`` rows a statement
    group: str = ""
    per: int = 1

    def run(self, conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Execute for every row: one statement per row, or (multi-row) per ``per`` rows."""
        params = self.params(rows)
        if not self.group:
            conn.exec_driver_sql(self.sql, list(params))
            return
        head, tail = self.sql.split(self.group, 1)
        for start in range(0, len(params), self.per):
            chunk = params[start : start + self.per]
            sql = head + ", ".join([self.group] * len(chunk)) + tail
            conn.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(chunk)))

    def params(self, rows: Sequence[tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
        """Each row's values in the statement's order, as the driver takes them."""
        if self.order != tuple(range(len(self.order))):
            take = operator.itemgetter(*self.order)
            rows = [take(row) if len(self.order) > 1 else (take(row),) for row in rows]
        typed = [(i, p) for i, p in enumerate(self.processors) if p is not None]
        if not typed or not rows:
            return rows
        # Batches repeat values (one timestamp per batch): each distinct one is converted
        # once, and the rows are rebuilt column by column, at C speed.
        columns = list(zip(*rows, strict=True))
        for i, process in typed:
            converted = {value: process(value) for value in set(columns[i])}
            columns[i] = tuple(map(converted.__getitem__, columns[i]))
        return list(zip(*columns, strict=True))


@dataclass(slots=True)  # not frozen: the engine makes one per record written
class XRef:
    """A canonical key's ref at one connector and the hash last written there."""

    key: str
    ref: str
    hash: str
    written_at: datetime


def _xref_of(row: Any) -> XRef:
    return XRef(row.key, row.ref, row.hash, _aware(row.written_at))


@dataclass(slots=True)
class Batch:
    """What :meth:`StateStore.prepare_batch` found and recorded for a batch."""

    known: dict[str, XRef]  # the batch's keys already at the target
    pending: set[str]  # keys whose create was sent with no known outcome
    parents: dict[str, dict[str, XRef]]  # entity -> key -> the parent's cross-reference
    intended: list[str]  # keys whose intended create was recorded now


_INTENT_COLUMNS = ("flow", "target", "entity", "key", "hash", "state", "created_at")


class StateStore:
    """The hub's durable state; open with ``async with StateStore.open(url) as store``."""

    def __init__(self, database: _Database, *, owner: str | None = None) -> None:
        self.database = database
        self.dialect = database.dialect
        #: who this process is, in the runs it starts (and the leases a daemon takes)
        self.owner = owner or process_owner()
        #: how long a run started here is presumed alive unless :meth:`renew_runs` extends it
        self.run_ttl = RUN_TTL
        self._bulks: dict[str, _Bulk] = {}
        self._rows_since_checkpoint = 0

    async def run(self, work: Callable[[sa.Connection], T], *, write: bool = False) -> T:
        """Run ``work(connection)`` in one transaction of the store's database (committed
        when ``write``): for tools and tests that read the tables directly."""
        return await self.database.run(work, write)

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str, *, owner: str | None = None) -> AsyncIterator[StateStore]:
        """Connect, migrate to the current schema, and close every connection afterwards.

        A database that cannot be reached or opened is a ``ConfigError`` on ``state.url``
        (its text never holds the URL, which may hold a password).
        """
        database = _database(url)
        try:
            store = cls(database, owner=owner)
            try:
                await store.migrate()
            except (OSError, sa.exc.DBAPIError) as exc:
                message = f"cannot open the state store: {_reason(exc)}"
                raise ConfigError(message, key="state.url") from None
            yield store
        finally:
            await database.close()

    async def migrate(self) -> int:
        """Apply every migration not yet applied; returns the schema version.

        Replicas starting together take turns: on PostgreSQL under a transaction-scoped
        advisory lock, on SQLite under the write lock taken first; whoever comes second
        finds the schema made.
        """

        def work(conn: sa.Connection) -> None:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
            elif conn.dialect.name == "sqlite":
                # The driver would begin only at the first INSERT, after the checks below.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            schema_version.create(conn, checkfirst=True)
            done = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
            for number in range((done or 0) + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[number - 1](conn)
                conn.execute(schema_version.insert().values(version=number, applied_at=_now()))

        await self.run(work, write=True)
        return SCHEMA_VERSION

    # -- cross-reference -----------------------------------------------------------------

    async def get_xref(self, connector: str, entity: str, key: str) -> XRef | None:
        """The ref and last-written hash of ``key`` at ``connector``."""
        query = sa.select(xref).where(
            xref.c.connector == connector, xref.c.entity == entity, xref.c.key == key
        )
        return await self._xref(query)

    async def find_ref(self, connector: str, entity: str, ref: str) -> XRef | None:
        """The cross-reference row holding ``ref`` at ``connector``, if the hub wrote it."""
        query = sa.select(xref).where(
            xref.c.connector == connector, xref.c.entity == entity, xref.c.ref == ref
        )
        return await self._xref(query)

    async def _xref(self, query: sa.Select[Any]) -> XRef | None:
        def work(conn: sa.Connection) -> XRef | None:
            row = conn.execute(query).first()
            return None if row is None else _xref_of(row)

        return await self.run(work)

    async def put_xref(
        self,
        connector: str,
        entity: str,
        key: str,
        ref: str,
        hash: str,
        ledger_entry: int | None = None,
    ) -> None:
        """Record that ``key`` is ``ref`` at ``connector``, written with content ``hash``.

        With ``ledger_entry``, the intended create is closed in the same transaction.
        """

        def work(conn: sa.Connection) -> None:
            self._upsert(
                conn,
                xref,
                {"connector": connector, "entity": entity, "key": key},
                {"ref": ref, "hash": hash, "written_at": _now()},
            )
            if ledger_entry is not None:
                conn.execute(
                    ledger.update().where(ledger.c.id == ledger_entry).values(state="done")
                )

        await self.run(work, write=True)

    async def get_xrefs(self, connector: str, entity: str, keys: Sequence[str]) -> dict[str, XRef]:
        """The cross-references of many keys at once (absent keys are left out)."""
        if not keys:
            return {}
        return await self.run(lambda conn: _xrefs_in(conn, connector, entity, keys))

    async def pending_keys(self, target: str, entity: str, keys: Sequence[str]) -> set[str]:
        """Which of these keys have a create sent with no known outcome.

        That is an intent still pending with no cross-reference: a create that succeeded is
        settled by the cross-reference written after it.
        """
        if not keys:
            return set()
        return await self.run(lambda conn: _open_intents_in(conn, target, entity, keys))

    async def prepare_batch(
        self,
        flow: str | None,
        target: str,
        entity: str,
        keys: Sequence[str],
        parents: Mapping[str, Sequence[str]],
    ) -> Batch:
        """What a batch needs before its first send, in one transaction: its keys'
        cross-references at ``target``, which of the others have a create with no known
        outcome, the cross-references of the ``parents`` it points at (entity -> keys), and,
        unless ``flow`` is None (a dry run), an intended create of every key with neither."""

        def work(conn: sa.Connection) -> Batch:
            known = _xrefs_in(conn, target, entity, keys)
            missing = [k for k in keys if k not in known]
            pending = _open_intents_in(conn, target, entity, missing)
            found = {e: _xrefs_in(conn, target, e, wanted) for e, wanted in parents.items()}
            fresh = [k for k in missing if k not in pending]
            if flow is not None and fresh:
                self._intend(conn, flow, target, entity, fresh)
            return Batch(known, pending, found, fresh if flow is not None else [])

        return await self.run(work, write=flow is not None)

    async def ledger_begin_many(
        self, flow: str, target: str, entity: str, keys: Sequence[str]
    ) -> None:
        """Record intended creates of many keys in one transaction."""
        if keys:
            await self.run(lambda conn: self._intend(conn, flow, target, entity, keys), write=True)

    def _intend(
        self, conn: sa.Connection, flow: str, target: str, entity: str, keys: Sequence[str]
    ) -> None:
        """Insert a pending intended create per key (one statement, compiled once)."""
        now = _now()
        rows = [(flow, target, entity, key, "", "pending", now) for key in keys]
        self._executemany(conn, "ledger_begin", ledger, ledger.insert(), _INTENT_COLUMNS, rows)

    async def flush_writes(
        self,
        connector: str,
        rows: Sequence[tuple[str, str, str, str]],
        failed: Sequence[tuple[str, str]] = (),
    ) -> None:
        """In one transaction: record (entity, key, ref, hash) writes, and close the intended
        creates of the (entity, key) pairs given up (``failed``).

        An intended create that was sent needs no update of its own: the cross-reference
        written here settles it (see :meth:`pending_keys`).
        """
        if not (rows or failed):
            return
        now = _now()
        values = [(connector, entity, key, ref, digest, now) for entity, key, ref, digest in rows]
        given_up = [(connector, e, k) for e, k in failed]

        def work(conn: sa.Connection) -> None:
            names = ("connector", "entity", "key", "ref", "hash", "written_at")
            self._upsert_many(conn, xref, ["connector", "entity", "key"], names, values)
            if given_up:
                settle = (
                    ledger.update()
                    .where(
                        ledger.c.target == sa.bindparam("target"),
                        ledger.c.entity == sa.bindparam("entity"),
                        ledger.c.key == sa.bindparam("key"),
                        ledger.c.state == sa.literal_column("'pending'"),
                    )
                    .values(state=sa.literal_column("'failed'"))
                )
                settling = ("target", "entity", "key")
                self._executemany(conn, "ledger_fail", ledger, settle, settling, given_up)

        await self.run(work, write=True)

    async def wrote_to(self, connector: str, entity: str) -> bool:
        """Whether the hub ever wrote this entity to ``connector``."""
        query = (
            sa.select(xref.c.key)
            .where(xref.c.connector == connector, xref.c.entity == entity)
            .limit(1)
        )
        return await self.run(lambda conn: conn.execute(query).first() is not None)

    async def drop_xref(self, connector: str, entity: str, key: str) -> None:
        """Forget ``key`` at ``connector`` (it was deleted there)."""

        def work(conn: sa.Connection) -> None:
            # Its creates were settled by the cross-reference; without it they would look open.
            _close_intents(conn, connector, entity, key, "done")
            conn.execute(
                xref.delete().where(
                    xref.c.connector == connector, xref.c.entity == entity, xref.c.key == key
                )
            )

        await self.run(work, write=True)

    def _upsert(
        self, conn: sa.Connection, table: sa.Table, keys: dict[str, Any], values: dict[str, Any]
    ) -> None:
        # Both backends speak INSERT ... ON CONFLICT DO UPDATE; one statement either way.
        statement = self._insert(table).values(**keys, **values)
        conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=values))

    def _insert(self, table: sa.Table) -> Any:
        dialect = (
            sa.dialects.postgresql if self.dialect.name == "postgresql" else sa.dialects.sqlite
        )
        return dialect.insert(table)

    def _upsert_many(
        self,
        conn: sa.Connection,
        table: sa.Table,
        keys: list[str],
        names: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Insert or update many rows (values of ``names``) with one statement (executemany)."""
        if not rows:
            return
        statement = self._insert(table)
        updates = {name: statement.excluded[name] for name in names if name not in keys}
        upsert = statement.on_conflict_do_update(index_elements=keys, set_=updates)
        self._executemany(conn, f"upsert {table.name}", table, upsert, names, rows)

    def _executemany(
        self,
        conn: sa.Connection,
        name: str,
        table: sa.Table,
        statement: sa.Insert | sa.Update,
        names: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Run ``statement`` once per row (values of ``names``), compiled once: the hot bulk
        paths skip SQLAlchemy's per-row parameter handling (types are converted here)."""
        key = f"{name} {','.join(names)}"
        bulk = self._bulks.get(key)
        if bulk is None:
            dialect = self.dialect
            if isinstance(statement, sa.Insert):
                statement = statement.values({n: sa.bindparam(n) for n in names})
            compiled = statement.compile(dialect=dialect)
            order = tuple(names.index(n) for n in compiled.positiontup or ())
            processors = tuple(
                table.c[names[i]].type.dialect_impl(dialect).bind_processor(dialect) for i in order
            )
            group, per = "", 1
            if dialect.name == "sqlite" and isinstance(statement, sa.Insert) and MULTI_ROW > 1:
                # SQLite's driver lets go of the GIL for every row of an executemany, and
                # takes it back from the event loop each time; a statement of many rows
                # lets go once (the loop runs on, undisturbed, while the rows are stored).
                group = "(" + ", ".join("?" * len(order)) + ")"
                per = min(MULTI_ROW, SQLITE_MAX_PARAMETERS // len(order))
                if compiled.string.count(group) != 1:
                    group, per = "", 1  # not the one VALUES group expected: row by row
            bulk = _Bulk(compiled.string, order, processors, group, per)
            self._bulks[key] = bulk
        bulk.run(conn, rows)
        self._rows_since_checkpoint += len(rows)

    # -- source records ------------------------------------------------------------------

    async def put_records(
        self,
        source: str,
        entity: str,
        run_id: int,
        rows: Sequence[tuple[str, str, str, str]],
    ) -> None:
        """Remember records read from ``source``: (key, source_id, hash, canonical JSON body)."""
        names = ("source", "entity", "key", "source_id", "hash", "body", "seen_run")
        values = [
            (source, entity, key, sid, digest, body, run_id) for key, sid, digest, body in rows
        ]
        keys = ["source", "entity", "key"]
        await self.run(
            lambda conn: self._upsert_many(conn, records, keys, names, values), write=True
        )

    async def get_record(self, entity: str, key: str) -> dict[str, Any] | None:
        """The last canonical body read for ``key`` from any source."""
        query = sa.select(records.c.body).where(records.c.entity == entity, records.c.key == key)
        body = await self.run(lambda conn: conn.execute(query).scalar())
        return json.loads(body) if body else None

    async def has_record(self, source: str, entity: str, key: str) -> bool:
        """Whether ``key`` was read from ``source``."""
        query = sa.select(records.c.key).where(
            records.c.source == source, records.c.entity == entity, records.c.key == key
        )
        return await self.run(lambda conn: conn.execute(query).first() is not None)

    async def unseen_records(self, source: str, entity: str, run_id: int) -> list[tuple[str, str]]:
        """(key, source_id) of records read earlier from ``source`` but not in run ``run_id``."""
        query = sa.select(records.c.key, records.c.source_id).where(
            records.c.source == source, records.c.entity == entity, records.c.seen_run != run_id
        )
        return await self.run(lambda conn: [(r.key, r.source_id) for r in conn.execute(query)])

    async def forget_record(self, source: str, entity: str, key: str) -> None:
        """Drop a source record that disappeared."""
        statement = records.delete().where(
            records.c.source == source, records.c.entity == entity, records.c.key == key
        )
        await self.run(lambda conn: conn.execute(statement), write=True)

    # -- idempotency ledger --------------------------------------------------------------

    async def ledger_begin(self, flow: str, target: str, entity: str, key: str, hash: str) -> int:
        """Record an intended create before it is sent; returns the entry id."""
        statement = ledger.insert().values(
            flow=flow,
            target=target,
            entity=entity,
            key=key,
            hash=hash,
            state="pending",
            created_at=_now(),
        )
        return await self.run(
            lambda conn: int(conn.execute(statement).inserted_primary_key[0]),  # type: ignore[index]
            write=True,
        )

    async def ledger_finish(self, entry: int, state: str = "done") -> None:
        """Mark an intended create as done (or failed: it provably did not happen)."""
        statement = ledger.update().where(ledger.c.id == entry).values(state=state)
        await self.run(lambda conn: conn.execute(statement), write=True)

    async def ledger_pending(self, target: str, entity: str, key: str) -> bool:
        """Whether a create of ``key`` at ``target`` was sent without a known outcome."""
        query = (
            sa.select(sa.func.count())
            .select_from(ledger)
            .where(_open_intent(target, entity), ledger.c.key == key)
        )
        return await self.run(lambda conn: bool(conn.execute(query).scalar()))

    async def ledger_resolve(self, target: str, entity: str, key: str) -> None:
        """Close every pending entry of ``key`` at ``target`` (looked up and settled)."""
        await self.run(
            lambda conn: _close_intents(conn, target, entity, key, "resolved"), write=True
        )

    # -- cursors and runs ----------------------------------------------------------------

    async def get_cursor(self, flow: str) -> datetime | None:
        """The flow's cursor: records updated before it were handled."""
        query = sa.select(cursors.c.cursor).where(cursors.c.flow == flow)
        value = await self.run(lambda conn: conn.execute(query).scalar())
        return datetime.fromisoformat(value) if value else None

    async def set_cursor(self, flow: str, value: datetime) -> None:
        """Advance (or set) the flow's cursor (a run's end does it with :meth:`finish_run`)."""
        now = _now()
        await self.run(lambda conn: self._put_cursor(conn, flow, value, now), write=True)

    def _put_cursor(self, conn: sa.Connection, flow: str, value: datetime, now: datetime) -> None:
        stamp = {"cursor": _aware(value).isoformat(), "updated_at": now}
        self._upsert(conn, cursors, {"flow": flow}, stamp)

    async def start_run(self, flow: str) -> int:
        """Record the start of a run by this process; returns its id."""
        now = _now()
        statement = runs.insert().values(
            flow=flow,
            started_at=now,
            status="running",
            counts="{}",
            owner=self.owner,
            expires_at=now + timedelta(seconds=self.run_ttl),
        )
        return await self.run(
            lambda conn: int(conn.execute(statement).inserted_primary_key[0]),  # type: ignore[index]
            write=True,
        )

    async def finish_run(
        self,
        run_id: int,
        status: str,
        counts: dict[str, Any],
        error: str | None = None,
        *,
        cursor: tuple[str, datetime] | None = None,
    ) -> None:
        """Record how a run ended and what it did, and with ``cursor`` (flow, value) advance
        that flow's cursor in the same transaction: a run is over and its cursor moved, or
        neither."""
        now = _now()
        statement = (
            runs.update()
            .where(runs.c.id == run_id)
            .values(finished_at=now, status=status, counts=json.dumps(counts), error=error)
        )

        def work(conn: sa.Connection) -> None:
            conn.execute(statement)
            if cursor is not None:
                self._put_cursor(conn, *cursor, now)

        await self.run(work, write=True)
        if (
            isinstance(self.database, _ThreadedSQLite)
            and self._rows_since_checkpoint >= CHECKPOINT_ROWS
        ):
            self._rows_since_checkpoint = 0
            self.database.checkpoint_later()

    async def last_run(self, flow: str) -> dict[str, Any] | None:
        """The flow's latest run with its counts, or None."""
        query = sa.select(runs).where(runs.c.flow == flow).order_by(runs.c.id.desc()).limit(1)
        row = await self.run(lambda conn: conn.execute(query).first())
        if row is None:
            return None
        return {
            **json.loads(row.counts),
            "id": row.id,
            "status": row.status,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "error": row.error,
        }

    # -- dead letters --------------------------------------------------------------------

    async def add_dead_letter(
        self,
        flow: str,
        entity: str,
        key: str,
        source_id: str,
        reason: str,
        error_type: str,
        body: dict[str, Any] | None,
    ) -> None:
        """Park a record that cannot be written, with the reason; repeats bump ``attempts``."""
        where = [
            dead_letters.c.flow == flow,
            dead_letters.c.entity == entity,
            dead_letters.c.key == key,
        ]
        text = json.dumps(body) if body is not None else None

        def work(conn: sa.Connection) -> None:
            updated = conn.execute(
                dead_letters.update()
                .where(*where)
                .values(
                    reason=reason,
                    error_type=error_type,
                    attempts=dead_letters.c.attempts + 1,
                    body=text,
                )
            )
            if updated.rowcount == 0:
                conn.execute(
                    dead_letters.insert().values(
                        flow=flow,
                        entity=entity,
                        key=key,
                        source_id=source_id,
                        reason=reason,
                        error_type=error_type,
                        attempts=1,
                        created_at=_now(),
                        body=text,
                    )
                )

        await self.run(work, write=True)

    async def clear_dead_letter(self, flow: str, entity: str, key: str) -> None:
        """Remove the dead letter of a record that has now been written."""
        statement = dead_letters.delete().where(
            dead_letters.c.flow == flow,
            dead_letters.c.entity == entity,
            dead_letters.c.key == key,
        )
        await self.run(lambda conn: conn.execute(statement), write=True)

    async def dead_letters(self, flow: str | None = None) -> list[dict[str, Any]]:
        """Dead letters, oldest first, optionally of one flow."""
        query = sa.select(dead_letters).order_by(dead_letters.c.id)
        if flow is not None:
            query = query.where(dead_letters.c.flow == flow)
        rows = await self.run(lambda conn: conn.execute(query).mappings().all())
        return [{**row, "body": json.loads(row["body"]) if row["body"] else None} for row in rows]

    async def drop_dead_letter(self, letter_id: int) -> bool:
        """Delete one dead letter; False if there was none with that id."""
        statement = dead_letters.delete().where(dead_letters.c.id == letter_id)
        return await self.run(lambda conn: bool(conn.execute(statement).rowcount), write=True)

    # -- leases --------------------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``ttl`` seconds unless another owner holds it."""
        now = _now()
        expires = now + timedelta(seconds=ttl)

        def work(conn: sa.Connection) -> bool:
            taken = conn.execute(
                leases.update()
                .where(
                    leases.c.name == name,
                    sa.or_(leases.c.owner == owner, leases.c.expires_at < now),
                )
                .values(owner=owner, expires_at=expires)
            )
            if taken.rowcount:
                return True
            exists = conn.execute(sa.select(leases.c.owner).where(leases.c.name == name)).first()
            if exists is not None:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(leases.insert().values(name=name, owner=owner, expires_at=expires))
            except sa.exc.IntegrityError:
                return False
            return True

        return await self.run(work, write=True)

    async def release_lease(self, name: str, owner: str) -> None:
        """Give the lease back if ``owner`` holds it."""
        statement = leases.delete().where(leases.c.name == name, leases.c.owner == owner)
        await self.run(lambda conn: conn.execute(statement), write=True)

    async def renew_runs(self, ttl: float) -> int:
        """Presume this process's running runs alive for ``ttl`` seconds more; returns how
        many there are."""
        statement = (
            runs.update()
            .where(runs.c.owner == self.owner, runs.c.status == "running")
            .values(expires_at=_now() + timedelta(seconds=ttl))
        )
        return await self.run(lambda conn: int(conn.execute(statement).rowcount), write=True)

    async def clear_stale(self) -> list[Stale]:
        """Clear what processes that are gone left behind: their leases are dropped, their
        runs marked ``stale`` with the reason. A process is gone when it is dead on this
        host, or, on another, when what it held expired unrenewed."""
        return await self.run(_clear_stale, write=True)


def _gone(owner: str | None, expires_at: datetime | None, now: datetime) -> str | None:
    """Why the holder of a lease or run is taken to be gone, or None while it may live."""
    alive = owner_alive(owner) if owner else None
    if alive is False:
        return f"its process {owner} is gone"
    if alive is None and expires_at is not None and _aware(expires_at) < now:
        return f"{owner or 'its owner'} has not renewed it since {_aware(expires_at).isoformat()}"
    return None


def _clear_stale(conn: sa.Connection) -> list[Stale]:
    now = _now()
    cleared = []
    for row in conn.execute(sa.select(leases)).all():
        reason = _gone(row.owner, row.expires_at, now)
        if reason is not None:
            conn.execute(
                leases.delete().where(leases.c.name == row.name, leases.c.owner == row.owner)
            )
            cleared.append(Stale("lease", row.name, row.owner, reason))
    held = {row.name for row in conn.execute(sa.select(leases.c.name)).all()}
    query = sa.select(runs.c.id, runs.c.flow, runs.c.owner, runs.c.expires_at).where(
        runs.c.status == "running"
    )
    for row in conn.execute(query).all():
        reason = _gone(row.owner, row.expires_at, now)
        if row.owner is None and f"flow:{row.flow}" not in held:
            # a run recorded before runs had owners: alive only while its flow's lease is
            reason = "it predates run owners and no lease on its flow is held"
        if reason is None:
            continue
        conn.execute(
            runs.update()
            .where(runs.c.id == row.id, runs.c.status == "running")
            .values(status="stale", finished_at=now, error=f"abandoned: {reason}")
        )
        cleared.append(Stale("run", row.flow, row.owner, reason, row.id))
    return cleared


def _close_intents(conn: sa.Connection, target: str, entity: str, key: str, state: str) -> None:
    """Give the key's pending ledger entries at ``target`` their final ``state``."""
    conn.execute(
        ledger.update()
        .where(
            ledger.c.target == target,
            ledger.c.entity == entity,
            ledger.c.key == key,
            ledger.c.state == "pending",
        )
        .values(state=state)
    )


def _open_intent(target: Any, entity: Any) -> sa.ColumnElement[bool]:
    """Ledger rows of creates with no known outcome: pending, and no cross-reference since."""
    settled = sa.exists().where(
        xref.c.connector == ledger.c.target,
        xref.c.entity == ledger.c.entity,
        xref.c.key == ledger.c.key,
    )
    return sa.and_(
        ledger.c.target == target,
        ledger.c.entity == entity,
        ledger.c.state == "pending",
        ~settled,
    )


def _one_of(column: sa.ColumnElement[str], dialect: str) -> sa.ColumnElement[bool]:
    """``column`` is one of the keys bound as ``keys``: a JSON array read by ``json_each`` on
    SQLite, an array on PostgreSQL. One parameter, so the statement is compiled once; an
    expanding IN is rendered again on every call (3 ms per 1000 keys, measured)."""
    if dialect == "postgresql":
        keys = sa.bindparam("keys", type_=sa.dialects.postgresql.ARRAY(sa.String))
        return column == sa.any_(keys)
    listed: sa.Select[Any] = sa.select(sa.column("value")).select_from(
        sa.func.json_each(sa.bindparam("keys"))
    )
    return column.in_(listed)


def _keys_param(conn: sa.Connection, keys: Sequence[str]) -> Any:
    return list(keys) if conn.dialect.name == "postgresql" else json.dumps(list(keys))


# Built once per backend: a batch's lookups pass all their keys as one parameter.
_XREFS_OF = {
    dialect: sa.select(xref).where(
        xref.c.connector == sa.bindparam("connector"),
        xref.c.entity == sa.bindparam("entity"),
        _one_of(xref.c.key, dialect),
    )
    for dialect in ("sqlite", "postgresql")
}
_OPEN_INTENTS_OF = {
    dialect: sa.select(ledger.c.key).where(
        _open_intent(sa.bindparam("target"), sa.bindparam("entity")),
        _one_of(ledger.c.key, dialect),
    )
    for dialect in ("sqlite", "postgresql")
}


def _xrefs_in(
    conn: sa.Connection, connector: str, entity: str, keys: Sequence[str]
) -> dict[str, XRef]:
    if not keys:
        return {}
    params = {"connector": connector, "entity": entity, "keys": _keys_param(conn, keys)}
    rows = conn.execute(_XREFS_OF[conn.dialect.name], params)
    return {row.key: _xref_of(row) for row in rows}


def _open_intents_in(
    conn: sa.Connection, target: str, entity: str, keys: Sequence[str]
) -> set[str]:
    if not keys:
        return set()
    params = {"target": target, "entity": entity, "keys": _keys_param(conn, keys)}
    return {row.key for row in conn.execute(_OPEN_INTENTS_OF[conn.dialect.name], params)}


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
    # last, which then waits ~10 ms); this is the cap within one long run (40 MB of 4 KiB
    # pages).
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
    cursor.close()
