"""Buildium's sandbox with several tenants: each client id its own data and rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from connectors.buildium import BuildiumSandbox
from hub.sandbox.options import SandboxOptions


@pytest.fixture
async def tenants() -> AsyncIterator[BuildiumSandbox]:
    async with BuildiumSandbox(SandboxOptions(size=10, tenants=3, rate_limit=4)) as box:
        yield box


async def get(box: BuildiumSandbox, path: str, tenant: int | None) -> tuple[int, Any]:
    """A GET with tenant ``tenant``'s headers (None: credentials of nobody)."""
    table = box.connector_table(tenant or 0)
    if tenant is None:
        table = {"client_id": "buildium-sandbox-client-t0007", "client_secret": "x"}
    headers = {
        "x-buildium-client-id": table["client_id"],
        "x-buildium-client-secret": table["client_secret"],
    }
    async with (
        aiohttp.ClientSession() as session,
        session.get(box.base_url + path, headers=headers) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def test_each_client_id_sees_its_own_data(tenants: BuildiumSandbox) -> None:
    """The same owner ids with different people."""
    people = []
    for i in range(3):
        status, owners = await get(tenants, "/v1/associations/owners?limit=3", i)
        assert status == 200 and len(owners) == 3
        people.append(tuple((o["Id"], o["FirstName"], o["LastName"]) for o in owners))
    assert len({tuple(p[0] for p in ps) for ps in people}) == 1  # ids overlap
    assert len(set(people)) == 3  # contents differ


async def test_wrong_credentials_are_unauthorized(tenants: BuildiumSandbox) -> None:
    """Credentials of no tenant, or a tenant's id with another's secret, are 401."""
    assert (await get(tenants, "/v1/associations", None))[0] == 401
    headers = {
        "x-buildium-client-id": tenants.tenant_credentials(1)["client_id"],
        "x-buildium-client-secret": tenants.tenant_credentials(2)["client_secret"],
    }
    async with (
        aiohttp.ClientSession() as session,
        session.get(tenants.base_url + "/v1/associations", headers=headers) as resp,
    ):
        assert resp.status == 401


async def test_each_client_id_has_its_own_rate_limit(tenants: BuildiumSandbox) -> None:
    """Tenant 0 spending its 4/s throttles tenant 1 not at all."""
    statuses = [(await get(tenants, "/v1/associations", 0))[0] for _ in range(7)]
    assert 429 in statuses
    assert [(await get(tenants, "/v1/associations", 1))[0] for _ in range(4)] == [200] * 4
