"""The daemon: schedules, endpoints, metrics, leases, and a real process stopped by SIGTERM or
SIGHUP, or killed."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from hub.config import FlowSettings, HubConfig
from hub.daemon import STOP_SIGNALS, YOUNG_GENERATION, Daemon, freeze_startup_heap, stop_signals
from hub.errors import ConfigError
from hub.sandbox.server import SandboxServer
from hub.state import StateStore


async def wait_for(condition: Any, limit: float = 20.0) -> None:
    """Poll a condition on the event loop until it holds."""
    deadline = time.monotonic() + limit
    while not await condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def test_next_delay_is_jittered_within_ten_percent() -> None:
    """Each flow waits its interval give or take ten percent."""
    flow = FlowSettings(name="f", source="a", target="b", entity="home", every="10m")
    low = Daemon.__new__(Daemon)
    low.rand = lambda: 0.0
    high = Daemon.__new__(Daemon)
    high.rand = lambda: 1.0
    assert Daemon.next_delay(low, flow) == 540 and Daemon.next_delay(high, flow) == 660


async def test_run_once_runs_every_flow_in_dependency_order(config: HubConfig) -> None:
    """Burst mode runs each enabled flow once, locations before homes before people."""
    daemon = Daemon(config, handle_signals=False, configure_logs=False)
    reports = await daemon.run_once()
    entities = [next(f.entity for f in config.flows if f.name == r.flow) for r in reports]
    assert entities == sorted(entities, key=["location", "home", "person"].index)
    assert sum(r.created for r in reports) > 0 and all(r.failed == 0 for r in reports)


async def test_one_process_runs_at_most_a_tenants_slots_of_its_flows(config: HubConfig) -> None:
    """Flows due together run side by side, but never more of one tenant's than
    ``tenants.runs_per_tenant``: the other tenant's run is not held behind them."""
    capped = config.model_copy(
        update={"tenants": config.tenants.model_copy(update={"runs_per_tenant": 1})}
    )
    daemon = Daemon(capped, handle_signals=False, configure_logs=False)
    running: dict[str, int] = {}
    most: dict[str, int] = {}
    ran: list[tuple[str, str]] = []

    async def tenants(flow: FlowSettings) -> list[str]:
        return ["big", "small"] if flow.name == capped.flows[0].name else ["big"]

    async def run(flow: FlowSettings, tenant: str = "", *, due: float | None = None) -> None:
        running[tenant] = running.get(tenant, 0) + 1
        most[tenant] = max(most.get(tenant, 0), running[tenant])
        await asyncio.sleep(0.05)
        ran.append((tenant, flow.name))
        running[tenant] -= 1

    daemon._running = tenants  # type: ignore[method-assign]
    daemon._run_flow = run  # type: ignore[method-assign,assignment]
    first, second = capped.flows[:2]
    await asyncio.gather(daemon._for_tenants(first), daemon._for_tenants(second))
    assert most == {"big": 1, "small": 1}
    assert sorted(ran) == sorted([("big", first.name), ("big", second.name), ("small", first.name)])
    assert ran[0][0] != ran[1][0]  # the small tenant did not wait for the big one's second


async def test_one_tenants_unexpected_failure_leaves_the_others_runs_alone(
    config: HubConfig,
) -> None:
    """A run that raises what no one expected (a bug) is logged and counted; the other
    tenants' runs of the flow go on to their end."""
    daemon = Daemon(config, handle_signals=False, configure_logs=False)
    finished: list[str] = []

    async def tenants(flow: FlowSettings) -> list[str]:
        return ["broken", "fine"]

    async def run(flow: FlowSettings, tenant: str = "", *, due: float | None = None) -> None:
        if tenant == "broken":
            raise RuntimeError("a bug")
        await asyncio.sleep(0.05)
        finished.append(tenant)

    daemon._running = tenants  # type: ignore[method-assign]
    daemon._run_flow = run  # type: ignore[method-assign,assignment]
    await daemon._for_tenants(config.flows[0])
    assert finished == ["fine"]
    metrics = daemon.metrics.render().decode()
    assert 'prophub_tenant_runs_total{result="error",tenant="broken"} 1.0' in metrics


