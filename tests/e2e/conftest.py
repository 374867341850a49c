"""End-to-end fixtures: the demo's three sandboxes running in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectors.demo import demo_config, first_region, running_sandboxes
from hub.config import HubConfig
from hub.sandbox.server import SandboxServer


@pytest.fixture
async def boxes() -> AsyncIterator[dict[str, SandboxServer]]:
    """The Buildium, Builder Backed and Propertybase GO sandboxes of the demo."""
    async with running_sandboxes(seed=7, sizes={"hoa": 40, "crm": 20}) as running:
        yield running


@pytest.fixture
async def config(boxes: dict[str, SandboxServer], tmp_path: Path) -> HubConfig:
    """The demo config against the running sandboxes, with state in a temporary directory."""
    region = await first_region(boxes)
    return demo_config(boxes, f"sqlite:///{tmp_path / 'state.db'}", region)
