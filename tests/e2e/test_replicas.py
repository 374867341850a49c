"""Replicas on one PostgreSQL store: real ``prophub run`` processes sharing the job queue.

At most one run of a (tenant, flow) at any moment, the work shared between replicas, and a
replica killed mid-run has its run taken over by another with nothing duplicated at the
target. The sandboxes answer slowly enough that a run is under way for a while.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.demo import demo_config, first_region, running_sandboxes
from connectors.propertybase import PropertybaseSandbox
from hub.app import Hub
from hub.config import HubConfig
from hub.sandbox.server import SandboxServer
from hub.state import StateStore
from hub.tenants import SecretBox
from tests.e2e.test_daemon import free_port, output_of, wait_for, write_toml
from tests.postgres import fresh_database

LOCATIONS = ("hoa-associations-to-warranty", "crm-developments-to-warranty")
FEED = ("hoa-associations-to-warranty", "hoa-units-to-warranty", "hoa-owners-to-warranty")
LEADS = "warranty-homeowners-to-crm"


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with fresh_database() as url:
        yield url


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> str:
    key = SecretBox.new_key()
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", key)
    return key


async def pg_config(boxes: dict[str, SandboxServer], url: str, flows: tuple[str, ...]) -> HubConfig:
    """The demo config on a PostgreSQL store, with only ``flows``."""
    config = demo_config(boxes, url, await first_region(boxes))
    chosen = [f for f in config.flows if f.name in flows]
    return config.model_copy(update={"flows": chosen})


def start_replica(
    config: HubConfig, folder: Path, name: str, **daemon: Any
) -> subprocess.Popen[bytes]:
    """A ``prophub run`` process on the config, its daemon settings changed by ``daemon``."""
    path = folder / f"{name}.toml"
    listen = f"127.0.0.1:{free_port()}"
    write_toml(config, path, listen)
    extra = "".join(f"{key} = {value}\n" for key, value in daemon.items())
    path.write_text(
        path.read_text().replace(f'listen = "{listen}"\n', f'listen = "{listen}"\n{extra}')
    )
    runs = config.tenants.max_runs
    path.write_text(path.read_text() + f"\n[tenants]\nmax_runs = {runs}\n")
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "run", "--config", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def all_runs(conn: sa.Connection) -> list[Any]:
    statement = sa.text("SELECT flow, status, owner, started_at, finished_at FROM runs ORDER BY id")
    return list(conn.execute(statement))


async def stop(*procs: subprocess.Popen[bytes]) -> list[str]:
    """SIGTERM each replica, wait for it, and give back what it printed."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return [output_of(proc) for proc in procs]


def overlapping(runs: list[Any]) -> list[tuple[str, Any, Any]]:
    """Runs of one flow whose times overlap."""
    found = []
    by_flow: dict[str, list[Any]] = {}
    for run in runs:
        by_flow.setdefault(run.flow, []).append(run)
    for flow, some in by_flow.items():
        some.sort(key=lambda r: r.started_at)
        for a, b in itertools.pairwise(some):
            if a.finished_at is None or b.started_at < a.finished_at:
                found.append((flow, a, b))
    return found


async def test_replicas_share_the_runs_and_never_run_one_tenant_flow_at_once(
    database: str, tmp_path: Path, keys: str
) -> None:
    async with (
        running_sandboxes(seed=3, sizes={"hoa": 30, "crm": 12}) as boxes,
        running_sandboxes(seed=3, sizes={"hoa": 30, "crm": 12}) as acme,
    ):
        for box in [*boxes.values(), *acme.values()]:
            box.options.latency_ms = 150
        config = await pg_config(boxes, database, LOCATIONS)
        config = config.model_copy(
            update={"tenants": config.tenants.model_copy(update={"max_runs": 1})}
        )
        async with Hub.from_config(config) as hub:
            tables = {n: b.connector_table() for n, b in acme.items()}
            await hub.tenants.add(
                {
                    "name": "acme",
                    "connectors": {
                        n: {k: v for k, v in t.items() if k != "type"} for n, t in tables.items()
                    },
                }
            )
        wanted = {f"{prefix}{flow}" for flow in LOCATIONS for prefix in ("", "acme/")}
        replicas = [start_replica(config, tmp_path, f"r{i}") for i in range(2)]
        try:
            async with StateStore.open(database) as store:

                async def all_done() -> bool:
                    runs = await store.run(all_runs)
                    return wanted <= {r.flow for r in runs if r.status == "ok"}

                await wait_for(all_done, 60)
                runs = await store.run(all_runs)
        finally:
            outputs = await stop(*replicas)
    assert all(proc.returncode == 0 for proc in replicas), outputs
    assert overlapping(runs) == [], runs
    assert {r.status for r in runs} == {"ok"}, runs
    # Each replica took runs (one at a time each, so neither could take them all at once).
    assert len({r.owner for r in runs}) == 2, (runs, outputs)


async def test_a_replica_killed_mid_run_is_taken_over_with_nothing_duplicated(
    database: str, tmp_path: Path
) -> None:
    async with running_sandboxes(seed=5, sizes={"hoa": 40, "crm": 10}) as boxes:
        config = await pg_config(boxes, database, (*FEED, LEADS))
        async with Hub.from_config(config) as hub:
            for flow in FEED:
                assert (await hub.sync(flow)).failed == 0
        crm = boxes["crm"]
        assert isinstance(crm, PropertybaseSandbox)
        leads_before = len(crm.collections["leads"].page(0, 10_000)[0])
        crm.options.latency_ms = 300  # each lead's POST: the run lasts a few seconds
        only_leads = config.model_copy(
            update={"flows": [f for f in config.flows if f.name == LEADS]}
        )
        fast = {"heartbeat": 0.5, "stalled_after": 2}
        first = start_replica(only_leads, tmp_path, "first", **fast)
        second: subprocess.Popen[bytes] | None = None
        try:
            async with StateStore.open(database) as store:

                async def mid_run() -> bool:
                    running = [r for r in await store.run(all_runs) if r.status == "running"]
                    created = len(crm.collections["leads"].page(0, 10_000)[0]) - leads_before
                    return bool(running) and created > 0

                await wait_for(mid_run, 30)
                first.kill()
                await asyncio.to_thread(first.wait, 15)
                killed_at = time.monotonic()
                second = start_replica(only_leads, tmp_path, "second", **fast)

                async def taken_over() -> bool:
                    runs = await store.run(all_runs)
                    return any(r.status == "ok" and r.flow == LEADS for r in runs)

                await wait_for(taken_over, 60)
                takeover = time.monotonic() - killed_at
                runs = await store.run(all_runs)
        finally:
            outputs = await stop(*(p for p in (first, second) if p is not None))
        leads = [lead for lead in crm.collections["leads"].page(0, 10_000)[0]]
    emails = [lead["email"] for lead in leads[leads_before:]]
    assert takeover < 60, outputs
    assert len(emails) == len(set(emails)) == 40, (len(emails), len(set(emails)))
    assert [r.status for r in runs if r.flow == LEADS][-1] == "ok"
    assert overlapping([r for r in runs if r.status != "stale"]) == []
