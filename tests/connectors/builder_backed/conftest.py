"""Builder Backed fixtures: a running sandbox and a raw HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from connectors.builder_backed import BuilderBackedSandbox
from hub.sandbox.options import SandboxOptions


@pytest.fixture
async def box() -> AsyncIterator[BuilderBackedSandbox]:
    """A Builder Backed account with 30 homes in their location chain."""
    async with BuilderBackedSandbox(SandboxOptions(size=30, seed=3)) as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A raw HTTP client."""
    async with aiohttp.ClientSession() as client:
        yield client
