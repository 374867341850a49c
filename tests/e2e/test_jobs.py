"""The job queue replicas share (hub.jobs) on a fresh PostgreSQL database: one waiting job
per (tenant, flow), incremental runs before backfills, and a silent worker's run queued again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from procrastinate.jobs import Status

from hub.config import HubConfig
from hub.jobs import BACKFILL, INCREMENTAL, FlowJobs
from tests.postgres import fresh_database


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with fresh_database() as url:
        yield url


class Recorder:
    """A flow runner that records what it ran, in order, and can be held mid-run."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, tenant: str, flow: str, full: bool, due: float | None) -> None:
        self.ran.append((tenant, flow))
        self.started.set()
        await self.release.wait()

    async def until(self, count: int) -> None:
        """Until ``count`` runs have started."""
        while len(self.ran) < count:
            self.started.clear()
            await self.started.wait()


async def drained(jobs: FlowJobs, count: int, recorder: Recorder) -> None:
    """Work the queue until ``count`` runs were made, then stop the worker."""
    worker = asyncio.create_task(jobs.work())
    try:
        async with asyncio.timeout(30):
            await recorder.until(count)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


async def test_one_waiting_run_per_tenant_flow_and_incremental_first(database: str) -> None:
    recorder = Recorder()
    async with FlowJobs(database, recorder, concurrency=1, graceful=1) as jobs:
        assert await jobs.schedule("big", "homes", priority=BACKFILL)
        assert await jobs.schedule("acme", "homes", priority=INCREMENTAL)
        # Another replica queueing what is already waiting queues nothing.
        assert not await jobs.schedule("acme", "homes", priority=INCREMENTAL)
        assert await jobs.schedule("", "homes", priority=INCREMENTAL - 1)
        assert len(await jobs.runs()) == 3
        await drained(jobs, 3, recorder)
    assert recorder.ran == [("acme", "homes"), ("", "homes"), ("big", "homes")]


async def test_a_running_flow_is_not_queued_again_and_a_silent_workers_run_is(
    database: str,
) -> None:
    held = Recorder()
    held.release.clear()  # the run never ends: its replica "dies" mid-run
    async with FlowJobs(
        database, held, concurrency=1, heartbeat=0.2, stalled_after=1, graceful=0.1
    ) as jobs:
        assert await jobs.schedule("acme", "homes")
        worker = asyncio.create_task(jobs.work())
        async with asyncio.timeout(30):
            await held.until(1)
        assert not await jobs.schedule("acme", "homes")  # running now
        # The worker and its run stop sending heartbeats without ending the job, as a
        # killed process would: its job stays "doing" until another replica recovers it.
        for task in asyncio.all_tasks():
            if task.get_name() == "update_heartbeats" or task.get_name().startswith("heartbeat:"):
                task.cancel()
        await asyncio.sleep(1.5)
        assert await jobs.recover() == 1
        assert [run["status"] for run in await jobs.runs()] == ["todo"]
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


async def test_a_replica_queues_children_after_their_parents_first_run_and_not_twice(
    database: str, config: HubConfig
) -> None:
    """A flow ranked after another waits for that one's first run for the tenant (which
    queues it); a flow another replica ran within half its interval is not queued again."""
    from hub.daemon import Daemon

    flows = [
        f
        for f in config.flows
        if f.name in ("hoa-associations-to-warranty", "hoa-units-to-warranty")
    ]
    pg = config.model_copy(
        update={"flows": flows, "state": config.state.model_copy(update={"url": database})}
    )
    daemon = Daemon(pg, handle_signals=False, configure_logs=False)
    async with daemon._lifespan():
        jobs, store = daemon.jobs, daemon.hub.store  # type: ignore[union-attr]
        assert jobs is not None
        parent, child = daemon._flows()
        await daemon._schedule(jobs, "", child, 1, None)
        assert await jobs.runs() == []  # its parent's flow has not run yet
        await daemon._schedule(jobs, "", parent, 0, None)
        assert [r["flow"] for r in await jobs.runs()] == [parent.name]
        await store.finish_run(await store.start_run(parent.name), "ok", {})
        await daemon._schedule(jobs, "", child, 1, None)
        assert sorted(r["flow"] for r in await jobs.runs()) == sorted([parent.name, child.name])
        # Another replica ran the child a moment ago: its next timer queues nothing.
        await store.finish_run(await store.start_run(child.name), "ok", {})
        for job in await jobs.runs():
            await jobs.app.job_manager.finish_job_by_id_async(
                job["id"], Status.SUCCEEDED, delete_job=True
            )
        await daemon._schedule(jobs, "", child, 1, None)
        assert await jobs.runs() == []


