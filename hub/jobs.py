"""Flow runs across replicas: jobs of procrastinate on the state store's PostgreSQL.

Every replica (``prophub run`` against one PostgreSQL store) schedules each (tenant, flow) on
its ``every`` and works the queue. One job per (tenant, flow) waits at a time (procrastinate's
queueing lock: a replica scheduling one already waiting schedules nothing) and one runs at a
time (its lock: a second waits until the first ends). A replica killed mid-run stops sending
its worker's heartbeat; the others find its job stalled and run it again (the engine's
idempotency ledger settles what the killed run had sent). Incremental runs go before a
backfill (a flow's first run, or a full one): they are queued at a higher priority. A tenant
runs at most ``per_tenant`` flows at once over all replicas (:class:`TenantSlots`): a job
that finds its tenant's slots taken gives its worker up and is queued again a moment later,
so a tenant with a long backfill never holds every worker.
Why procrastinate, and not a queue of our own, is in ``docs/architecture.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import psycopg
import sqlalchemy as sa
import structlog
from procrastinate.exceptions import ProcrastinateException

from hub.errors import HubError
from hub.log import first_line
from hub.tenants import scoped

if TYPE_CHECKING:
    from procrastinate import JobContext

__all__ = [
    "BACKFILL",
    "INCREMENTAL",
    "QUEUE",
    "TASK",
    "UNREACHABLE",
    "FlowJobs",
    "TenantSlots",
    "conninfo",
]

log = structlog.get_logger("hub.jobs")

TASK = "prophub.run_flow"
QUEUE = "prophub"
#: queue priorities (higher first): an incremental run is not held behind a backfill
INCREMENTAL, BACKFILL = 10, 0
#: held while the job tables are made, so replicas starting together make them once
SCHEMA_LOCK = 0x70726F70  # "prop"
#: what a replica's loops meet while the database is away (restarting, failing over)
UNREACHABLE: tuple[type[Exception], ...] = (
    OSError,
    HubError,
    sa.exc.SQLAlchemyError,
    psycopg.Error,
    ProcrastinateException,
)
#: a job still running for a worker silent for the given seconds, its row held till commit
_STILL_STALLED = """
SELECT 1 FROM procrastinate_jobs job
 WHERE job.id = %s AND job.status = 'doing' AND job.worker_id IS NOT DISTINCT FROM %s
   AND NOT EXISTS (
       SELECT 1 FROM procrastinate_workers w
        WHERE w.id = job.worker_id AND w.last_heartbeat >= now() - make_interval(secs => %s))
 FOR UPDATE OF job
"""
#: how long a run whose tenant has no slot free waits before it is tried again
SLOT_WAIT = 2.0

RunFlow = Callable[[str, str, bool, float | None], Awaitable[None]]


def conninfo(url: str) -> str:
    """The state store's URL as libpq takes it (no SQLAlchemy driver name)."""
    parsed = sa.engine.make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _slot_key(tenant: str, slot: int) -> int:
    """The advisory lock (a signed 64-bit key) of one of a tenant's run slots."""
    digest = hashlib.blake2b(f"prophub-slot:{tenant}:{slot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class TenantSlots:
    """At most ``per_tenant`` runs of one tenant at once, over every replica.

    A slot is a PostgreSQL advisory lock held on this replica's own connection: a replica
    that dies lets go of its slots with its connection, so none stays taken by a dead run.
    """

    def __init__(self, url: str, per_tenant: int) -> None:
        self.url = url
        self.per_tenant = per_tenant
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._held: set[int] = set()

    async def close(self) -> None:
        """Give every slot back (with the connection that holds them)."""
        async with self._lock:
            await self._drop_connection()
            self._held.clear()

    @asynccontextmanager
    async def hold(self, tenant: str) -> AsyncIterator[bool]:
        """One of the tenant's slots for the block; ``False`` when all are taken."""
        key = await self._take(tenant)
        try:
            yield key is not None
        finally:
            if key is not None:
                await self._give_back(key)

    async def _take(self, tenant: str) -> int | None:
        async with self._lock:
            for slot in range(self.per_tenant):
                key = _slot_key(tenant, slot)
                if key not in self._held and await self._locked(key):
                    self._held.add(key)
                    return key
            return None

    async def _locked(self, key: int) -> bool:
        """Try the advisory lock; on a connection that failed, on a new one (which takes
        again the slots this replica's runs hold, so the cap outlives the old one)."""
        try:
            return await self._try_lock(key)
        except psycopg.OperationalError as exc:
            log.warning("tenant slots reconnecting", error=first_line(exc))
            await self._drop_connection()
            return await self._try_lock(key)

    async def _try_lock(self, key: int) -> bool:
        if self._conn is None:
            self._conn = await psycopg.AsyncConnection.connect(conninfo(self.url), autocommit=True)
            for held in sorted(self._held):
                if not await self._try(held):
                    # Taken by another replica while ours was gone: both run till one ends.
                    log.warning("a running flow's tenant slot was taken meanwhile")
        return await self._try(key)

    async def _try(self, key: int) -> bool:
        row = await (await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))).fetchone()
        return bool(row and row[0])

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closed, not just forgotten: a connection a cancelled statement left alive
            # would hold its slots until the replica exits.
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()

    async def _give_back(self, key: int) -> None:
        async with self._lock:
            self._held.discard(key)
            if self._conn is None:
                return
            try:
                await self._conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            except psycopg.OperationalError:
                # Gone with the connection; the next take opens a new one.
                await self._drop_connection()


