"""A sandbox serving several tenants: credentials route each request to its own data, its own
rate limit and its own counts; a single-tenant sandbox is as before."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hub.sandbox.collection import Collection
from hub.sandbox.options import SandboxOptions
from hub.sandbox.server import SandboxServer


class Keyed(SandboxServer):
    """A vendor keyed by ``X-Key``: a seeded list, a create, and tokens it hands out."""

    vendor = "keyed"
    default_credentials = {"key": "k"}

    def add_routes(self, app: web.Application) -> None:
        seed = self.options.seed
        self.collections["items"] = Collection("items", 5, lambda i: {"id": i, "seed": seed})
        app.router.add_get("/items", self.items)
        app.router.add_post("/items", self.create)
        app.router.add_put("/items", self.replace)
        app.router.add_post("/token", self.token)

    async def credential_of(self, request: web.Request) -> str | None:
        return request.headers.get("X-Key")

    def _allowed(self, request: web.Request) -> bool:
        return request.headers.get("X-Key") in (self.credentials["key"], f"tok-{self.seed()}")

    def seed(self) -> int:
        return self.options.seed

    async def items(self, request: web.Request) -> web.Response:
        if not self._allowed(request):
            return web.json_response({"error": "who?"}, status=401)
        records, _ = self.collections["items"].page(0, 100)
        return web.json_response(records)

    async def create(self, request: web.Request) -> web.Response:
        if not self._allowed(request):
            return web.json_response({"error": "who?"}, status=401)
        made = self.collections["items"].create(lambda i: {"id": i, "seed": -1})
        return web.json_response(made)

    async def replace(self, request: web.Request) -> web.Response:
        return web.json_response(await request.json())

    async def token(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Key") != self.credentials["key"]:
            return web.json_response({"error": "who?"}, status=401)
        token = f"tok-{self.seed()}"
        self.claim(token)
        return web.json_response({"token": token})

    def connector_table(self, tenant: int = 0) -> dict[str, Any]:
        return {"type": "keyed", "base_url": self.base_url, **self.tenant_credentials(tenant)}


@pytest.fixture
async def box() -> AsyncIterator[Keyed]:
    async with Keyed(SandboxOptions(seed=10, tenants=3, rate_limit=3)) as server:
        yield server


async def call(box: Keyed, method: str, path: str, key: str | None) -> tuple[int, Any]:
    headers = {"X-Key": key} if key is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, box.base_url + path, headers=headers) as resp,
    ):
        return resp.status, await resp.json() if resp.content_type == "application/json" else None


def key(box: Keyed, tenant: int) -> str:
    return box.connector_table(tenant)["key"]


async def test_each_tenant_sees_its_own_data(box: Keyed) -> None:
    """Same ids, each tenant's own seed; a create lands with its tenant only."""
    assert [key(box, i) for i in range(3)] == ["k", "k-t0001", "k-t0002"]
    for i in range(3):
        status, records = await call(box, "GET", "/items", key(box, i))
        assert status == 200 and {r["seed"] for r in records} == {10 + i}
        assert [r["id"] for r in records] == [1, 2, 3, 4, 5]
    status, made = await call(box, "POST", "/items", key(box, 1))
    assert status == 200 and made["id"] == 6
    assert box.tenants[1].collections["items"].count() == 6
    assert box.collections["items"].count() == box.tenants[2].collections["items"].count() == 5


async def test_unknown_credentials_are_refused(box: Keyed) -> None:
    """A key no tenant has, or none, meets tenant 0's own refusal."""
    assert (await call(box, "GET", "/items", "k-t0009"))[0] == 401
    assert (await call(box, "GET", "/items", None))[0] == 401
    assert (await call(box, "GET", "/nowhere", key(box, 2)))[0] == 404


async def test_each_tenant_has_its_own_rate_limit(box: Keyed) -> None:
    """Tenant 1 spending its bucket (3/s) throttles neither tenant 0 nor tenant 2."""
    statuses = [(await call(box, "GET", "/items", key(box, 1)))[0] for _ in range(6)]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses
    for other in (0, 2):
        statuses = [(await call(box, "GET", "/items", key(box, other)))[0] for _ in range(3)]
        assert statuses == [200, 200, 200]
    async with (
        aiohttp.ClientSession() as session,
        session.get(box.base_url + "/_sandbox/stats") as resp,
    ):
        stats = await resp.json()
    by_tenant = stats["by_tenant"]
    assert by_tenant["1"]["total"] == 6 and by_tenant["1"]["throttled"] == 3
    assert by_tenant["0"] == by_tenant["2"] == {"total": 3, "throttled": 0, "max_per_second": 3}
    assert by_tenant["1"]["max_per_second"] == 6


async def test_a_token_routes_to_the_tenant_that_issued_it(box: Keyed) -> None:
    """A tenant's claim() sends requests carrying its token to it."""
    status, body = await call(box, "POST", "/token", key(box, 2))
    assert status == 200 and body["token"] == "tok-12"
    status, records = await call(box, "GET", "/items", "tok-12")
    assert status == 200 and {r["seed"] for r in records} == {12}


async def test_admin_records_and_announcement_name_tenants(box: Keyed) -> None:
    """The admin surface reads a tenant's records; the announcement lists every tenant."""
    async with aiohttp.ClientSession() as session:
        async with session.get(box.base_url + "/_sandbox/records/items?tenant=2") as resp:
            assert resp.status == 200 and (await resp.json())["total"] == 5
        async with session.get(box.base_url + "/_sandbox/records?tenant=7") as resp:
            assert resp.status == 404
    line = box.announcement()
    assert line["credentials"] == {"key": "k"}
    assert line["tenants"] == [{"key": "k"}, {"key": "k-t0001"}, {"key": "k-t0002"}]


async def test_one_tenant_is_the_sandbox_as_before() -> None:
    """No tenants option: no per-tenant counts, no tenants in the announcement."""
    async with Keyed(SandboxOptions(seed=10)) as single:
        assert single.tenants == [single]
        assert (await call(single, "GET", "/items", "k"))[0] == 200
        assert (await call(single, "GET", "/items", "k-t0001"))[0] == 401
        assert "tenants" not in single.announcement()
        async with (
            aiohttp.ClientSession() as session,
            session.get(single.base_url + "/_sandbox/stats") as resp,
        ):
            assert "by_tenant" not in await resp.json()


async def test_prophub_sandbox_serves_tenants() -> None:
    """``prophub sandbox propertybase --tenants 3`` announces three credential sets."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        "sandbox",
        "propertybase",
        "--tenants",
        "3",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    finally:
        proc.terminate()
        await proc.wait()
    keys = [t["api_key"] for t in line["tenants"]]
    assert keys == ["pb-sandbox-key", "pb-sandbox-key-t0001", "pb-sandbox-key-t0002"]


async def test_a_client_hanging_up_mid_request_is_counted_not_logged(
    box: Keyed, caplog: pytest.LogCaptureFixture
) -> None:
    """A replica killed while sending a body: the sandbox counts a 499, prints no traceback."""
    _, port = box.base_url.split("//")[1].split(":")
    _, writer = await asyncio.open_connection("127.0.0.1", int(port.rstrip("/")))
    writer.write(
        b"PUT /items HTTP/1.1\r\nHost: x\r\nX-Key: k\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"half":'
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    for _ in range(1000):  # the server sees the connection end on its next read
        if box.by_status[499]:
            break
        await asyncio.sleep(0.01)
    assert box.by_status[499] == 1
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert (await call(box, "GET", "/items", key(box, 0)))[0] == 200
