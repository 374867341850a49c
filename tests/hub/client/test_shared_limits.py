"""Credential budgets shared by replicas in a real Redis: the summed rate holds and is used,
and a 429 met by one replica pauses them all."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr, ValidationError

from hub import errors
from hub.client.limits import Limits
from hub.client.retry import RetryPolicy
from hub.client.settings import ConnectorSettings
from hub.client.vendor import VendorClient
from hub.sandbox.options import SandboxOptions
from hub.sandbox.server import SandboxServer

#: set where a Redis server must be there (CI sets it in .ci/run): its tests then fail
#: rather than skip when none answers
REQUIRED = os.environ.get("PROPHUB_TEST_REDIS", "")
REDIS = REQUIRED or "redis://127.0.0.1:6379/0"
RATE = 20


def redis_up() -> bool:
    """Whether a Redis server answers where the tests expect one."""
    host, _, port = REDIS.split("//")[1].split("/")[0].rpartition("@")[2].partition(":")
    try:
        with socket.create_connection((host, int(port or 6379)), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own on the Redis server (skipped without one)."""
    try:
        import redis  # noqa: F401
    except ImportError:
        if REQUIRED:
            pytest.fail("PROPHUB_TEST_REDIS is set and the redis client is not installed")
        pytest.skip("the redis client is not installed (the scale extra)")
    if not redis_up():
        if REQUIRED:
            pytest.fail(f"PROPHUB_TEST_REDIS is set and no Redis server answers at {REDIS}")
        pytest.skip(f"no Redis server at {REDIS}")
    yield f"prophub-test:{uuid.uuid4().hex[:12]}:"


class Counting(SandboxServer):
    """A vendor with one route that notes when each request arrived and from whom; the
    first request of a client named ``throttle_first`` meets a 429."""

    vendor = "counting"

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options)
        self.arrivals: list[tuple[float, str]] = []
        self.throttle_first = ""
        self.throttled_at = 0.0
        self.throttled = asyncio.Event()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/items", self.items)

    async def items(self, request: web.Request) -> web.Response:
        who = request.headers.get("X-Replica", "")
        now = time.monotonic()
        if who and who == self.throttle_first:
            self.throttle_first = ""
            self.throttled_at = now
            self.throttled.set()
            return self._throttled(1)
        self.arrivals.append((now, who))
        return web.json_response({"ok": True})

    def connector_table(self, tenant: int = 0) -> dict[str, Any]:
        return {"type": "counting", "base_url": self.base_url}


@pytest.fixture
async def box() -> AsyncIterator[Counting]:
    async with Counting(SandboxOptions(rate_limit=RATE)) as server:
        yield server


def replica(box: Counting, prefix: str, name: str, credential: str = "cred") -> VendorClient:
    """One replica's client: its own Limits and its own connection to the shared budget."""
    from hub.client.shared_limits import SharedBudget

    shared = SharedBudget(REDIS, credential, RATE, prefix=prefix, vendor="counting")
    return VendorClient(
        vendor="counting",
        base_url=box.base_url,
        limits=Limits(RATE, max_concurrency=4, shared=shared),
        retry=RetryPolicy(max_attempts=3),
        default_headers={"X-Replica": name},
    )


def busiest_second(stamps: list[float]) -> int:
    """The most requests in any one-second window [t, t + 1)."""
    stamps = sorted(stamps)
    return max(sum(1 for s in stamps[i:] if s < t + 1.0) for i, t in enumerate(stamps))


async def test_replicas_together_keep_and_use_the_rate(box: Counting, prefix: str) -> None:
    """Three replicas with work: no 429, no second over the rate, and >= 90% of it used."""
    duration = 1.5
    clients = [replica(box, prefix, f"r{i}") for i in range(3)]

    async def work(client: VendorClient, end: float) -> None:
        while time.monotonic() < end:
            await client.request("GET", "/items")

    try:
        for c in clients:
            await c.__aenter__()
        end = time.monotonic() + duration
        await asyncio.gather(*(work(c, end) for c in clients for _ in range(4)))
    finally:
        for c in clients:
            await c.__aexit__(None, None, None)
            await c.limits.aclose()
    assert box.by_status.get(429, 0) == 0
    stamps = [t for t, _ in box.arrivals]
    assert busiest_second(stamps) <= RATE
    first = min(stamps)
    used = sum(1 for t in stamps if t < first + duration)
    assert used >= 0.9 * RATE * duration, used
    assert {who for _, who in box.arrivals} == {"r0", "r1", "r2"}  # every replica had a share


