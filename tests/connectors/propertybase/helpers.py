"""What the Propertybase tests share: an address, raw calls to the sandbox, a connector on it."""

from __future__ import annotations

from functools import partial
from typing import Any

import aiohttp

from connectors.propertybase import (
    PropertybaseConnector,
    PropertybaseSandbox,
    PropertybaseSettings,
)
from hub.client.retry import RetryPolicy
from tests.conftest import Sleeps

ADDRESS = {"line1": "1 Main St", "city": "Austin", "state": "TX", "postal_code": "78701"}


async def call(
    box: PropertybaseSandbox,
    method: str,
    path: str,
    key: str | None = None,
    content_type: str | None = "application/json",
    **kw: Any,
) -> tuple[int, dict[str, Any]]:
    """One raw request (the sandbox's key unless ``key``): its status and envelope."""
    headers = {"X-BL-API-Key": key or box.credentials["api_key"]}
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, box.base_url + path, headers=headers, **kw) as resp,
    ):
        return resp.status, await resp.json()


def connector(
    box: PropertybaseSandbox, sleeps: Sleeps | None = None, **overrides: Any
) -> PropertybaseConnector:
    """A connector on the sandbox, its settings overridden by ``overrides``."""
    settings = PropertybaseSettings.model_validate({**box.connector_table(), **overrides})
    return PropertybaseConnector(
        settings, name="crm", sleep=sleeps, retry=RetryPolicy(max_attempts=3)
    )


def seed_records(
    box: PropertybaseSandbox, resource: str, field: str, values: list[str]
) -> list[int]:
    """Records put straight into the sandbox (as another client might have made them)."""
    collection = box.collections[resource]
    made = []
    extra = {"first_name": "Decoy", "last_name": "X"} if resource == "leads" else {}

    def record(i: int, value: str) -> dict[str, Any]:
        return {"id": i, field: value, **extra}

    for value in values:
        made.append(collection.create(partial(record, value=value))["id"])
    return made


def count_records(box: PropertybaseSandbox, resource: str) -> int:
    """How many records of the resource the sandbox holds."""
    return sum(1 for _ in box.collections[resource].ids())


def snapshot(box: PropertybaseSandbox, resource: str, ids: list[int]) -> list[Any]:
    """The records and their updated-at, to show a write left them alone."""
    collection = box.collections[resource]
    return [(collection.get(i), collection.updated_at(i)) for i in ids]
