"""Faults: a sync through sandboxes that fail like real services ends exactly right."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors.demo import demo_config, first_region, running_sandboxes
from hub.app import Hub
from hub.config import HubConfig
from hub.sandbox.options import FaultSettings
from hub.sandbox.server import SandboxServer

UNITS = 2000


def stored(box: SandboxServer, collection: str) -> list[dict[str, Any]]:
    col = box.collections[collection]
    return col.page(0, col.count())[0]


@pytest.fixture
async def faulty(tmp_path: Path) -> AsyncIterator[tuple[dict[str, SandboxServer], HubConfig]]:
    """The demo's sandboxes with 10% 5xx, 5% 429, 2% dropped connections, 1% stalls."""
    async with running_sandboxes(seed=11, sizes={"hoa": UNITS, "crm": 10}) as boxes:
        region = await first_region(boxes)
        config = demo_config(boxes, f"sqlite:///{tmp_path / 'state.db'}", region)
        for box in boxes.values():
            box.faults.__dict__.update(
                vars(
                    FaultSettings(
                        error_rate=0.10,
                        throttle_rate=0.05,
                        drop_rate=0.02,
                        stall_rate=0.01,
                        stall_seconds=2.0,
                        retry_after=0,
                    )
                )
            )
        for settings in config.connectors.values():
            # fast backoff and a short timeout keep the suite quick; the logic is the same
            settings.timeout = 0.5
            settings.retry_base = 0.01
            settings.retry_cap = 0.05
            settings.max_retries = 12
            settings.rate_limit = 2000
            settings.max_concurrency = 16
        for flow in config.flows:
            flow.concurrency = 16
        yield boxes, config


@pytest.mark.timeout(240)
async def test_faulty_sync_writes_exactly_the_expected_records(
    faulty: tuple[dict[str, SandboxServer], HubConfig],
) -> None:
    """Thousands of homes through injected faults: none missing, none doubled, no DLQ."""
    boxes, config = faulty

    async with Hub(config) as hub:
        reports = await hub.sync_all()
        letters = await hub.store.dead_letters()
    assert letters == [], letters[:3]
    assert all(r.failed == 0 for r in reports)
    injected = sum(
        box.by_status.get(code, 0) for box in boxes.values() for code in (429, 500, 502, 503, 504)
    )
    assert injected > 100  # the faults really happened
    warranty, crm = boxes["warranty"], boxes["crm"]
    homes = stored(warranty, "homes")
    assert len(homes) == UNITS
    assert len({h["externalId"] for h in homes}) == UNITS
    expected = {f"buildium:association-unit:{i}" for i in range(1, UNITS + 1)}
    assert {h["externalId"] for h in homes} == expected
    owners = [o["email"] for h in homes for o in h["homeowners"]]
    assert len(owners) == len(set(owners)) == UNITS
    hoods = stored(warranty, "neighborhoods")
    assert len(hoods) == UNITS // 20
    leads = [lead["email"] for lead in stored(crm, "leads")]
    assert len(leads) == len(set(leads)) == 10 + UNITS
