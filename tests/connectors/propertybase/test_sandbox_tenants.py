"""Propertybase GO's sandbox with several tenants: each API key its own data and rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.propertybase import PropertybaseSandbox
from hub.sandbox.options import SandboxOptions
from tests.connectors.propertybase.helpers import call, connector


@pytest.fixture
async def tenants() -> AsyncIterator[PropertybaseSandbox]:
    async with PropertybaseSandbox(SandboxOptions(size=10, tenants=3, rate_limit=4)) as box:
        yield box


def key(box: PropertybaseSandbox, tenant: int) -> str:
    return str(box.connector_table(tenant)["api_key"])


async def test_each_key_sees_its_own_data(tenants: PropertybaseSandbox) -> None:
    """The same lead ids with different people; an office one tenant makes only it sees."""
    names = []
    for i in range(3):
        status, body = await call(tenants, "GET", "/api/v2/leads/1", key=key(tenants, i))
        assert status == 200 and body["data"]["id"] == 1
        names.append((body["data"]["first_name"], body["data"]["last_name"]))
    assert len(set(names)) == 3
    status, body = await call(
        tenants, "POST", "/api/v2/offices", key=key(tenants, 2), json={"name": "Tenant 2 HQ"}
    )
    assert status == 201
    made = body["data"]["id"]
    assert (await call(tenants, "GET", f"/api/v2/offices/{made}", key=key(tenants, 2)))[0] == 200
    assert (await call(tenants, "GET", f"/api/v2/offices/{made}", key=key(tenants, 1)))[0] == 404


async def test_a_wrong_key_is_unauthorized(tenants: PropertybaseSandbox) -> None:
    """A key of no tenant meets the vendor's 401 envelope."""
    status, body = await call(tenants, "GET", "/api/v2/leads", key="pb-sandbox-key-t0003")
    assert (status, body["status"]) == (401, "unauthorized")


async def test_each_key_has_its_own_rate_limit(tenants: PropertybaseSandbox) -> None:
    """Tenant 1 spending its 4/s throttles tenant 2 not at all."""
    statuses = [
        (await call(tenants, "GET", "/api/v2/leads", key=key(tenants, 1)))[0] for _ in range(7)
    ]
    assert 429 in statuses
    statuses = [
        (await call(tenants, "GET", "/api/v2/leads", key=key(tenants, 2)))[0] for _ in range(4)
    ]
    assert statuses == [200] * 4


async def test_the_connector_reads_as_a_tenant(tenants: PropertybaseSandbox) -> None:
    """connector_table(tenant=i) gives a working connector on that tenant's account."""
    async with connector(tenants, **tenants.connector_table(2)) as conn:
        await conn.check()
    assert tenants.tallies[2].total >= 1 and tenants.tallies[0].total == 0
