"""Faults the conformance kit injects into a sandbox, one request at a time, in order.

The sandbox's own :class:`~hub.sandbox.options.FaultSettings` draw faults at random, which
suits benchmarks; a conformance check needs the fault *here*: the page after the first, the
create's answer. A :class:`FaultScript` is a queue of faults, each meant for the next request
of a kind (a read, a write), installed as the sandbox's outermost middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Literal

from aiohttp import web

from hub.sandbox.server import ADMIN_PREFIX, SandboxServer

__all__ = ["Fault", "FaultKind", "FaultScript", "corrupt_first_record"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FaultKind = Literal[
    "throttle",  # 429, Retry-After in delta-seconds
    "throttle_date",  # 429, Retry-After as an HTTP-date
    "error",  # 503 in the vendor's error body
    "drop",  # the connection dropped before any answer
    "truncate",  # the answer's body cut in half
    "lose_answer",  # the request is applied, then the connection drops
    "stall",  # the request is applied, then no answer until the script is released
    "echo",  # 401 whose message repeats the request's headers (credentials included)
    "garbage",  # the first record of the answer replaced by a non-object
    "scramble",  # every field of the answer's first record replaced by an object
]
#: the longest a stalled answer is held when nobody releases it
STALL_LIMIT = 30.0


@dataclass
class Fault:
    """One fault for the next request of its kind, after ``skip`` such requests pass."""

    kind: FaultKind
    writes: bool = False  # for a write (POST, PUT, PATCH, DELETE) rather than a read (GET)
    skip: int = 0
    seconds: int = 2  # a throttle's Retry-After


class FaultScript:
    """A queue of faults, the head one injected into the next request it is meant for.

    OAuth2 token requests (form-encoded, RFC 6749) are never faulted: the kit checks a
    connector's API calls, not its token endpoint.
    """

    def __init__(self, box: SandboxServer) -> None:
        self.box = box
        self.queue: deque[Fault] = deque()
        self.injected: list[str] = []
        self.release = asyncio.Event()

    def add(
        self, kind: FaultKind, *, writes: bool = False, skip: int = 0, seconds: int = 2
    ) -> None:
        """Queue a fault for a later request of its kind."""
        self.queue.append(Fault(kind, writes, skip, seconds))

    def pending(self) -> int:
        """How many queued faults no request has met yet."""
        return len(self.queue)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Inject the head fault into this request if it is meant for it."""
        fault = self._take(request)
        if fault is None:
            return await handler(request)
        self.injected.append(f"{fault.kind} on {request.method} {request.path}")
        return await self._inject(fault, request, handler)

    def _take(self, request: web.Request) -> Fault | None:
        if not self.queue or request.path.startswith(ADMIN_PREFIX):
            return None
        if request.content_type == "application/x-www-form-urlencoded":
            return None
        head = self.queue[0]
        if head.writes != (request.method != "GET"):
            return None
        if head.skip > 0:
            head.skip -= 1
            return None
        return self.queue.popleft()

    async def _inject(
        self, fault: Fault, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        kind = fault.kind
        if kind in ("throttle", "throttle_date"):
            response = self.box.error_response(429, "Too many requests")
            when = datetime.now(UTC) + timedelta(seconds=fault.seconds)
            value = str(fault.seconds) if kind == "throttle" else format_datetime(when, usegmt=True)
            response.headers["Retry-After"] = value
            return response
        if kind == "error":
            return self.box.error_response(503, "Service unavailable")
        if kind == "echo":
            return self.box.error_response(401, f"not authorized: {dict(request.headers)}")
        if kind == "drop":
            return _drop(request)
        answer = await handler(request)
        if kind == "lose_answer":
            return _drop(request)
        if kind == "stall":
            # The write is done; its answer never comes within the client's timeout.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), STALL_LIMIT)
            return answer
        if not isinstance(answer, web.Response) or answer.body is None:
            return answer
        response = answer
        body = bytes(response.body)  # type: ignore[arg-type]
        if kind == "truncate":
            response.body = body[: max(1, len(body) // 2)]
            return response
        response.body = corrupt_first_record(body, scramble=kind == "scramble")
        return response


def _drop(request: web.Request) -> web.StreamResponse:
    """Drop the connection without an answer (as the sandbox's own fault does)."""
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


def corrupt_first_record(body: bytes, *, scramble: bool) -> bytes:
    """The JSON body with the first record of its outermost list of records replaced: by a
    string (``scramble`` False), or by the record with every field an object (True)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    level: list[Any] = [data]
    while level:
        found = next(
            (v for v in level if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)),
            None,
        )
        if found is not None:
            first = found[0]
            found[0] = {k: {"unexpected": [k]} for k in first} if scramble else "garbage"
            return json.dumps(data).encode()
        level = [
            child
            for value in level
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(value, dict | list) and isinstance(child, dict | list)
        ]
    return body
