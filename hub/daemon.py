"""``prophub run``: every flow on its schedule, with health, readiness and metrics endpoints.

``serve()`` is capture signals -> startup -> loop -> shutdown. The first SIGTERM, SIGINT or
SIGHUP stops new runs and lets in-flight ones finish within ``daemon.shutdown_timeout``; what
is still running then is cancelled (the engine's ledger and cursor make that safe); a second
signal cancels at once.

On a SQLite store the daemon is the store's one process and runs every (tenant, flow) on its
schedule itself. On PostgreSQL it is one replica of many: each schedules runs as jobs of
procrastinate (:mod:`hub.jobs`) and works the queue, so one (tenant, flow) never runs twice
at once, and a replica killed mid-run has its run taken over by another. What a killed
process left behind in the runs table is cleared as the daemon starts and before each run.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import random
import signal
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog
from aiohttp import web

from hub.app import Hub, dependency_order
from hub.config import FlowSettings, HubConfig
from hub.errors import ConfigError, HubError
from hub.log import configure_logging, first_line
from hub.metrics import CONTENT_TYPE, Metrics
from hub.state import StateStore, process_owner
from hub.state.base import aware
from hub.sync import FlowReport
from hub.tenants import DEFAULT, scoped

if TYPE_CHECKING:
    from hub.jobs import FlowJobs

__all__ = ["Daemon"]

log = structlog.get_logger("hub.daemon")


#: young objects allowed before a collection (CPython's default is 700)
YOUNG_GENERATION = 200_000
#: seconds a run is presumed alive without renewal; renewed every third of it
RUN_TTL = 60.0
#: the signals that stop the daemon gracefully (SIGHUP: the terminal or the supervisor went)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stop_signals() -> tuple[signal.Signals, ...]:
    """The stop signals to handle: those the process was not started ignoring (``nohup``
    ignores SIGHUP so the daemon outlives its terminal; that choice is kept)."""
    return tuple(sig for sig in STOP_SIGNALS if signal.getsignal(sig) is not signal.SIG_IGN)


@contextlib.contextmanager
def sole_process(url: str) -> Iterator[None]:
    """Hold the SQLite store for this daemon alone (one process runs an embedded store;
    replicas share PostgreSQL): a second daemon on the file stops with one line."""
    import fcntl

    from hub.state import sqlite_path

    path = sqlite_path(url)
    if path is None:  # in memory: nobody else can open it
        yield
        return
    with open(f"{path}.daemon.lock", "a+") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                "another prophub run uses this SQLite store; run one daemon per SQLite file, "
                "or replicas on PostgreSQL",
                key="state.url",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


def freeze_startup_heap() -> None:
    """Leave the objects of startup (modules, config, plugins) out of garbage collection,
    and collect the young generation less often.

    The startup objects live as long as the process, and a full collection would otherwise
    walk all of them again and again while a sync allocates. A batch's records live for the
    batch and refcounting frees them: what the young generation still holds when it is
    collected is bounded by the batches in flight, not by the threshold, so a rarer
    collection walks about as much as a frequent one, far less often (``bench/NOTES.md``).
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, older, oldest)


