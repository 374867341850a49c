"""Request deadlines: one sweeping timer per client, timeouts told apart from cancellations."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from hub import errors
from hub.client.deadlines import Deadlines
from hub.client.retry import RetryPolicy
from hub.client.vendor import VendorClient
from tests.conftest import Serve, Sleeps


async def _timed(deadlines: Deadlines, work: asyncio.Future[None]) -> str:
    """What a request does around its awaits: 'done', 'timeout', or CancelledError."""
    ticket = deadlines.start()
    try:
        await work
        return "done"
    except asyncio.CancelledError:
        if not deadlines.expired(ticket):
            raise
        return "timeout"
    finally:
        deadlines.finish(ticket)


async def test_a_request_past_its_deadline_times_out_and_its_task_is_not_left_cancelling() -> None:
    deadlines = Deadlines(0.02)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(_timed(deadlines, never))
    assert await task == "timeout"
    assert task.cancelling() == 0
    deadlines.close()


async def test_a_callers_cancellation_is_not_a_timeout() -> None:
    deadlines = Deadlines(10)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(_timed(deadlines, never))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadlines.close()


async def test_a_cancel_requested_beside_the_deadline_wins() -> None:
    """Both at once (the caller's cancel and the deadline): the caller's cancel propagates."""
    deadlines = Deadlines(0.02)
    loop = asyncio.get_running_loop()
    never: asyncio.Future[None] = loop.create_future()
    task = asyncio.ensure_future(_timed(deadlines, never))
    await asyncio.sleep(0)
    ticket, (held, _, cancelling) = next(iter(deadlines._inflight.items()))
    deadlines._sweep()  # not due yet: nothing happens
    assert not deadlines._expired
    deadlines._inflight[ticket] = (held, 0.0, cancelling)  # due now
    deadlines._sweep()
    assert deadlines._expired == {ticket}
    task.cancel()  # the caller's, in the same loop iteration
    with pytest.raises(asyncio.CancelledError):
        await task
    deadlines.close()


async def test_requests_within_their_deadline_finish_and_the_timer_stops() -> None:
    deadlines = Deadlines(5)
    loop = asyncio.get_running_loop()
    works = [loop.create_future() for _ in range(3)]
    tasks = [asyncio.ensure_future(_timed(deadlines, w)) for w in works]
    await asyncio.sleep(0)
    assert deadlines._timer is not None and len(deadlines._inflight) == 3
    for work in works:
        work.set_result(None)
    assert await asyncio.gather(*tasks) == ["done"] * 3
    assert not deadlines._inflight
    deadlines._sweep()  # the sweep after the last request does not arm another
    assert deadlines._timer is None


async def test_no_timeout_means_no_timer() -> None:
    deadlines = Deadlines(None)
    assert deadlines.start() is None
    assert deadlines._timer is None


async def test_vendor_client_times_out_a_stalled_answer_and_closes_its_timer(
    serve: Serve, sleeps: Sleeps
) -> None:
    """Through the client: a stalled answer is a RequestTimeout (retried once, as a GET),
    the task is left uncancelled, and closing the client leaves no timer scheduled."""

    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    async def fast(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/stall", stall)
    app.router.add_get("/fast", fast)
    client = VendorClient(
        vendor="acme",
        base_url=await serve(app),
        timeout=0.05,
        retry=RetryPolicy(max_attempts=2),
        sleep=sleeps,
    )
    async with client:
        assert (await client.request("GET", "/fast")).json() == {"ok": True}
        with pytest.raises(errors.RequestTimeout) as caught:
            await client.request("GET", "/stall")
        assert not caught.value.outcome_unknown and len(sleeps.delays) == 1  # a read: no doubt
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    assert client._deadlines._timer is None
