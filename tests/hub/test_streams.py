"""Several streams read at once: every item, each stream's order, failures and early stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from hub.streams import interleave


async def numbers(
    name: str, count: int, log: list[str], fail_at: int | None = None
) -> AsyncIterator[str]:
    """A slow stream (one turn of the loop an item) that logs what it produced."""
    try:
        for n in range(count):
            await asyncio.sleep(0)
            if n == fail_at:
                raise ValueError(f"{name} broke at {n}")
            log.append(f"{name}{n}")
            yield f"{name}{n}"
    finally:
        log.append(f"{name} closed")


async def test_every_item_comes_once_in_each_streams_order_and_the_streams_overlap() -> None:
    log: list[str] = []
    got = [item async for item in interleave([numbers("a", 50, log), numbers("b", 3, log)])]
    assert sorted(got) == sorted([f"a{n}" for n in range(50)] + ["b0", "b1", "b2"])
    assert [g for g in got if g[0] == "a"] == [f"a{n}" for n in range(50)]
    assert [g for g in got if g[0] == "b"] == ["b0", "b1", "b2"]
    assert log.index("b closed") < log.index("a10")  # b was read while a was


async def test_a_failing_stream_ends_the_read_with_its_error_and_stops_the_others() -> None:
    log: list[str] = []
    with pytest.raises(ValueError, match="b broke at 2"):
        async for _ in interleave([numbers("a", 10_000, log), numbers("b", 5, log, fail_at=2)]):
            pass
    assert "a closed" in log and "a9999" not in log


async def test_a_consumer_that_stops_early_leaves_nothing_running() -> None:
    log: list[str] = []
    before = len(asyncio.all_tasks())
    items = interleave([numbers("a", 10_000, log), numbers("b", 10_000, log)])
    async with contextlib.aclosing(items):
        first = [await anext(items) for _ in range(3)]
    assert len(first) == 3 and {"a closed", "b closed"} <= set(log)
    assert len(asyncio.all_tasks()) == before
    assert len(log) < 200  # bounded read-ahead: nowhere near the end


async def test_one_stream_is_passed_through() -> None:
    log: list[str] = []
    assert [i async for i in interleave([numbers("a", 3, log)])] == ["a0", "a1", "a2"]
    assert log[-1] == "a closed"