async def test_a_429_pauses_every_replica(box: Counting, prefix: str) -> None:
    """Replica a meets a 429 with Retry-After: 1; replica b sends nothing until it is over."""
    a, b = replica(box, prefix, "a"), replica(box, prefix, "b")
    box.throttle_first = "a"
    async with a, b:
        first = asyncio.create_task(a.request("GET", "/items"))
        await box.throttled.wait()
        await asyncio.sleep(0.05)  # a writes the pause as it handles the answer
        await b.request("GET", "/items")
        await first
    await a.limits.aclose()
    await b.limits.aclose()
    b_at = next(t for t, who in box.arrivals if who == "b")
    a_at = next(t for t, who in box.arrivals if who == "a")
    assert b_at - box.throttled_at >= 0.9
    assert a_at - box.throttled_at >= 0.9


async def test_budgets_of_different_credentials_are_apart(box: Counting, prefix: str) -> None:
    """A pause of one credential holds nothing of another."""
    from hub.client.shared_limits import SharedBudget

    one = SharedBudget(REDIS, "one", RATE, prefix=prefix)
    two = SharedBudget(REDIS, "two", RATE, prefix=prefix)
    await one.pause_now(5)
    started = time.monotonic()
    await two.acquire()
    assert time.monotonic() - started < 0.5
    assert await one.paused_for() > 4 and await two.paused_for() == 0
    await one.aclose()
    await two.aclose()


WORKER = textwrap.dedent(
    """
    import asyncio, sys, time
    from hub.client.limits import Limits
    from hub.client.shared_limits import SharedBudget
    from hub.client.vendor import VendorClient

    url, redis, prefix, name, start, end = sys.argv[1:7]
    rate = float(sys.argv[7])

    async def main() -> None:
        shared = SharedBudget(redis, "cred", rate, prefix=prefix)
        limits = Limits(rate, max_concurrency=4, shared=shared)
        client = VendorClient(vendor="counting", base_url=url, limits=limits,
                              default_headers={"X-Replica": name})
        async with client:
            await asyncio.sleep(max(0.0, float(start) - time.time()))
            async def work() -> None:
                while time.time() < float(end):
                    await client.request("GET", "/items")
            await asyncio.gather(*(work() for _ in range(4)))
        await limits.aclose()

    asyncio.run(main())
    """
)


async def test_separate_processes_share_the_budget(box: Counting, prefix: str) -> None:
    """Two real processes on one credential: together at most the rate, and >= 90% of it."""
    duration = 1.5
    start = time.time() + 1.2  # both have imported the hub by then (a late one only idles)
    end = start + duration
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            box.base_url,
            REDIS,
            prefix,
            name,
            str(start),
            str(end),
            str(RATE),
        )
        for name in ("p0", "p1")
    ]
    codes = [await p.wait() for p in procs]
    assert codes == [0, 0]
    assert box.by_status.get(429, 0) == 0
    stamps = [t for t, _ in box.arrivals]
    assert busiest_second(stamps) <= RATE
    first = min(stamps)
    used = sum(1 for t in stamps if t < first + duration)
    assert used >= 0.9 * RATE * duration, used
    assert {who for _, who in box.arrivals} == {"p0", "p1"}


# -- settings, naming and failures (no server needed for most) --------------------------------


class KeySettings(ConnectorSettings):
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    api_key: SecretStr | None = None


def test_credential_id_is_stable_and_holds_no_secret() -> None:
    """The budget's name depends on vendor, URL and credential, and shows none of them."""
    base = {"type": "acme", "base_url": "https://api.example", "client_secret": "s3cr3t"}
    one = KeySettings(**base, client_id="tenant-1")
    assert one.credential_id() == KeySettings(**base, client_id="tenant-1").credential_id()
    assert one.credential_id() != KeySettings(**base, client_id="tenant-2").credential_id()
    # the secret is not the identity: rotating it keeps the budget
    rotated = {**base, "client_secret": "new"}
    assert one.credential_id() == KeySettings(**rotated, client_id="tenant-1").credential_id()
    keyed = KeySettings(type="acme", base_url="https://api.example", api_key="pb-key-123")
    assert "pb-key-123" not in keyed.credential_id()
    assert (
        keyed.credential_id()
        != KeySettings(
            type="acme", base_url="https://api.example", api_key="pb-key-456"
        ).credential_id()
    )


