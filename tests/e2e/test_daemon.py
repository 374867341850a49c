"""The daemon: schedules, endpoints, metrics, and a real process stopped by SIGTERM."""

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
from pathlib import Path
from typing import Any

import aiohttp

from hub.config import FlowSettings, HubConfig
from hub.daemon import YOUNG_GENERATION, Daemon, freeze_startup_heap
from hub.sandbox import SandboxServer
from hub.store import StateStore


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


async def test_a_flow_never_runs_twice_at_once(config: HubConfig) -> None:
    """A flow whose lease another replica holds is skipped, not run in parallel."""
    daemon = Daemon(config, handle_signals=False, configure_logs=False)
    async with daemon._lifespan():
        assert daemon.hub is not None
        store = daemon.hub.store
        assert await store.acquire_lease("flow:hoa-units-to-warranty", "other-replica", 60)
        flow = next(f for f in config.flows if f.name == "hoa-units-to-warranty")
        assert await daemon._run_flow(flow) is None
        await store.release_lease("flow:hoa-units-to-warranty", "other-replica")
        report = await daemon._run_flow(flow)
        assert report is not None


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


async def test_sigterm_mid_run_exits_zero_with_state_saved(
    boxes: dict[str, SandboxServer], config: HubConfig, tmp_path: Path
) -> None:
    """A real ``prophub run`` process stops on SIGTERM within 10 s, exit 0, runs recorded."""
    for box in boxes.values():
        box.options.latency_ms = 20  # long enough that SIGTERM lands mid-run
    port = free_port()
    path = tmp_path / "prophub.toml"
    write_toml(config, path, f"127.0.0.1:{port}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; waited for off the loop
        [sys.executable, "-m", "hub", "run", "--config", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        async with aiohttp.ClientSession() as session:

            async def busy() -> bool:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                        return "prophub_requests_total{" in await resp.text()
                except aiohttp.ClientError:
                    return False

            await wait_for(busy)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = await asyncio.to_thread(proc.wait, 15)
        assert code == 0
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        output = proc.stdout.read().decode() if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
    async with StateStore.open(config.state.url) as store:
        last = await store.last_run(config.flows[0].name)
    assert last is not None and last["status"] in ("ok", "cancelled"), output


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
