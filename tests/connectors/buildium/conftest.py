"""Buildium fixtures: a recording sandbox and a raw HTTP client signed in to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from hub.sandbox.options import SandboxOptions
from tests.connectors.conftest import RecordingBuildium


@pytest.fixture
async def box() -> AsyncIterator[RecordingBuildium]:
    """A small recording Buildium sandbox."""
    async with RecordingBuildium(SandboxOptions(size=45, seed=5)) as running:
        yield running


@pytest.fixture
async def api(box: RecordingBuildium) -> AsyncIterator[aiohttp.ClientSession]:
    """A raw client with the sandbox's credentials."""
    headers = {
        "x-buildium-client-id": box.credentials["client_id"],
        "x-buildium-client-secret": box.credentials["client_secret"],
    }
    async with aiohttp.ClientSession(base_url=box.base_url, headers=headers) as session:
        yield session