class Daemon:
    """Runs every enabled flow on its ``every`` schedule until told to stop."""

    def __init__(
        self,
        config: HubConfig,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        handle_signals: bool = True,
        configure_logs: bool = True,
        run_ttl: float = RUN_TTL,
    ) -> None:
        self.config = config
        self.sleep = sleep
        self.rand = rand
        self.handle_signals = handle_signals
        self.configure_logs = configure_logs
        self.run_ttl = run_ttl
        self.metrics = Metrics()
        self.owner = process_owner()
        self.stopping = asyncio.Event()
        self.force = False
        self.ready = False
        #: 1 when the daemon stopped because its job worker failed, not because it was asked
        self.exit_code = 0
        self.hub: Hub | None = None
        self.address: tuple[str, int] | None = None
        self._runs: set[asyncio.Task[Any]] = set()
        self._slots = asyncio.Semaphore(config.tenants.max_runs)
        per_tenant = config.tenants.runs_per_tenant
        self._tenant_slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_tenant)
        )
        self.jobs: FlowJobs | None = None
        self.heartbeat = config.daemon.heartbeat
        self.stalled_after = config.daemon.stalled_after

    # -- entry points ------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until a signal; the exit code for the CLI (which owns the process)."""
        if self.configure_logs:
            configure_logging(level=self.config.log_level, fmt=self.config.daemon.log_format)
        freeze_startup_heap()
        asyncio.run(self.serve())
        return self.exit_code

    async def serve(self) -> None:
        """Capture signals, start, loop over the flows' schedules, shut down."""
        with self._signals():
            async with self._lifespan():
                await self._main_loop()

    async def run_once(self) -> list[FlowReport]:
        """Run every enabled flow once, parents' entities first (burst mode, for tests)."""
        async with self._lifespan():
            reports = []
            for flow in self._flows():
                for tenant in await self._running(flow):
                    report = await self._run_flow(flow, tenant)
                    if report is not None:
                        reports.append(report)
            return reports

    def stop(self) -> None:
        """Ask the daemon to stop; asked twice, it stops at once."""
        if self.stopping.is_set():
            self.force = True
            for task in self._runs:
                task.cancel()
            if self.jobs is not None:
                self.jobs.abort_running()
        self.stopping.set()

    # -- lifecycle ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        if not self.handle_signals:
            yield
            return
        loop = asyncio.get_running_loop()
        handled = stop_signals()
        for sig in handled:
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            yield
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("signal received, stopping", signal=sig.name, force=self.stopping.is_set())
        self.stop()

    @contextlib.asynccontextmanager
    async def _lifespan(self) -> AsyncIterator[None]:
        runner = await self._listen()
        try:
            async with Hub(self.config, observer=self.metrics) as hub:
                self.hub = hub
                # Runs renewed by this daemon may be presumed dead soon after it stops renewing.
                hub.store.run_ttl = self.run_ttl
                await self._clear_stale(hub.store)
                async with self._queue(hub) as jobs:
                    self.jobs = jobs
                    self.ready = True
                    try:
                        yield
                    finally:
                        self.ready = False
                        await self._drain()
                        self.jobs = None
        finally:
            self.hub = None
            await runner.cleanup()
            log.info("stopped")

    @contextlib.asynccontextmanager
    async def _queue(self, hub: Hub) -> AsyncIterator[FlowJobs | None]:
        """The job queue on a PostgreSQL store (None on SQLite, whose one process is this)."""
        if hub.store.dialect.name != "postgresql":
            with sole_process(self.config.state.url):
                yield None
            return
        if importlib.util.find_spec("procrastinate") is None:
            message = "replicas on PostgreSQL need: pip install 'property-hub[postgres]'"
            raise ConfigError(message, key="state.url")
        from hub.jobs import FlowJobs

        jobs = FlowJobs(
            self.config.state.url,
            self._job,
            concurrency=self.config.tenants.max_runs,
            per_tenant=self.config.tenants.runs_per_tenant,
            heartbeat=self.heartbeat,
            stalled_after=self.stalled_after,
            graceful=self.config.daemon.shutdown_timeout,
        )
        async with jobs:
            yield jobs

    async def _listen(self) -> web.AppRunner:
        """Serve the endpoints; an address that cannot be bound is a config error."""
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await runner.setup()
        host, port = self.config.daemon.host_port
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            message = f"cannot listen on {self.config.daemon.listen}: {exc.strerror or exc}"
            raise ConfigError(message, key="daemon.listen") from None
        self.address = runner.addresses[0][:2]
        log.info("listening", address=f"{self.address[0]}:{self.address[1]}")
        return runner

    async def _drain(self) -> None:
        if not self._runs:
            return
        timeout = 0.0 if self.force else self.config.daemon.shutdown_timeout
        log.info("waiting for running flows", count=len(self._runs), timeout_s=timeout)
        _, pending = await asyncio.wait(self._runs, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    # -- scheduling ---------------------------------------------------------------------------

    def _flows(self) -> list[FlowSettings]:
        flows = [f for f in self.config.flows if f.enabled]
        return dependency_order(list(flows))

    def next_delay(self, flow: FlowSettings) -> float:
        """The pause before the flow's next run: its interval, jittered by +-10%."""
        return flow.every_seconds * (0.9 + 0.2 * self.rand())

    async def _main_loop(self) -> None:
        if self.jobs is not None:
            await self._replica_loop(self.jobs)
            return
        # The first round runs in dependency order, so parents land before children; after
        # that each flow keeps its own schedule.
        await self._tracked(self._first_round(), "first-round")
        loops = [
            asyncio.create_task(self._flow_loop(f), name=f"flow:{f.name}") for f in self._flows()
        ]
        await self.stopping.wait()
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)

    async def _first_round(self) -> None:
        for flow in self._flows():
            if self.stopping.is_set():
                return
            await self._for_tenants(flow)

    async def _flow_loop(self, flow: FlowSettings) -> None:
        while not self.stopping.is_set():
            await self.sleep(self.next_delay(flow))
            await self._tracked(self._for_tenants(flow), f"run:{flow.name}")

    async def _replica_loop(self, jobs: FlowJobs) -> None:
        """Schedule every (tenant, flow) as a job on its interval, work the queue, and take
        over the runs of replicas gone silent, until told to stop."""
        worker = asyncio.create_task(jobs.work(), name="worker")
        side = [asyncio.create_task(self._recover_loop(jobs), name="recover")]
        for rank, flow in enumerate(self._flows()):
            side.append(
                asyncio.create_task(
                    self._schedule_loop(jobs, flow, rank), name=f"schedule:{flow.name}"
                )
            )
        stopped = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait({stopped, worker}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if worker.done() and not self.stopping.is_set():
            # procrastinate ends its worker when one of its own tasks fails (its heartbeat
            # during a long database outage, say): a replica that runs nothing must exit
            # non-zero, so its supervisor starts it again.
            error = None if worker.cancelled() else worker.exception()
            log.error("job worker stopped, stopping", error=str(error) if error else None)
            self.exit_code = 1
            self.stopping.set()
        for task in side:
            task.cancel()
        await asyncio.gather(*side, return_exceptions=True)
        # The worker ends its running jobs within the shutdown budget, then cancels them.
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

    async def _schedule_loop(self, jobs: FlowJobs, flow: FlowSettings, rank: int) -> None:
        """Queue the flow for every tenant now, then on each interval."""
        from hub.jobs import UNREACHABLE

        while not self.stopping.is_set():
            try:
                for tenant, runs in (await self._tenants()).items():
                    if runs is None or flow.name in runs:
                        await self._schedule(jobs, tenant, flow, rank, runs)
            except UNREACHABLE as exc:
                # The database is away (a restart, a failover): the next round tries again;
                # a loop that ended here would never queue this flow again.
                log.warning("flow not scheduled", flow=flow.name, error=first_line(exc))
            await self.sleep(self.next_delay(flow))

    async def _schedule(
        self,
        jobs: FlowJobs,
        tenant: str,
        flow: FlowSettings,
        rank: int,
        runs: frozenset[str] | None,
    ) -> None:
        """Queue the tenant's flow, parents' flows and incremental runs at a higher priority
        than children's and backfills; unless another replica's timer ran it within half its
        interval (each replica keeps the schedule), or a flow ranked before it has not run
        once for the tenant yet (its first run queues this one: a first sync then finds the
        parents it needs written)."""
        from hub.jobs import BACKFILL, INCREMENTAL

        assert self.hub is not None
        store, name = self.hub.store, scoped(tenant, flow.name)
        last = await store.last_run(name)
        if last is not None:
            age = datetime.now(UTC) - aware(last["started_at"])
            if age.total_seconds() < flow.every_seconds / 2:
                return
        backfill = await store.get_cursor(name) is None
        # Only a flow's first sync waits for the flows before it (later ones found them run).
        for earlier in self._flows()[:rank] if backfill else ():
            mine = runs is None or earlier.name in runs
            if mine and not await self._has_run(scoped(tenant, earlier.name)):
                return
        priority = (BACKFILL if backfill else INCREMENTAL) - rank
        await jobs.schedule(tenant, flow.name, priority=priority)

    async def _has_run(self, name: str) -> bool:
        """Whether the (tenant's) flow has finished a run (or has a cursor from one)."""
        assert self.hub is not None
        if await self.hub.store.get_cursor(name) is not None:
            return True
        last = await self.hub.store.last_run(name)
        # A run a killed replica abandoned ("stale"), or a stop cut short, has not run it.
        return last is not None and last["status"] not in ("running", "stale", "cancelled")

    async def _recover_loop(self, jobs: FlowJobs) -> None:
        """Every heartbeat, queue again the runs of replicas gone silent."""
        from hub.jobs import UNREACHABLE

        while True:
            try:
                await jobs.recover()
            except UNREACHABLE as exc:
                # A failed check must not end the loop: no stalled run would be taken over again.
                log.warning("stalled runs could not be checked", error=first_line(exc))
            await self.sleep(self.heartbeat)

    async def _job(self, tenant: str, name: str, full: bool, due: float | None) -> None:
        """One queued run: the flow as the config has it now."""
        flows = self._flows()
        rank = next((i for i, f in enumerate(flows) if f.name == name), None)
        if rank is None:
            log.warning("queued run of a flow the config no longer has", flow=name)
            return
        await self._run_flow(flows[rank], tenant, due=due)
        if self.jobs is None:
            return
        # The flows ranked after it that have not run yet for the tenant waited for this one
        # (a first sync, or one a killed replica left): they are queued now.
        runs = (await self._tenants()).get(tenant)
        for later, follower in enumerate(flows[rank + 1 :], start=rank + 1):
            name = scoped(tenant, follower.name)
            if (runs is None or follower.name in runs) and not await self._has_run(name):
                await self._schedule(self.jobs, tenant, follower, later, runs)

    async def _tenants(self) -> dict[str, frozenset[str] | None]:
        """The tenants as they are now (added or removed since the last round included), each
        with the flows it runs (None: all); a tenant definition that cannot be read is
        logged, and the default tenant still runs."""
        assert self.hub is not None
        try:
            return await self.hub.tenants.flows()
        except ConfigError as exc:
            log.error("tenants could not be listed", error=str(exc))
            return {DEFAULT: None} if self.config.tenants.default else {}

    async def _running(self, flow: FlowSettings) -> list[str]:
        """The tenants that run the flow."""
        tenants = await self._tenants()
        return [t for t, runs in tenants.items() if runs is None or flow.name in runs]

    async def _for_tenants(self, flow: FlowSettings) -> None:
        """Run the flow for every tenant that runs it, at most ``tenants.max_runs`` at once
        and ``tenants.runs_per_tenant`` of one tenant's flows."""
        tenants = await self._running(flow)
        if not tenants:
            return
        if len(tenants) == 1:
            async with self._tenant_slots[tenants[0]]:
                if not self.stopping.is_set():  # a stop came while it waited its turn
                    await self._run_flow(flow, tenants[0])
            return

        due = time.time()

        async def one(tenant: str) -> None:
            # The tenant's slot first: a run waiting for its tenant holds no daemon slot.
            async with self._tenant_slots[tenant], self._slots:
                if not self.stopping.is_set():
                    await self._run_flow(flow, tenant, due=due)

        runs = [asyncio.create_task(one(t), name=f"run:{scoped(t, flow.name)}") for t in tenants]
        results = await asyncio.gather(*runs, return_exceptions=True)
        for tenant, result in zip(tenants, results, strict=True):
            if isinstance(result, Exception):
                # One tenant's unexpected failure must not cut the others' runs short.
                self.metrics.record_failure(flow.name, tenant)
                log.error("flow failed", flow=scoped(tenant, flow.name), exc_info=result)

    async def _tracked(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run work as a task that a stop does not cancel: ``_drain`` decides its fate."""
        task = asyncio.create_task(work, name=name)
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)
        stopped = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()

    async def _run_flow(
        self, flow: FlowSettings, tenant: str = DEFAULT, *, due: float | None = None
    ) -> FlowReport | None:
        assert self.hub is not None
        if due is not None:
            self.metrics.record_lag(tenant, max(0.0, time.time() - due))
        store = self.hub.store
        name = scoped(tenant, flow.name)
        await self._clear_stale(store)
        keeper = asyncio.create_task(self._keep_alive(store), name=f"alive:{name}")
        try:
            report = await self.hub.sync(flow.name, tenant=tenant)
        except HubError as exc:
            self.metrics.record_failure(flow.name, tenant)
            log.error("flow failed", flow=name, error=str(exc))
            return None
        finally:
            keeper.cancel()
            await asyncio.wait({keeper})
        self.metrics.record_report(report, time.time(), tenant, flow.name)
        log.info("flow finished", **report.as_json())
        return report

    async def _keep_alive(self, store: StateStore) -> None:
        """Renew this process's runs while one lasts, so no one takes them for abandoned."""
        while True:
            await self.sleep(self.run_ttl / 3)
            try:
                await store.renew_runs(self.run_ttl)
            except (OSError, sa.exc.SQLAlchemyError) as exc:
                # The store is out of reach for now: the run lasts a while yet, try again.
                log.warning("run renewal failed", error=first_line(exc))

    async def _clear_stale(self, store: StateStore) -> None:
        """Clear the runs of processes that are gone (and leases older versions left), so
        they show as abandoned now, not once their time runs out."""
        for stale in await store.clear_stale():
            log.warning(
                f"stale {stale.kind} cleared",
                name=stale.name,
                owner=stale.owner,
                reason=stale.reason,
                run_id=stale.run_id,
            )

    # -- HTTP ----------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        if self.ready and not self.stopping.is_set():
            return web.json_response({"status": "ready"})
        return web.json_response({"status": "not ready"}, status=503)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})