def test_settings_build_a_shared_limit_only_when_asked() -> None:
    """No URL: today's in-process limiter; a URL: the shared budget instead."""
    plain = KeySettings(type="acme", base_url="https://api.example", client_id="c")
    assert plain.limits().shared is None and plain.limits().limiter is not None
    pytest.importorskip("redis")
    shared = KeySettings(
        type="acme",
        base_url="https://api.example",
        client_id="c",
        shared_limit_url="redis://:hunter2@127.0.0.1:6379/0",
    )
    limits = shared.limits()
    assert limits.shared is not None and limits.limiter is None
    assert limits.shared.tat_key == f"prophub:budget:{{{shared.credential_id()}}}:tat"


def test_a_bad_shared_limit_url_is_refused_without_showing_it() -> None:
    """A URL that is not Redis's is a config error that does not echo the value."""
    with pytest.raises(ValidationError) as caught:
        KeySettings(type="acme", base_url="https://api.example", shared_limit_url="http://pw@host")
    [problem] = caught.value.errors(include_input=False)
    assert problem["loc"] == ("shared_limit_url",)
    assert "redis://" in problem["msg"] and "pw@host" not in problem["msg"]


async def test_an_unreachable_store_is_a_retryable_failure_naming_no_password() -> None:
    """Redis not there: ConnectionFailed (nothing was sent), the password never shown."""
    pytest.importorskip("redis")
    from hub.client.shared_limits import SharedBudget

    budget = SharedBudget("redis://:hunter2@127.0.0.1:1/0", "cred", 10, vendor="acme")
    with pytest.raises(errors.ConnectionFailed) as caught:
        await budget.acquire()
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)
    assert caught.value.retryable and not caught.value.outcome_unknown
    await budget.aclose()


async def test_a_slot_woken_late_is_given_up_once_not_sent_with_the_next_ones(
    prefix: str,
) -> None:
    """A replica whose loop oversleeps past its slot takes a new slot rather than send with
    the slots after it; a loop late every time still sends, after one new slot."""
    from hub.client.shared_limits import SharedBudget

    reserved: list[int] = []
    late_by = 0.25  # a busy loop: every wake a quarter second past the slot

    async def oversleep(seconds: float) -> None:
        await asyncio.sleep(seconds + late_by)

    budget = SharedBudget(REDIS, "late", 10, prefix=prefix, sleep=oversleep)
    run = budget._run

    async def counted(name: str, keys: list[str], arg: int) -> int:
        if name == "reserve":
            reserved.append(arg)
        return await run(name, keys, arg)

    budget._run = counted  # type: ignore[method-assign]
    try:
        await budget.acquire()  # the first slot is now: no wait, nothing late
        assert len(reserved) == 1
        await budget.acquire()  # its slot a tenth later, woken late: one new slot, then sent
        assert len(reserved) == 3
        late_by = 0.0
        await budget.acquire()  # on time: one slot
        assert len(reserved) == 4
    finally:
        await budget.aclose()


async def test_a_request_cancelled_while_a_pause_is_written_leaves_the_pause(
    prefix: str,
) -> None:
    """A 429's pause goes to Redis in the background; a request of the connector cancelled
    while it waits for that write (its flow stopped, say) does not cancel the write."""
    from hub.client.shared_limits import SharedBudget

    mine = SharedBudget(REDIS, "cancelled", rate=5, prefix=prefix)
    theirs = SharedBudget(REDIS, "cancelled", rate=5, prefix=prefix)
    written = mine.pause_now
    arrived = asyncio.Event()

    async def slow_write(seconds: float) -> None:
        arrived.set()
        await asyncio.sleep(0.2)  # a slow round trip to Redis
        await written(seconds)

    mine.pause_now = slow_write  # type: ignore[method-assign]
    try:
        mine.pause(5.0)
        request = asyncio.create_task(mine.acquire())
        await arrived.wait()
        request.cancel()
        await asyncio.gather(request, return_exceptions=True)
        for _ in range(100):  # the write lands a moment later
            if await theirs.paused_for() > 0:
                break
            await asyncio.sleep(0.05)
        assert await theirs.paused_for() > 4
    finally:
        await mine.aclose()
        await theirs.aclose()
