"""The sandbox kit: index-derived collections, rate limit, fault injection, admin surface."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hub.sandbox.collection import EPOCH, Collection
from hub.sandbox.fake_data import fake_address, fake_person
from hub.sandbox.options import FaultSettings, SandboxOptions
from hub.sandbox.server import SandboxServer, TokenBucket


def make(i: int) -> dict[str, Any]:
    return {"id": i, "name": f"n{i}"}


class Echo(SandboxServer):
    vendor = "echo"

    def add_routes(self, app: web.Application) -> None:
        self.collections["items"] = Collection("items", 10, make)
        app.router.add_get("/items", self.items)

    async def items(self, request: web.Request) -> web.Response:
        records, total = self.collections["items"].page(0, 5)
        return web.json_response(records, headers={"X-Total-Count": str(total)})

    def connector_table(self) -> dict[str, Any]:
        return {"type": "echo", "base_url": self.base_url}


@pytest.fixture
async def echo() -> AsyncIterator[Echo]:
    async with Echo(SandboxOptions(seed=1)) as box:
        yield box


async def fetch(box: Echo, path: str = "/items", **kw: Any) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(box.base_url + path, **kw) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


def test_collection_derives_records_without_storing_them() -> None:
    """A million-record collection stores nothing until a client changes something."""
    col = Collection("homes", 1_000_000, make)
    records, total = col.page(999_990, 5)
    assert total == 1_000_000
    assert [r["id"] for r in records] == [999_991, 999_992, 999_993, 999_994, 999_995]
    assert col.changed == {} and col.updated == {}


def test_collection_changes_and_filters_by_updated_time() -> None:
    """Updates restamp a record, so an updated-since filter finds exactly it."""
    col = Collection("homes", 100, make, step=timedelta(minutes=1))
    since = EPOCH + timedelta(minutes=95)
    assert list(col.ids(since)) == [96, 97, 98, 99, 100]
    col.put(3, {"id": 3, "name": "changed"})
    assert list(col.ids(since)) == [3, 96, 97, 98, 99, 100]
    created = col.create(lambda i: {"id": i, "name": "new"})
    assert created["id"] == 101 and col.count() == 101
    assert col.delete(50) and not col.exists(50) and col.count() == 100
    assert col.get(50) is None and not col.delete(50)


def test_token_bucket_grants_rate_per_second() -> None:
    """The gateway allows a burst of R, then R per second of clock."""
    now = [0.0]
    bucket = TokenBucket(5, clock=lambda: now[0])
    assert [bucket.take() for _ in range(5)] == [0.0] * 5
    assert bucket.take() == pytest.approx(0.2)
    now[0] = 0.2
    assert bucket.take() == 0.0


def test_fake_data_is_deterministic() -> None:
    """The same seed and index give the same person and address."""
    assert fake_person(7, 3) == fake_person(7, 3)
    assert fake_person(7, 3) != fake_person(8, 3)
    assert fake_address(7, 3)["state"] in {
        "TX",
        "AZ",
        "CO",
        "ID",
        "NC",
        "FL",
        "TN",
        "GA",
        "NV",
        "CA",
        "UT",
    }


def test_fault_spread_and_update() -> None:
    """One rate spreads over every fault kind; bad settings are refused."""
    faults = FaultSettings.spread(0.6)
    assert faults.error_rate == pytest.approx(0.1)
    with pytest.raises(ValueError, match="bogus"):
        faults.update({"bogus": 1})


async def test_serves_and_counts(echo: Echo) -> None:
    """Requests are served and counted by status in the admin stats."""
    status, headers, _ = await fetch(echo)
    assert (status, headers["X-Total-Count"]) == (200, "10")
    _, _, body = await fetch(echo, "/_sandbox/stats")
    assert b'"200": 1' in body


async def test_rate_limit_answers_429_with_retry_after() -> None:
    """Past R requests per second the sandbox answers 429 with Retry-After."""
    async with Echo(SandboxOptions(rate_limit=3)) as box:
        statuses = [(await fetch(box))[0] for _ in range(5)]
        assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
        _, headers, _ = await fetch(box)
        assert int(headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("kind", "status", "content_type"),
    [
        ("error_rate", {500, 502, 503, 504}, "application/json"),
        ("throttle_rate", {429}, "application/json"),
        ("html_rate", {502}, "text/html"),
        ("truncate_rate", {200}, "application/json"),
    ],
)
async def test_injected_faults(echo: Echo, kind: str, status: set[int], content_type: str) -> None:
    """Each fault kind can be switched on at run time through the admin surface."""
    async with aiohttp.ClientSession() as session:
        await session.put(echo.base_url + "/_sandbox/faults", json={kind: 1.0})
    code, headers, body = await fetch(echo)
    assert code in status and headers["Content-Type"].startswith(content_type)
    if kind == "truncate_rate":
        with pytest.raises(ValueError):
            __import__("json").loads(body)


async def test_dropped_connection(echo: Echo) -> None:
    """A drop fault closes the connection without an answer."""
    echo.faults.update({"drop_rate": 1.0})
    with pytest.raises(aiohttp.ClientError):
        await fetch(echo)


async def test_stall_outlasts_client_timeout(echo: Echo) -> None:
    """A stall fault keeps the client waiting past its timeout."""
    echo.faults.update({"stall_rate": 1.0, "stall_seconds": 0.3})
    with pytest.raises(asyncio.TimeoutError):
        await fetch(echo, timeout=aiohttp.ClientTimeout(total=0.05))


async def test_admin_lists_records(echo: Echo) -> None:
    """The admin surface pages through a collection's stored records."""
    status, _, body = await fetch(echo, "/_sandbox/records/items?offset=8&limit=5")
    assert status == 200 and b'"total": 10' in body and b'"n10"' in body
    status, _, _ = await fetch(echo, "/_sandbox/records/nope")
    assert status == 404


async def test_sandbox_is_one_shot(echo: Echo) -> None:
    """A started sandbox refuses to start again."""
    with pytest.raises(RuntimeError):
        await echo.__aenter__()
