"""Reading several streams at once: a vendor's collections of one entity, say."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import TypeVar

__all__ = ["interleave"]

T = TypeVar("T")

#: items each stream may have read ahead of the consumer
AHEAD = 64


class _End:
    """A stream is exhausted (or failed, with its error)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def interleave(streams: Sequence[AsyncIterator[T]]) -> AsyncGenerator[T, None]:
    """Every item of every stream, as each comes, each stream's own order kept.

    The streams are read concurrently (their requests then overlap each other's latency),
    each at most ``AHEAD`` items ahead of the consumer. The first stream to fail ends the
    whole read with its error; a consumer that stops early, or is cancelled, leaves no
    stream running.
    """
    if len(streams) == 1:
        async with contextlib.aclosing(_generator(streams[0])) as only:
            async for item in only:
                yield item
        return
    queue: asyncio.Queue[T | _End] = asyncio.Queue(AHEAD * max(1, len(streams)))

    async def pump(stream: AsyncIterator[T]) -> None:
        try:
            async with contextlib.aclosing(_generator(stream)) as items:
                async for item in items:
                    await queue.put(item)
        except Exception as exc:  # handed to the consumer, who raises it as its own
            await queue.put(_End(exc))
        else:
            await queue.put(_End())

    tasks = [asyncio.create_task(pump(stream)) for stream in streams]
    running = len(tasks)
    try:
        while running:
            got = await queue.get()
            if isinstance(got, _End):
                if got.error is not None:
                    raise got.error
                running -= 1
                continue
            yield got
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)


async def _generator(stream: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """The stream as a generator that can be closed, whatever it is."""
    try:
        async for item in stream:
            yield item
    finally:
        closing = getattr(stream, "aclose", None)
        if closing is not None:
            await closing()