async def test_serves_health_readiness_and_metrics(config: HubConfig) -> None:
    """While running, /healthz and /readyz answer and /metrics shows the counters."""
    daemon = Daemon(config, handle_signals=False, configure_logs=False, rand=lambda: 0.0)
    task = asyncio.create_task(daemon.serve())
    async with aiohttp.ClientSession() as session:

        async def finished() -> bool:
            if daemon.address is None:
                return False
            url = f"http://127.0.0.1:{daemon.address[1]}/metrics"
            async with session.get(url) as resp:
                text = await resp.text()
            return all(
                f'prophub_last_success_timestamp_seconds{{flow="{f.name}"}}' in text
                for f in config.flows
            )

        await wait_for(finished)
        base = f"http://127.0.0.1:{daemon.address[1]}"  # type: ignore[index]
        async with session.get(base + "/healthz") as resp:
            assert resp.status == 200
        async with session.get(base + "/readyz") as resp:
            assert resp.status == 200
        async with session.get(base + "/metrics") as resp:
            metrics = await resp.text()
    daemon.stop()
    await asyncio.wait_for(task, 10)
    assert 'prophub_records_total{flow="hoa-units-to-warranty",outcome="created"} 40.0' in metrics
    assert 'prophub_requests_total{method="POST",status="200",vendor="builder_backed"}' in metrics
    assert "prophub_request_seconds_bucket" in metrics
    assert 'prophub_runs_total{flow="hoa-units-to-warranty",result="ok"} 1.0' in metrics


async def test_a_second_daemon_on_one_sqlite_store_stops_with_one_line(
    config: HubConfig,
) -> None:
    """An embedded SQLite store has one daemon: a second one is refused, naming the way to
    run several (replicas on PostgreSQL); once the first stops, another may start."""
    first = Daemon(config, handle_signals=False, configure_logs=False)
    second = Daemon(config, handle_signals=False, configure_logs=False)
    async with first._lifespan():
        with pytest.raises(ConfigError, match="another prophub run uses this SQLite store"):
            async with second._lifespan():
                pass
    async with second._lifespan():
        assert second.jobs is None and second.ready


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def toml_value(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def write_toml(config: HubConfig, path: Path, listen: str) -> None:
    """Write a config as TOML (enough of TOML for the demo config)."""
    lines = [f'[state]\nurl = "{config.state.url}"\n', f'[daemon]\nlisten = "{listen}"\n']
    for name, settings in config.connectors.items():
        lines.append(f"[connectors.{name}]")
        for key, value in settings.model_dump(mode="json").items():
            if value is not None:
                real = getattr(settings, key)
                if hasattr(real, "get_secret_value"):
                    value = real.get_secret_value()
                lines.append(f"{key} = {toml_value(value)}")
        lines.append("")
    for flow in config.flows:
        lines.append("[[flows]]")
        for key, value in flow.model_dump(mode="json", exclude={"options"}).items():
            lines.append(f"{key} = {toml_value(value)}")
        for key, value in flow.options.configured().items():
            lines.append(
                f"options.{key} = {json.dumps(value)}".replace('": ', '" = ').replace('{"', '{ "')
                if not isinstance(value, list) or not value or not isinstance(value[0], dict)
                else _inline_tables(key, value)
            )
        lines.append("")
    path.write_text("\n".join(lines))


def _inline_tables(key: str, items: list[dict[str, Any]]) -> str:
    inner = ", ".join(
        "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in item.items()) + " }" for item in items
    )
    return f"options.{key} = [{inner}]"


