"""Request deadlines kept by one timer per client, not one per request.

aiohttp's ``ClientTimeout(total=...)`` schedules a timer for every request and cancels it
when the answer is in: a ``TimerHandle`` pushed onto (and later swept out of) the event
loop's heap, whose ordering is a Python ``__lt__``, a visible share of the event loop's work
at thousands of requests a second (``bench/NOTES.md``). Here each request in
flight is one dict entry; a single timer, armed only while requests are in flight, sweeps
them every ``timeout / 8`` seconds, and cancels the task of any request past its deadline.
The request turns that cancellation into ``TimeoutError`` (as aiohttp's own timeout does,
taking its cancel back with ``Task.uncancel``), so a request times out between ``timeout``
and ``timeout * 1.125`` seconds after it started, and a caller's own cancellation is never
mistaken for a timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

__all__ = ["Deadlines"]

#: sweeps per timeout: the deadline is kept to within ``timeout / SWEEPS``
SWEEPS = 8


class Deadlines:
    """The deadlines of one client's requests in flight (``timeout`` None: no deadline)."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._resolution = (timeout or 0) / SWEEPS
        # ticket -> (task, deadline, cancels its task had already been asked for)
        self._inflight: dict[int, tuple[asyncio.Task[Any], float, int]] = {}
        self._expired: set[int] = set()  # tickets whose task this sweep cancelled
        self._tickets = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> int | None:
        """Register the current task's request; returns its ticket (None: not timed)."""
        task = asyncio.current_task()
        if self.timeout is None or task is None:
            return None
        ticket = next(self._tickets)
        self._inflight[ticket] = (task, time.monotonic() + self.timeout, task.cancelling())
        if self._timer is None:
            self._timer = task.get_loop().call_later(self._resolution, self._sweep)
        return ticket

    def expired(self, ticket: int | None) -> bool:
        """Whether the ``CancelledError`` a request caught is its deadline passing (the
        cancel is taken back) rather than its caller being cancelled (left to propagate)."""
        if ticket is None or ticket not in self._expired:
            return False
        self._expired.discard(ticket)
        task, _, cancelling = self._inflight[ticket]
        # Another cancel requested besides ours wins, as with asyncio.timeout.
        return task.uncancel() <= cancelling

    def finish(self, ticket: int | None) -> None:
        """The request is over, answered or not."""
        if ticket is None:
            return
        task, _, _ = self._inflight.pop(ticket)
        if self._expired and ticket in self._expired:
            # Cancelled by us, but the request ended without seeing it: take it back, so
            # the task's cancel count is its callers' own.
            self._expired.discard(ticket)
            task.uncancel()

    def close(self) -> None:
        """Stop the timer (the client is closing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sweep(self) -> None:
        self._timer = None
        if not self._inflight:
            return  # armed again by the next request
        now = time.monotonic()
        for ticket, (task, deadline, _) in self._inflight.items():
            if deadline <= now and ticket not in self._expired and not task.done():
                self._expired.add(ticket)
                task.cancel()
        self._timer = asyncio.get_running_loop().call_later(self._resolution, self._sweep)
