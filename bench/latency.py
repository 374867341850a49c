"""Issue 25's figures: reads at a vendor's latency and rate limit (the hub, and dlt beside
it), requests per record written and re-read in the demo flows, and the CLI's start.

Each sandbox of a timed read runs in its own process (:class:`SandboxProcess`) with 500 ms
of latency per request and its rate limit, and the connector is told the same rate: a read
then lasts as long as the vendor's allowance makes it, and ``saturation`` is its records a
second over the allowance's (rate x page size). Counting figures (requests per record) use
the demo's in-process sandboxes, with no rate limit: they count, they do not time.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandboxes import SandboxProcess

from connectors.demo import demo_config, first_region, running_sandboxes
from hub import registry
from hub.app import Hub
from hub.connector import ReadFailure, SourceRecord

LATENCY_MS = 500
#: vendor -> (entity, collection, page size): the largest page each sandbox serves
READS = {
    "buildium": ("home", "association-units", 1000),
    "propertybase": ("person", "leads", 100),
}
CONCURRENCY = 8  # requests in flight a connector may have (max_concurrency and read_ahead)


@dataclass
class Read:
    """One timed read: what came back, what the sandbox saw, how long it took."""

    records: int
    failures: int
    requests: int
    throttled: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.records / self.seconds


def ceiling(vendor: str, size: int, rate: float) -> float:
    """The best saturation a read of ``size`` records can have: its first page is alone for
    one latency, the rest go at the rate, and the last one's latency ends the read."""
    page = READS[vendor][2]
    # Buildium states the total; Propertybase GO ends on a short (here: empty) page.
    pages = math.ceil(size / page) if vendor == "buildium" else size // page + 1
    latency = LATENCY_MS / 1000
    seconds = 2 * latency + max(0, pages - 2) / rate
    return round(size / seconds / (rate * page), 3)


def limited(vendor: str, size: int, rate: float) -> SandboxProcess:
    """A sandbox process of ``size`` records with the benchmark's latency and ``rate``."""
    options = ["--latency-ms", str(LATENCY_MS), "--rate-limit", str(rate)]
    return SandboxProcess(vendor, size, options)


async def hub_read(box: SandboxProcess, rate: float) -> Read:
    """Read the vendor's collection through its connector at ``rate`` requests a second
    (``prophub read``'s work: the records mapped, nothing written)."""
    entity, collection, page = READS[box.vendor]
    table = {
        **box.connector_table(),
        "rate_limit": rate,
        "page_size": page,
        "max_concurrency": CONCURRENCY,
        "read_ahead": CONCURRENCY,
    }
    plugin = registry.get(box.vendor)
    connector = plugin.connector(plugin.settings.model_validate(table), name=box.vendor)
    await box.reset()
    records = failures = 0
    started = time.perf_counter()
    async with connector:
        async for item in connector.read(entity, collections=[collection]):
            if isinstance(item, ReadFailure):
                failures += 1
            elif isinstance(item, SourceRecord):
                records += 1
    seconds = time.perf_counter() - started
    stats = await box.stats()
    return Read(records, failures, stats["total"], stats["throttled"], seconds)


# -- dlt, the peer ---------------------------------------------------------------------------