def start_daemon(
    boxes: dict[str, SandboxServer], config: HubConfig, tmp_path: Path
) -> tuple[subprocess.Popen[bytes], int, Path]:
    """A real ``prophub run`` process on slowed sandboxes: (process, port, config path)."""
    for box in boxes.values():
        box.options.latency_ms = 20  # long enough that a signal lands mid-run
    port = free_port()
    path = tmp_path / "prophub.toml"
    write_toml(config, path, f"127.0.0.1:{port}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "run", "--config", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    return proc, port, path


def output_of(proc: subprocess.Popen[bytes]) -> str:
    """Whatever the process printed, once it is dead (killed if need be)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    output = proc.stdout.read().decode() if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    return output


async def wait_busy(port: int) -> None:
    """Until the daemon has sent vendor requests."""
    async with aiohttp.ClientSession() as session:

        async def busy() -> bool:
            try:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    return "prophub_requests_total{" in await resp.text()
            except aiohttp.ClientError:
                return False

        await wait_for(busy)


def runs_and_leases(conn: sa.Connection) -> tuple[list[tuple[str, str]], list[str]]:
    """(flow, status) of every run, and the name of every lease held."""
    runs = [(r.flow, r.status) for r in conn.execute(sa.text("SELECT flow, status FROM runs"))]
    leases = [r.name for r in conn.execute(sa.text("SELECT name FROM leases"))]
    return runs, leases


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
async def test_a_stop_signal_mid_run_drains_and_exits_zero(
    boxes: dict[str, SandboxServer], config: HubConfig, tmp_path: Path, sig: signal.Signals
) -> None:
    """A real ``prophub run`` process stops on SIGTERM or SIGHUP within 10 s, exit 0, its
    runs recorded as ended and its leases given back."""
    proc, port, _ = start_daemon(boxes, config, tmp_path)
    try:
        await wait_busy(port)
        proc.send_signal(sig)
        started = time.monotonic()
        code = await asyncio.to_thread(proc.wait, 15)
        assert code == 0
        assert time.monotonic() - started < 10
    finally:
        output = output_of(proc)
    async with StateStore.open(config.state.url) as store:
        last = await store.last_run(config.flows[0].name)
        runs, leases = await store.run(runs_and_leases)
    assert last is not None and last["status"] in ("ok", "cancelled"), output
    assert runs and all(status in ("ok", "cancelled") for _, status in runs), runs
    assert leases == []


async def test_a_killed_daemons_run_is_cleared_by_status(
    boxes: dict[str, SandboxServer], config: HubConfig, tmp_path: Path
) -> None:
    """A daemon killed by SIGKILL mid-run leaves its run "running"; ``prophub status`` sees
    the process is gone, clears it and says so."""
    proc, _, path = start_daemon(boxes, config, tmp_path)
    try:
        async with StateStore.open(config.state.url) as store:

            async def mid_run() -> bool:
                runs, _ = await store.run(runs_and_leases)
                return any(status == "running" for _, status in runs)

            await wait_for(mid_run)
        proc.kill()
        await asyncio.to_thread(proc.wait, 15)
    finally:
        output_of(proc)
    async with StateStore.open(config.state.url) as store:
        runs, leases = await store.run(runs_and_leases)
    running = [flow for flow, status in runs if status == "running"]
    # One run at a time in the first round: killed mid-run, one is left running.
    assert len(running) == 1 and leases == [], (runs, leases)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub", "status", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    gone = f"its process {socket.gethostname()}:{proc.pid} is gone"
    for flow in running:
        assert f"of flow {flow}: {gone}" in done.stdout and "stale" in done.stdout
    async with StateStore.open(config.state.url) as store:
        runs, leases = await store.run(runs_and_leases)
        lasts = [await store.last_run(flow) for flow in running]
    assert "running" not in {status for _, status in runs} and leases == []
    for last in lasts:
        assert last is not None and last["status"] == "stale"
        assert last["error"] == f"abandoned: {gone}"


async def test_runs_are_renewed_while_they_last(config: HubConfig) -> None:
    """Every third of the run's time to live the daemon renews its runs, so no one takes a
    long run for abandoned."""
    ticks: asyncio.Queue[tuple[float, asyncio.Future[None]]] = asyncio.Queue()

    async def sleep(seconds: float) -> None:
        tick = asyncio.get_running_loop().create_future()
        await ticks.put((seconds, tick))
        await tick

    daemon = Daemon(config, sleep=sleep, handle_signals=False, configure_logs=False, run_ttl=90)
    async with daemon._lifespan():
        assert daemon.hub is not None
        store = daemon.hub.store
        assert store.owner == daemon.owner and store.run_ttl == 90
        past = datetime.now(UTC) - timedelta(minutes=5)
        run_id = await store.start_run("x")
        await store.run(
            lambda conn: conn.execute(
                sa.text("UPDATE runs SET expires_at = :past"), {"past": past}
            ),
            write=True,
        )
        keeper = asyncio.create_task(daemon._keep_alive(store))
        seconds, tick = await ticks.get()
        assert seconds == 30
        tick.set_result(None)
        seconds, tick = await ticks.get()  # renewed, and waiting for the next round

        def expiry(conn: sa.Connection) -> datetime:
            statement = sa.text("SELECT expires_at FROM runs WHERE id = :id")
            return _aware(conn.execute(statement, {"id": run_id}).scalar_one())

        assert await store.run(expiry) > datetime.now(UTC)
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)


def _aware(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_signal_the_process_was_started_ignoring_stays_ignored() -> None:
    """Under ``nohup`` (SIGHUP ignored) the daemon keeps running when its terminal goes."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        assert signal.SIGHUP in stop_signals()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        assert signal.SIGHUP not in stop_signals()
        assert set(stop_signals()) <= set(STOP_SIGNALS)
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_startup_heap_is_left_out_of_collection() -> None:
    """What is alive at startup is frozen; what is allocated later is collected, in larger
    young generations."""
    threshold = gc.get_threshold()
    try:
        freeze_startup_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # modules, classes, config: the bulk of a fresh process
        later = [[] for _ in range(100)]
        assert gc.get_freeze_count() == frozen and gc.is_tracked(later[0])
        assert gc.get_threshold() == (YOUNG_GENERATION, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