async def test_a_tenant_runs_at_most_its_slots_over_every_replica(database: str) -> None:
    """With one slot per tenant, a tenant's second flow waits for its first over two replicas
    while another tenant's run goes ahead; it runs once the first ends."""
    held = Recorder()
    held.release.clear()
    async with (
        FlowJobs(database, held, concurrency=2, per_tenant=1, graceful=0.1) as one,
        FlowJobs(database, held, concurrency=2, per_tenant=1, graceful=0.1) as two,
    ):
        assert await one.schedule("big", "associations", priority=BACKFILL)
        assert await one.schedule("big", "units", priority=BACKFILL)
        assert await two.schedule("acme", "units", priority=INCREMENTAL)
        workers = [asyncio.create_task(one.work()), asyncio.create_task(two.work())]
        try:
            async with asyncio.timeout(30):
                await held.until(2)
            # Both replicas had a free worker for the big tenant's second flow: its slot
            # was taken, so it went back to the queue instead of running.
            await asyncio.sleep(3)
            assert len(held.ran) == 2
            assert ("acme", "units") in held.ran
            (first,) = [flow for tenant, flow in held.ran if tenant == "big"]
            waiting = [r["flow"] for r in await one.runs() if r["status"] == "todo"]
            (second,) = {"associations", "units"} - {first}
            assert waiting == [f"big/{second}"]
            held.release.set()
            async with asyncio.timeout(30):
                await held.until(3)
            assert held.ran[2] == ("big", second)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)


async def test_a_dead_replicas_tenant_slots_are_free_again(database: str) -> None:
    """A slot is held by its replica's connection: the replica gone, the slot is free."""
    from hub.jobs import TenantSlots

    first, second = TenantSlots(database, 1), TenantSlots(database, 1)
    try:
        async with first.hold("acme") as taken:
            assert taken
            async with second.hold("acme") as also:
                assert not also
            async with second.hold("other") as elsewhere:
                assert elsewhere
            await first.close()  # as a killed process's connection closes
            # The server lets go of the lock once its backend has seen the connection end.
            async with asyncio.timeout(10):
                while True:
                    async with second.hold("acme") as now:
                        if now:
                            break
                    await asyncio.sleep(0.05)
    finally:
        await first.close()
        await second.close()


async def test_a_stalled_run_is_taken_over_by_one_replica_only(database: str) -> None:
    """Replicas that saw the same job stalled: the first queues it again and its worker runs
    it; another one, acting on what it saw a moment before, leaves it running."""
    dead, alive = Recorder(), Recorder()
    dead.release.clear()
    alive.release.clear()
    quick = {"concurrency": 1, "heartbeat": 0.2, "stalled_after": 1, "graceful": 0.1}
    async with (
        FlowJobs(database, dead, **quick) as a,
        FlowJobs(database, alive, **quick) as b,
        FlowJobs(database, alive, **quick) as c,
    ):
        assert await a.schedule("acme", "homes")
        worker_a = asyncio.create_task(a.work())
        async with asyncio.timeout(30):
            await dead.until(1)
        # Replica A falls silent mid-run, as a killed one does (only B and C work on).
        for task in asyncio.all_tasks():
            if task.get_name() == "update_heartbeats" or task.get_name().startswith("heartbeat:"):
                task.cancel()
        await asyncio.sleep(1.5)
        seen = list(await c.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=1))
        assert len(seen) == 1
        assert await b.recover() == 1
        worker_b = asyncio.create_task(b.work())
        try:
            async with asyncio.timeout(30):
                await alive.until(1)

            async def as_seen(**_: object) -> list[object]:
                return seen

            c.app.job_manager.get_stalled_jobs = as_seen  # type: ignore[method-assign,assignment]
            assert await c.recover() == 0
            assert [r["status"] for r in await b.runs()] == ["doing"]
        finally:
            alive.release.set()
            worker_b.cancel()
            worker_a.cancel()
            await asyncio.gather(worker_b, worker_a, return_exceptions=True)


async def test_a_run_draining_past_stalled_after_is_not_taken_over(database: str) -> None:
    """SIGTERM: the worker stops its own heartbeat and waits for its runs; a run still going
    after ``stalled_after`` is alive, and no other replica runs it again meanwhile."""
    held, other = Recorder(), Recorder()
    held.release.clear()
    async with (
        FlowJobs(database, held, concurrency=1, heartbeat=0.2, stalled_after=1, graceful=5) as a,
        FlowJobs(database, other, concurrency=1, heartbeat=0.2, stalled_after=1) as b,
    ):
        assert await a.schedule("acme", "homes")
        worker = asyncio.create_task(a.work())
        async with asyncio.timeout(30):
            await held.until(1)
        worker.cancel()  # the drain begins
        await asyncio.sleep(1.5)
        assert not worker.done()
        assert await b.recover() == 0
        held.release.set()
        await asyncio.gather(worker, return_exceptions=True)
    assert other.ran == []