def dlt_extract(base_url: str, credentials: dict[str, str], page: int) -> tuple[int, float]:
    """Buildium's association units through dlt's ``rest_api`` source, extracted (to dlt's
    local files, as ``pipeline.run`` does before normalising): (records, seconds).

    Configured as dlt's REST API docs show it: the client's ``headers`` carry Buildium's two
    credential headers, the endpoint's ``offset`` paginator pages by ``offset``/``limit``,
    the body is the list itself (``data_selector: "$"``). dlt's ``total_path`` reads a total
    from the body only, and Buildium states it in ``X-Total-Count``: the paginator is a
    documented ``OffsetPaginator`` subclass that stops there (else it would ask for one
    empty page more). dlt asks for one page after another; nothing limits its rate.
    """
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    from dlt.sources.helpers.rest_client.paginators import OffsetPaginator
    from dlt.sources.rest_api import rest_api_source

    class TotalCountPaginator(OffsetPaginator):  # type: ignore[misc]
        """dlt's offset paginator, ending at the ``X-Total-Count`` the vendor states."""

        def update_state(self, response: Any, data: Any = None) -> None:
            super().update_state(response, data)
            total = response.headers.get("X-Total-Count")
            if total is not None and self.current_value >= int(total):
                self._has_next_page = False

    paginator = TotalCountPaginator(
        limit=page, offset_param="offset", limit_param="limit", total_path=None
    )
    source = rest_api_source(
        {
            "client": {
                "base_url": base_url + "/v1/",
                "headers": {
                    "x-buildium-client-id": credentials["client_id"],
                    "x-buildium-client-secret": credentials["client_secret"],
                },
            },
            "resources": [
                {
                    "name": "association_units",
                    "endpoint": {
                        "path": "associations/units",
                        "params": {"orderby": "id"},
                        "data_selector": "$",
                        "paginator": paginator,
                    },
                }
            ],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = dlt.pipeline(pipeline_name="bench_peer", pipelines_dir=tmp)
        started = time.perf_counter()
        info = pipeline.extract(source)
        seconds = time.perf_counter() - started
    records = sum(
        metrics["resource_metrics"]["association_units"].items_count
        for package in info.metrics.values()
        for metrics in package
        if "association_units" in metrics["resource_metrics"]
    )
    return records, seconds


async def dlt_read(box: SandboxProcess) -> Read:
    """:func:`dlt_extract` against ``box``, in a thread (dlt is synchronous)."""
    await box.reset()
    records, seconds = await asyncio.to_thread(
        dlt_extract, box.base_url, box.credentials, READS["buildium"][2]
    )
    stats = await box.stats()
    return Read(records, 0, stats["total"], stats["throttled"], seconds)


def _read_json(read: Read, target: float) -> dict[str, Any]:
    return {
        "records": read.records,
        "records_per_second": round(read.per_second, 1),
        "saturation": round(read.per_second / target, 3),
        "seconds": round(read.seconds, 2),
        "requests": read.requests,
        "throttled": read.throttled,
        "failures": read.failures,
    }


async def reads(sizes: dict[str, Any]) -> dict[str, Any]:
    """The latency figures: the hub and dlt in turns at 5 requests a second, then the hub at
    10, then the hub on Propertybase GO."""
    units, rate = sizes["latency_units"], 5
    page = READS["buildium"][2]
    hubs: list[Read] = []
    peers: list[Read] = []
    async with limited("buildium", units, rate) as box:
        for _ in range(sizes["latency_pairs"]):
            hubs.append(await hub_read(box, rate))
            peers.append(await dlt_read(box))
    async with limited("buildium", units, 2 * rate) as box:
        fast = await hub_read(box, 2 * rate)
    leads = sizes["latency_leads"]
    async with limited("propertybase", leads, rate) as box:
        crm = await hub_read(box, rate)
    hub_rps = statistics.median(h.per_second for h in hubs)
    dlt_rps = statistics.median(p.per_second for p in peers)
    pb_target = rate * READS["propertybase"][2]
    complete = all(r.records == units and r.failures == 0 for r in [*hubs, *peers, fast])
    return {
        "latency_saturation": round(hub_rps / (rate * page), 3),
        "latency_throttled": sum(h.throttled for h in hubs) + crm.throttled,
        "latency_saturation_10": round(fast.per_second / (2 * rate * page), 3),
        "latency_saturation_pb": round(crm.per_second / pb_target, 3),
        "peer_dlt": round(hub_rps / dlt_rps, 2),
        "latency_complete": complete and crm.records == leads and crm.failures == 0,
        "latency_runs": {
            "hub": [_read_json(h, rate * page) for h in hubs],
            "dlt": [_read_json(p, rate * page) for p in peers],
            "hub_10": _read_json(fast, 2 * rate * page),
            "hub_pb": _read_json(crm, pb_target),
            "ceilings": {
                "buildium_5": ceiling("buildium", units, rate),
                "buildium_10": ceiling("buildium", units, 2 * rate),
                "propertybase_5": ceiling("propertybase", leads, rate),
            },
        },
    }


# -- requests per record ---------------------------------------------------------------------


async def demo_requests(homes: int) -> dict[str, Any]:
    """Every demo flow's first sync, then the same twice more over unchanged data (as the
    demo runs it, incrementally, and then a full re-read), at ``homes`` association units,
    counting the requests each sandbox answered during each sync (tokens, pages and look-ups
    included). Propertybase GO keeps the demo's 60 leads: its sandbox compares each created
    lead's email with every lead it holds, so a large one makes the run slow, not different.

    The demo's config as ``prophub demo`` writes it, but with no rate limit (the sandboxes
    impose none): the figure counts requests, and the demo's 100 a second would only make
    it slow."""
    per_flow: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with running_sandboxes(sizes={"hoa": homes}) as boxes:
            config = demo_config(boxes, f"sqlite:///{tmp}/state.db", await first_region(boxes))
            for name, settings in list(config.connectors.items()):
                config.connectors[name] = settings.model_copy(update={"rate_limit": 0})

            def answered() -> dict[str, int]:
                return {name: sum(box.by_status.values()) for name, box in boxes.items()}

            async with Hub.from_config(config) as hub:
                for run in ("first", "incremental", "full"):
                    for flow in config.flows:
                        before = answered()
                        report = await hub.sync(flow.name, full=run == "full")
                        after = answered()
                        sent = {name: after[name] - before[name] for name in boxes}
                        per_flow.setdefault(flow.name, {})[run] = {
                            "read": report.read,
                            "written": report.created + report.updated,
                            "failed": report.failed,
                            "target_requests": sent[flow.target],
                            "source_requests": sent[flow.source],
                            "requests": sum(sent.values()),
                        }
    first = [f["first"] for f in per_flow.values()]
    full = [f["full"] for f in per_flow.values()]
    written = sum(f["written"] for f in first)
    return {
        "requests_per_write": round(sum(f["target_requests"] for f in first) / written, 3),
        "requests_per_write_by_flow": {
            name: round(f["first"]["target_requests"] / max(1, f["first"]["written"]), 3)
            for name, f in per_flow.items()
        },
        "resync_requests_per_record": round(
            sum(f["requests"] for f in full) / max(1, sum(f["read"] for f in full)), 4
        ),
        "resync_requests_per_record_by_flow": {
            name: round(f["full"]["requests"] / max(1, f["full"]["read"]), 4)
            for name, f in per_flow.items()
        },
        "resync_writes_demo": sum(
            f[run]["written"] for f in per_flow.values() for run in ("incremental", "full")
        ),
        "demo_flows": per_flow,
    }


# -- the command line ------------------------------------------------------------------------


def cli_start(runs: int) -> dict[str, Any]:
    """Seconds ``prophub --help`` takes, as a user starts it, over ``runs`` runs."""
    prophub = Path(sys.executable).with_name("prophub")
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([prophub, "--help"], capture_output=True, check=True)
        seconds.append(time.perf_counter() - started)
    return {
        "cli_start_seconds": round(statistics.median(seconds), 3),
        "cli_start_runs": [round(s, 3) for s in seconds],
    }


async def measure_issue25(sizes: dict[str, Any]) -> dict[str, Any]:
    """Every figure of this module."""
    results = cli_start(sizes["cli_runs"])
    results.update(await demo_requests(sizes["demo_homes"]))
    results.update(await reads(sizes))
    return results


def describe(results: dict[str, Any]) -> list[str]:
    """The results page's paragraphs on this module's figures."""
    runs, sizes = results["latency_runs"], results["sizes"]
    flows = results["demo_flows"]
    by_flow = ", ".join(
        f"{name} {ratio} ({flows[name]['first']['target_requests']} requests, "
        f"{flows[name]['first']['written']} written)"
        for name, ratio in results["requests_per_write_by_flow"].items()
    )
    resync = ", ".join(
        f"{name} {results['resync_requests_per_record_by_flow'][name]} "
        f"({f['full']['requests']} requests, {f['full']['read']} read)"
        for name, f in flows.items()
    )
    incremental = sum(f["incremental"]["requests"] for f in flows.values())
    return [
        f"Reads at a vendor's pace: each sandbox in its own process with {sizes['latency_ms']} "
        f"ms of latency a request and a rate limit the connector is told too (page size, "
        f"max_concurrency and read_ahead {CONCURRENCY}); saturation is records/s over rate x "
        "page size. latency_saturation: the hub reading "
        f"{sizes['latency_read_units']:,} Buildium association units (pages of 1,000, 5 "
        "requests/s), the median of its runs; latency_saturation_10 the same at 10 "
        f"requests/s; latency_saturation_pb {sizes['latency_read_leads']:,} Propertybase GO "
        "leads (pages of 100, its largest, 5 requests/s: the vendor documents no limit). "
        "The best a read can do, its first page alone for one latency and the last one's "
        f"latency ending it: `{json.dumps(runs['ceilings'])}`. Hub runs: "
        f"`{json.dumps(runs['hub'])}`; at 10/s `{json.dumps(runs['hub_10'])}`; Propertybase "
        f"GO `{json.dumps(runs['hub_pb'])}`.",
        "",
        "peer_dlt: the same read, same sandbox, taking turns with the hub (hub, dlt, ...), "
        "through dlt's `rest_api` source: the client's `headers` carry Buildium's two "
        "credential headers, an `offset` paginator (offset/limit, 1,000 a page) ends at "
        "`X-Total-Count`, `pipeline.extract` writes the items to dlt's local files. dlt asks "
        "for one page after another, so each page costs a whole latency; the hub asks for "
        "the pages after the first together, as many as its rate allows. dlt runs: "
        f"`{json.dumps(runs['dlt'])}`; the figure is the hub's median records/s over dlt's.",
        "",
        f"requests_per_write: every demo flow's first sync at {sizes['demo_homes']:,} "
        "Buildium association units (Propertybase GO at the demo's 60 leads), no rate "
        "limit; the requests the flow's target sandbox answered (tokens, look-ups, pages "
        "of candidates, writes) over the records written (created or updated; the flow's "
        f"configured parent locations are written but not counted). By flow: {by_flow}. "
        "resync_requests_per_record: a full re-sync of the same flows over unchanged data "
        "(`--full`: every record read again, none written), requests to every sandbox over "
        f"records read; by flow: {resync}. Before it the demo's own second pass (incremental, each "
        f"flow asking only for what changed since its last run) sent {incremental} requests "
        "in all. Writes in the two passes after the first (the target's: 0): "
        f"{results['resync_writes_demo']}.",
        "",
        f"cli_start_seconds: the median of `prophub --help` runs: "
        f"`{json.dumps(results['cli_start_runs'])}`.",
        "",
    ]
