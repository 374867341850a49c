"""Crashes: the daemon SIGKILLed at random points, five times, loses and doubles nothing."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.app import Hub
from hub.config import HubConfig
from hub.sandbox.server import SandboxServer
from tests.e2e.test_daemon import free_port, write_toml


def stored(box: SandboxServer, collection: str) -> list[dict[str, Any]]:
    col = box.collections[collection]
    return col.page(0, col.count())[0]


@pytest.mark.timeout(180)
async def test_five_sigkills_then_a_restart_end_exactly_right(
    boxes: dict[str, SandboxServer], config: HubConfig, tmp_path: Path
) -> None:
    """Each kill lands mid-sync; after a clean run the targets hold each record exactly once."""
    for box in boxes.values():
        box.options.latency_ms = 15  # so the kills land while writes are in flight
    path = tmp_path / "prophub.toml"
    write_toml(config, path, f"127.0.0.1:{free_port()}")
    rng = random.Random(20261124)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for _ in range(5):
        proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; waited for off the loop
            [sys.executable, "-m", "hub", "run", "--config", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        await asyncio.sleep(rng.uniform(1.0, 3.0))
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 10)
    async with Hub(config) as hub:
        reports = await hub.sync_all()
        letters = await hub.store.dead_letters()
    assert letters == [] and all(r.failed == 0 for r in reports)
    warranty, crm = boxes["warranty"], boxes["crm"]
    homes = stored(warranty, "homes")
    assert sorted(h["externalId"] for h in homes) == sorted(
        f"buildium:association-unit:{i}" for i in range(1, 41)
    )
    owners = [o["email"] for h in homes for o in h["homeowners"]]
    assert len(owners) == len(set(owners)) == 40
    assert len(stored(warranty, "neighborhoods")) == 2
    assert len(stored(warranty, "master-communities")) == 2  # the demo one and the CRM's
    leads = [lead["email"] for lead in stored(crm, "leads")]
    assert len(leads) == len(set(leads)) == 20 + 40