async def cut_off(slots: Any, database: str) -> None:
    """The server ends the slots' connection (a restart, a cut link)."""
    import psycopg

    from hub.jobs import conninfo

    pid = await (await slots._conn.execute("SELECT pg_backend_pid()")).fetchone()
    async with await psycopg.AsyncConnection.connect(conninfo(database), autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", pid)


async def test_the_tenant_cap_outlives_a_lost_slot_connection(database: str) -> None:
    """The slots' connection dropped (a restarted server, a cut link) while a run holds one:
    the replica takes its runs' slots again on a new connection, so the cap still holds."""
    from hub.jobs import TenantSlots

    mine, theirs = TenantSlots(database, 2), TenantSlots(database, 2)
    try:
        async with mine.hold("acme") as first:
            assert first
            await cut_off(mine, database)
            async with mine.hold("acme") as second:
                assert second
                async with theirs.hold("acme") as third:
                    assert not third  # two of acme's runs are going: its cap
        async with theirs.hold("acme") as now:
            assert now  # both ended: their slots were given back on the new connection
    finally:
        await mine.close()
        await theirs.close()


async def test_the_tenant_cap_holds_when_a_run_ends_on_a_lost_connection(
    database: str,
) -> None:
    """A run gives its slot back on a connection that is gone: the replica's next take, on a
    new one, first takes again the slot its other run still holds."""
    from hub.jobs import TenantSlots

    mine, theirs = TenantSlots(database, 2), TenantSlots(database, 2)
    try:
        async with mine.hold("acme") as first:
            assert first
            async with mine.hold("acme") as second:
                assert second
                await cut_off(mine, database)
            # The second run ended; its slot went back with the connection.
            async with mine.hold("acme") as third:
                assert third
                async with theirs.hold("acme") as fourth:
                    assert not fourth  # the first and the third run: acme's cap
    finally:
        await mine.close()
        await theirs.close()


async def test_a_second_stop_ends_a_replicas_drain_at_once(database: str) -> None:
    """Asked twice to stop, a replica cuts its runs short instead of waiting out the drain."""
    held = Recorder()
    held.release.clear()
    async with FlowJobs(database, held, concurrency=1, graceful=60) as jobs:
        assert await jobs.schedule("acme", "homes")
        worker = asyncio.create_task(jobs.work())
        async with asyncio.timeout(30):
            await held.until(1)
        worker.cancel()  # the first stop: a drain of up to 60 s
        await asyncio.sleep(0.2)
        assert not worker.done()
        jobs.abort_running()  # the second
        async with asyncio.timeout(10):
            await asyncio.gather(worker, return_exceptions=True)


def pg_daemon(config: HubConfig, database: str) -> Any:
    from hub.daemon import Daemon

    flows = [f for f in config.flows if f.name == "hoa-associations-to-warranty"]
    pg = config.model_copy(
        update={"flows": flows, "state": config.state.model_copy(update={"url": database})}
    )
    return Daemon(pg, handle_signals=False, configure_logs=False)


async def test_a_replica_whose_worker_fails_stops_with_exit_code_1(
    database: str, config: HubConfig
) -> None:
    """procrastinate ends its worker when its heartbeat fails for long: the replica, running
    nothing any more, stops non-zero so that its supervisor starts it again."""
    daemon = pg_daemon(config, database)
    async with daemon._lifespan():
        jobs = daemon.jobs
        assert jobs is not None

        async def failing() -> None:
            raise RuntimeError("side task update_heartbeats failed")

        jobs.work = failing  # type: ignore[method-assign]
        async with asyncio.timeout(10):
            await daemon._replica_loop(jobs)
    assert daemon.exit_code == 1 and daemon.stopping.is_set()


async def test_scheduling_goes_on_after_the_database_was_away(
    database: str, config: HubConfig
) -> None:
    """A round that meets a database error (a restart, a failover) is logged; the next
    round queues the flow as usual."""
    import sqlalchemy as sa

    daemon = pg_daemon(config, database)
    rounds: list[int] = []

    async def tenants() -> dict[str, frozenset[str] | None]:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise sa.exc.OperationalError("SELECT 1", {}, OSError("server closed the connection"))
        return {"": None}

    async def sleep(seconds: float) -> None:
        if len(rounds) >= 2:
            daemon.stopping.set()
        await asyncio.sleep(0)

    async with daemon._lifespan():
        jobs = daemon.jobs
        assert jobs is not None
        daemon._tenants = tenants  # type: ignore[method-assign]
        daemon.sleep = sleep
        async with asyncio.timeout(10):
            await daemon._schedule_loop(jobs, daemon._flows()[0], 0)
        assert [r["flow"] for r in await jobs.runs()] == ["hoa-associations-to-warranty"]