class FlowJobs:
    """A replica's share of the job queue: it schedules flow runs and works them.

    ``run(tenant, flow, full, due)`` runs one flow (``due``: when it was queued);
    ``concurrency`` is how many this replica runs at once, ``per_tenant`` how many of one
    tenant's all replicas run at once; a worker silent for ``stalled_after`` seconds is
    presumed dead.
    """

    def __init__(
        self,
        url: str,
        run: RunFlow,
        *,
        concurrency: int,
        per_tenant: int = 2,
        heartbeat: float = 10.0,
        stalled_after: float = 30.0,
        graceful: float = 10.0,
    ) -> None:
        from procrastinate import App, PsycopgConnector

        self.url = url
        self.concurrency = concurrency
        self.heartbeat = heartbeat
        self.stalled_after = stalled_after
        self.graceful = graceful
        self.slots = TenantSlots(url, per_tenant)
        self._running: set[asyncio.Task[Any]] = set()
        self.app = App(connector=PsycopgConnector(conninfo=conninfo(url)))

        @self.app.task(name=TASK, queue=QUEUE, pass_context=True)
        async def run_flow(
            context: JobContext,
            tenant: str,
            flow: str,
            full: bool = False,
            due: float | None = None,
        ) -> None:
            async with self.slots.hold(tenant) as held:
                if held:
                    task = asyncio.current_task()
                    assert task is not None
                    self._running.add(task)
                    try:
                        async with self._alive(context.job.worker_id):
                            await run(tenant, flow, full, due)
                    finally:
                        self._running.discard(task)
                    return
            # Every slot of the tenant is running one of its flows: this worker goes to
            # another tenant's run, and this one waits its turn in the queue.
            priority = context.job.priority or 0
            await self._queue(tenant, flow, priority=priority, full=full, due=due, wait=SLOT_WAIT)

        self.task = run_flow

    def abort_running(self) -> None:
        """Cancel this replica's runs now (a second stop signal): the drain ends at once,
        and the ledger and cursor make a cut-short run safe to run again."""
        for task in self._running:
            task.cancel()

    @asynccontextmanager
    async def _alive(self, worker: int | None) -> AsyncIterator[None]:
        """Say the worker is alive while a run lasts: procrastinate stops its own heartbeat
        when a drain begins, and a run draining past ``stalled_after`` must not be taken
        for a dead replica's and run again elsewhere."""
        if worker is None:
            yield
            return

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.heartbeat)
                try:
                    await self.app.job_manager.update_heartbeat(worker)
                except (OSError, ProcrastinateException) as exc:
                    log.warning("heartbeat failed", error=first_line(exc))

        beating = asyncio.create_task(beat(), name=f"heartbeat:{worker}")
        try:
            yield
        finally:
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self._ensure_schema()
        await self.app.open_async()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.app.close_async()
        finally:
            await self.slots.close()

    async def _ensure_schema(self) -> None:
        """Make procrastinate's tables unless they are there, once across replicas."""
        async with await psycopg.AsyncConnection.connect(
            conninfo(self.url), autocommit=True
        ) as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                found = await (
                    await conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
                ).fetchone()
                if found is not None and not found[0]:
                    from procrastinate.schema import SchemaManager

                    await conn.execute(SchemaManager.get_schema())
                    log.info("job tables made")
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    async def schedule(
        self, tenant: str, flow: str, *, priority: int = INCREMENTAL, full: bool = False
    ) -> bool:
        """Queue a run of the tenant's flow unless one is waiting already; whether queued."""
        key = f"flow:{scoped(tenant, flow)}"
        if list(await self.app.job_manager.list_jobs_async(lock=key, status="doing")):
            return False  # running now: its next round comes on the next interval
        return await self._queue(tenant, flow, priority=priority, full=full, due=time.time())

    async def _queue(
        self,
        tenant: str,
        flow: str,
        *,
        priority: int,
        full: bool,
        due: float | None,
        wait: float = 0.0,
    ) -> bool:
        from procrastinate.exceptions import AlreadyEnqueued

        key = f"flow:{scoped(tenant, flow)}"
        deferrer = self.task.configure(
            lock=key,
            queueing_lock=key,
            priority=priority,
            schedule_in={"milliseconds": round(wait * 1000)} if wait else None,
        )
        try:
            await deferrer.defer_async(tenant=tenant, flow=flow, full=full, due=due)
        except AlreadyEnqueued:
            return False
        return True

    async def work(self) -> None:
        """Work the queue until cancelled; a cancel lets running jobs end within the
        graceful budget, then cancels them (the ledger and cursor make that safe)."""
        await self.app.run_worker_async(
            queues=[QUEUE],
            concurrency=self.concurrency,
            install_signal_handlers=False,
            update_heartbeat_interval=self.heartbeat,
            stalled_worker_timeout=self.stalled_after,
            shutdown_graceful_timeout=self.graceful,
            delete_jobs="successful",
        )

    async def recover(self) -> int:
        """Queue again the jobs of workers gone silent (a replica killed mid-run); how many
        this replica took over."""
        manager = self.app.job_manager
        stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=self.stalled_after))
        if not stalled:
            return 0
        taken = 0
        async with await psycopg.AsyncConnection.connect(
            conninfo(self.url), autocommit=True
        ) as conn:
            for job in stalled:
                if await self._take_over(conn, job.id, job.worker_id):
                    log.warning("stalled flow run taken over", flow=_flow_of(job.task_kwargs))
                    taken += 1
        return taken

    async def _take_over(self, conn: Any, job: int | None, worker: int | None) -> bool:
        """Queue the job again if it is still running for its silent worker: checked and
        changed in one transaction holding the job's row, so of the replicas that saw it
        stalled only the first takes it (the others find it queued, or running for a live
        worker, and leave it)."""
        async with conn.transaction():
            row = await (
                await conn.execute(_STILL_STALLED, (job, worker, self.stalled_after))
            ).fetchone()
            if row is None:
                return False
            try:
                async with conn.transaction():
                    await conn.execute(
                        "SELECT procrastinate_retry_job_v2(%s, now(), NULL, NULL, NULL)", (job,)
                    )
            except psycopg.errors.UniqueViolation:
                # A run of the flow was queued while this one ran (its queueing lock is
                # taken): that one does the work once the stalled job lets go of the lock.
                await conn.execute(
                    "SELECT procrastinate_finish_job_v1(%s, 'failed', false)", (job,)
                )
        return True

    async def runs(self) -> list[dict[str, Any]]:
        """The queue as it stands: each flow job's status, tenant, flow and priority."""
        rows = await self.app.job_manager.list_jobs_async(queue=QUEUE)
        return [
            {
                "id": job.id,
                "status": job.status,
                "flow": _flow_of(job.task_kwargs),
                "priority": job.priority,
            }
            for job in rows
        ]


def _flow_of(kwargs: dict[str, Any] | None) -> str:
    kwargs = kwargs or {}
    return scoped(str(kwargs.get("tenant", "")), str(kwargs.get("flow", "")))
