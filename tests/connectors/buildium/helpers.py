"""What the Buildium tests share: an address message, raw calls, a connector on the sandbox."""

from __future__ import annotations

from typing import Any

import aiohttp

from connectors.buildium import BuildiumConnector, BuildiumSandbox, BuildiumSettings
from hub.client.retry import RetryPolicy
from tests.conftest import Sleeps

ADDRESS = {
    "AddressLine1": "1 Main St",
    "City": "Austin",
    "State": "TX",
    "PostalCode": "78701",
    "Country": "UnitedStates",
}


async def call(
    api: aiohttp.ClientSession, method: str, path: str, **kw: Any
) -> tuple[int, Any, Any]:
    """One raw request: its status, JSON body (None for none) and headers."""
    async with api.request(method, path, **kw) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


def connector(
    box: BuildiumSandbox, sleeps: Sleeps | None = None, **overrides: Any
) -> BuildiumConnector:
    """A connector on the sandbox, its settings overridden by ``overrides``."""
    settings = BuildiumSettings.model_validate({**box.connector_table(), **overrides})
    return BuildiumConnector(settings, name="hoa", sleep=sleeps, retry=RetryPolicy(max_attempts=3))
