"""``prophub demo``: the whole hub on embedded defaults, against the built-in sandboxes.

Starts the Buildium, Builder Backed and Propertybase GO sandboxes in-process on free loopback
ports, writes a config and a SQLite state store into a temporary directory, runs the demo flows
twice and reports what each pass did: the second pass writes nothing. It lives with the
connectors, not in ``hub``, because it names the three vendors; ``prophub demo`` imports it
when run.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub import registry
from hub.app import Hub
from hub.config import HubConfig, parse_config
from hub.connector import SourceRecord
from hub.sandbox.options import SandboxOptions
from hub.sandbox.server import SandboxServer
from hub.sync import FlowReport

__all__ = [
    "DEMO_DIVISION",
    "DEMO_MASTER_COMMUNITY",
    "DemoResult",
    "demo_config",
    "first_region",
    "run_demo",
    "running_sandboxes",
]

DEMO_DIVISION = "demo-division"
DEMO_MASTER_COMMUNITY = "demo-master-community"

#: connector name in the demo config -> (plugin, sandbox size)
SANDBOXES: dict[str, tuple[str, int]] = {
    "hoa": ("buildium", 60),
    "warranty": ("builder_backed", 0),
    "crm": ("propertybase", 60),
}


@dataclass
class DemoResult:
    """Each pass's per-flow reports, and where the state was kept."""

    passes: list[list[FlowReport]]
    state_url: str


def _flows(region: str) -> list[dict[str, Any]]:
    division = {
        "key": DEMO_DIVISION,
        "kind": "division",
        "name": "Demo Division",
        "parent_name": region,
    }
    community = {
        "key": DEMO_MASTER_COMMUNITY,
        "kind": "master_community",
        "name": "Demo Master Community",
        "parent_key": DEMO_DIVISION,
    }

    def flow(name: str, source: str, target: str, entity: str, **options: Any) -> dict[str, Any]:
        return {
            "name": name,
            "source": source,
            "target": target,
            "entity": entity,
            "mode": "incremental",
            "every": "15m",
            "options": options,
        }

    return [
        flow(
            "hoa-associations-to-warranty",
            "hoa",
            "warranty",
            "location",
            collections=["associations"],
            locations=[division, community],
            defaults={"parent_key": DEMO_MASTER_COMMUNITY},
        ),
        flow(
            "crm-developments-to-warranty",
            "crm",
            "warranty",
            "location",
            collections=["developments"],
            locations=[division],
            defaults={"parent_key": DEMO_DIVISION},
        ),
        flow(
            "hoa-units-to-warranty",
            "hoa",
            "warranty",
            "home",
            collections=["association-units"],
        ),
        flow(
            "hoa-owners-to-warranty",
            "hoa",
            "warranty",
            "person",
            collections=["association-owners"],
        ),
        flow(
            "warranty-homeowners-to-crm",
            "warranty",
            "crm",
            "person",
            collections=["homeowners"],
        ),
    ]


def demo_config(
    sandboxes: dict[str, SandboxServer], state_url: str, region: str, listen: str = "127.0.0.1:0"
) -> HubConfig:
    """The demo's config: one connector per running sandbox and the demo flows."""
    connectors = {name: box.connector_table() for name, box in sandboxes.items()}
    # Buildium association units are condos and townhomes; Builder Backed holds only single
    # and multi family homes, so the demo says how to file them (see the README).
    connectors["warranty"]["home_type_fallback"] = "Multi Family"
    for table in connectors.values():
        # the local sandboxes impose no rate limit; the real vendors keep their defaults
        table.update(rate_limit=100, max_concurrency=8)
    data = {
        "state": {"url": state_url},
        "daemon": {"listen": listen},
        "connectors": connectors,
        "flows": _flows(region),
    }
    return parse_config(data, source="<demo>")


@contextlib.asynccontextmanager
async def running_sandboxes(
    seed: int = 42, sizes: dict[str, int] | None = None
) -> AsyncIterator[dict[str, SandboxServer]]:
    """Start the demo's three sandboxes on free loopback ports."""
    async with AsyncExitStack() as stack:
        boxes: dict[str, SandboxServer] = {}
        for name, (plugin_name, size) in SANDBOXES.items():
            plugin = registry.get(plugin_name)
            assert plugin.sandbox is not None, f"{plugin_name} ships no sandbox"
            options = SandboxOptions(seed=seed, size=(sizes or {}).get(name, size))
            box = plugin.sandbox(options, dict(plugin.sandbox_credentials))
            boxes[name] = await stack.enter_async_context(box)
        yield boxes


async def run_demo(
    *,
    workdir: Path | None = None,
    passes: int = 2,
    seed: int = 42,
    on_report: Callable[[int, FlowReport], None] | None = None,
) -> DemoResult:
    """Run the demo flows ``passes`` times against fresh sandboxes; return every report."""
    with contextlib.ExitStack() as cleanup:
        if workdir is None:
            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="prophub-")))
        state_url = f"sqlite:///{workdir / 'prophub-state.db'}"
        async with running_sandboxes(seed) as boxes:
            region = await first_region(boxes)
            config = demo_config(boxes, state_url, region)
            results: list[list[FlowReport]] = []
            async with Hub.from_config(config) as hub:
                for number in range(1, passes + 1):
                    reports = []
                    for flow in config.flows:
                        report = await hub.sync(flow.name)
                        reports.append(report)
                        if on_report is not None:
                            on_report(number, report)
                    results.append(reports)
        return DemoResult(results, state_url)


async def first_region(boxes: dict[str, SandboxServer]) -> str:
    """The name of the first region activated in the Builder Backed sandbox."""
    table = boxes["warranty"].connector_table()
    plugin = registry.get(table["type"])
    connector = plugin.connector(plugin.settings.model_validate(table), name="warranty")
    async with connector:
        async for item in connector.read("location", collections=["regions"]):
            if isinstance(item, SourceRecord):
                return str(getattr(item.record, "name", ""))
    raise RuntimeError("the Builder Backed sandbox has no activated region")
