"""The benchmark's bare script makes the hub's requests: the same ones, same bodies."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from pydantic_core import to_json

from connectors.buildium import BuildiumConnector, BuildiumSandbox, BuildiumSettings
from hub.app import Hub
from hub.sandbox.options import SandboxOptions
from mappings.builder_backed import from_home
from mappings.buildium import to_association_unit

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _sandbox_units(size: int) -> list[dict[str, Any]]:
    async with BuildiumSandbox(SandboxOptions(size=size)) as box:
        settings = BuildiumSettings.model_validate(box.connector_table())
        async with BuildiumConnector(settings, name="hoa") as hoa:
            params = {"limit": size}
            response = await hoa.client.request("GET", "/v1/associations/units", params=params)
            units: list[dict[str, Any]] = response.json()
    return units


async def test_the_bare_script_sends_the_hubs_home_body(bench: ModuleType) -> None:
    units = await _sandbox_units(40)
    assert len(units) == 40
    # The sandbox serves no second address line; a unit with one must carry it too.
    with_line2 = {**units[0], "Address": {**units[0]["Address"], "AddressLine2": "Unit 4"}}
    for unit in [*units, with_line2]:
        hub = from_home(to_association_unit(unit), "Multi Family")
        assert to_json(bench.home_body(unit)) == to_json(hub), unit["Id"]


def _described(method: str, url: Any, kw: dict[str, Any]) -> str:
    """One request as it goes out: method, path, query and body (JSON, bytes or a form)."""
    body = kw.get("json")
    data = kw.get("data")
    if body is None and data is not None:
        raw = getattr(data, "_value", data)  # the hub hands aiohttp encoded bytes
        body = json.loads(raw) if isinstance(raw, bytes) else dict(raw)
    target = str(url).split("://", 1)[1].split("/", 1)[1]
    query = sorted((str(k), str(v)) for k, v in (kw.get("params") or {}).items())
    return json.dumps([method.upper(), target, query, body], sort_keys=True)


async def test_the_bare_script_makes_the_hubs_requests(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Request for request, the script does what the hub's first sync does over HTTP: the
    same token requests (one per scope), locations, pages and homes, with the same bodies."""
    sent: list[str] = []
    resyncing = False
    request = aiohttp.ClientSession._request
    sync = Hub.sync

    async def recorded(
        self: aiohttp.ClientSession, method: str, url: Any, **kw: Any
    ) -> aiohttp.ClientResponse:
        if not resyncing and "/_sandbox/" not in str(url):
            sent.append(_described(method, url, kw))
        return await request(self, method, url, **kw)

    async def first_sync_only(self: Hub, name: str, **kw: Any) -> Any:
        nonlocal resyncing
        resyncing = resyncing or kw.get("full", False)
        return await sync(self, name, **kw)

    monkeypatch.setattr(aiohttp.ClientSession, "_request", recorded)
    monkeypatch.setattr(Hub, "sync", first_sync_only)
    await bench.hub_sync(60)
    hub, sent, resyncing = Counter(sent), [], False
    await bench.bare_sync(60)
    bare = Counter(sent)
    assert sum(hub.values()) == 60 + 9  # 2 tokens, 2 locations, 3 hoods, 2 pages
    assert sum(1 for r in hub if '"scope"' in r) == 2
    assert hub == bare


async def test_the_dlt_peer_reads_every_unit_one_request_a_page(bench: ModuleType) -> None:
    """peer_dlt's side is configured fairly: every unit, pages of 1,000, and no empty page
    asked for past the ``X-Total-Count`` Buildium states."""
    pytest.importorskip("dlt")
    from latency import dlt_extract  # on the path once bench/run.py is loaded

    async with BuildiumSandbox(SandboxOptions(size=2_500)) as box:
        records, _ = await asyncio.to_thread(dlt_extract, box.base_url, dict(box.credentials), 1000)
        assert records == 2_500
        assert box.by_path == Counter({"GET /v1/associations/units": 3})


SCALE = Path(__file__).resolve().parent.parent / "bench" / "scale.py"


@pytest.fixture(scope="module")
def scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scale", SCALE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_scale_benchmark_finds_overlapping_runs_of_one_flow(scale: ModuleType) -> None:
    """Overlaps are per (tenant, flow); a long run overlaps every later one it spans; an
    unfinished run overlaps whatever starts after it; back-to-back runs do not overlap."""
    run = scale.Run
    runs = [
        run("a/f", "ok", "r1", 0.0, 10.0),
        run("a/f", "ok", "r2", 10.0, 12.0),  # starts as the first ends: fine
        run("b/f", "ok", "r1", 0.0, 10.0),
        run("b/f", "ok", "r2", 2.0, 3.0),  # inside the first
        run("b/f", "ok", "r3", 5.0, 6.0),  # still inside the first, not the second
        run("a/g", "running", "r1", 0.0, None),
        run("a/g", "ok", "r2", 50.0, 51.0),
        run("c/f", "ok", "r1", 0.0, 1.0),
    ]
    pairs = [(a.flow, a.owner, b.owner) for a, b in scale.overlapping_runs(runs)]
    assert pairs == [("b/f", "r1", "r2"), ("b/f", "r1", "r3"), ("a/g", "r1", "r2")]


def test_the_scale_benchmark_takes_nearest_rank_percentiles(scale: ModuleType) -> None:
    values = [float(v) for v in range(1, 101)]
    assert scale.percentile(values, 0.99) == 99.0
    assert scale.percentile(values, 0.5) == 50.0
    assert scale.percentile([3.0], 0.99) == 3.0
    assert scale.percentile([], 0.99) == 0.0


def test_the_scale_benchmark_counts_start_lags_from_each_jobs_deferral(
    scale: ModuleType,
) -> None:
    events = [
        (1, "deferred", 10.0),
        (1, "started", 12.5),
        (2, "deferred", 11.0),
        (2, "started", 11.0),
        (2, "retried", 30.0),
        (2, "started", 31.0),  # a retry's start is not the job's lateness
        (3, "deferred", 20.0),  # never started: waiting until the window's end
    ]
    assert sorted(scale.start_lags(events, until=50.0)) == [0.0, 2.5, 30.0]
