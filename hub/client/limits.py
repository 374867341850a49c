"""Per-connector rate limit and concurrency cap, shared by every flow that uses the connector
(and, with a :class:`~hub.client.shared_limits.SharedBudget`, by every replica using its
credential)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiolimiter import AsyncLimiter

if TYPE_CHECKING:
    from hub.client.shared_limits import SharedBudget

__all__ = ["Limits"]


class Limits:
    """An aiolimiter rate, a concurrency cap, and a pause gate that a 429 closes for everyone.

    A rate of 0 means no rate limit (an internal API, a sandbox): no limiter is consulted at
    all, while the concurrency cap and the 429 pause still hold.

    With ``shared``, the credential's budget in Redis paces the requests instead of the
    in-process limiter, and a 429 pauses every replica; the concurrency cap stays this
    process's own.
    """

    def __init__(
        self,
        rate: float,
        period: float = 1.0,
        max_concurrency: int = 4,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        shared: SharedBudget | None = None,
    ) -> None:
        self.rate = rate
        self.period = period
        self.limiter: AsyncLimiter | None = None
        self.shared = shared
        if rate > 0 and shared is None:
            # A steady pace with small bursts (a tenth of the rate): a vendor's own token
            # bucket of ``rate`` never runs dry, however its window lines up with ours, and a
            # high rate does not cost a timer per request.
            burst = burst or max(1, int(rate * period) // 10)
            self.limiter = AsyncLimiter(burst, burst * period / rate)
        self.max_concurrency = max_concurrency
        self.semaphore = asyncio.Semaphore(max_concurrency)
        self.clock = clock
        self.sleep = sleep or asyncio.sleep
        self.resume_at = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request of this connector for ``seconds`` (a vendor's Retry-After)."""
        self.resume_at = max(self.resume_at, self.clock() + seconds)
        if self.shared is not None:
            self.shared.pause(seconds)

    async def _wait_pause(self) -> None:
        while (wait := self.resume_at - self.clock()) > 0:
            await self.sleep(wait)

    def slot(self) -> Limits:
        """Hold one concurrency slot and one rate token for the duration of a request:
        ``async with limits.slot():`` (the limits are their own context manager, as nothing
        is kept per request)."""
        return self

    async def acquire(self) -> None:
        """Take a concurrency slot and a rate token (waiting out a 429 pause); pair with
        :meth:`release`."""
        await self.semaphore.acquire()
        try:
            await self.pace()
        except BaseException:
            self.semaphore.release()
            raise

    async def pace(self) -> None:
        """Wait out a 429 pause and take a rate token, holding no concurrency slot (for a
        request made on another's behalf: the token a request needs)."""
        if self.resume_at > self.clock():
            await self._wait_pause()
        if self.limiter is not None:
            await self.limiter.acquire()
        elif self.shared is not None:
            await self.shared.acquire()

    def release(self) -> None:
        """Give the concurrency slot back."""
        self.semaphore.release()

    async def aclose(self) -> None:
        """Let go of the shared budget's connection, if any (the connector closes)."""
        if self.shared is not None:
            await self.shared.aclose()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()
