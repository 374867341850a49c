"""Builder Backed's sandbox with several tenants: each OAuth2 client its own tokens, data and
rate limit."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from connectors.builder_backed import BuilderBackedSandbox
from hub.sandbox.options import SandboxOptions
from tests.connectors.builder_backed.helpers import connector


@pytest.fixture
async def tenants() -> AsyncIterator[BuilderBackedSandbox]:
    async with BuilderBackedSandbox(SandboxOptions(size=10, tenants=3, rate_limit=5)) as box:
        yield box


async def token(box: BuilderBackedSandbox, tenant: int, basic: bool = False) -> str:
    """A bearer token of tenant ``tenant`` (credentials in the form, or HTTP Basic)."""
    table = box.connector_table(tenant)
    form = {"grant_type": "client_credentials"}
    headers = {}
    if basic:
        pair = f"{table['client_id']}:{table['client_secret']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    else:
        form |= {"client_id": table["client_id"], "client_secret": table["client_secret"]}
    async with (
        aiohttp.ClientSession() as session,
        session.post(table["token_url"], data=form, headers=headers) as resp,
    ):
        assert resp.status == 200
        return str((await resp.json())["access_token"])


async def get(box: BuilderBackedSandbox, path: str, bearer: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(box.base_url + path, headers={"Authorization": f"Bearer {bearer}"}) as resp,
    ):
        return resp.status, await resp.json()


async def test_each_client_sees_its_own_data(tenants: BuilderBackedSandbox) -> None:
    """Each tenant's token reads its own homes: the same external ids, other addresses."""
    homes = []
    for i in range(3):
        status, page = await get(
            tenants, "/api/v2/homes?pageSize=3", await token(tenants, i, i == 1)
        )
        assert status == 200 and len(page["content"]) == 3
        homes.append(tuple((h["externalId"], h["addressLine1"]) for h in page["content"]))
    assert len({tuple(h[0] for h in hs) for hs in homes}) == 1
    assert len(set(homes)) == 3


async def test_wrong_credentials_and_tokens_are_refused(tenants: BuilderBackedSandbox) -> None:
    """A client of no tenant gets no token; a made-up token is 401."""
    form = {
        "grant_type": "client_credentials",
        "client_id": "bb-sandbox-client-t0009",
        "client_secret": "bb-sandbox-secret-t0009",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(tenants.base_url + "/oauth2/token", data=form) as resp,
    ):
        assert resp.status == 401
    assert (await get(tenants, "/api/v2/homes", "eyJhbGciOiJSUzI1NiIs.made-up"))[0] == 401


async def test_each_client_has_its_own_rate_limit(tenants: BuilderBackedSandbox) -> None:
    """Tenant 2 spending its 5/s throttles tenant 0 not at all."""
    busy, calm = await token(tenants, 2), await token(tenants, 0)
    statuses = [(await get(tenants, "/api/v2/homes", busy))[0] for _ in range(7)]
    assert 429 in statuses
    assert [(await get(tenants, "/api/v2/homes", calm))[0] for _ in range(4)] == [200] * 4


async def test_the_connector_reads_as_a_tenant(tenants: BuilderBackedSandbox) -> None:
    """connector_table(tenant=i) gives a working connector, token and all, on that account."""
    async with connector(tenants, **tenants.connector_table(1)) as conn:
        await conn.check()
    assert tenants.tallies[1].total >= 2 and tenants.tallies[0].total == 0
