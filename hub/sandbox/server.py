"""A vendor sandbox's server: lifecycle, rate limit, injected faults and the admin surface.

A vendor sandbox subclasses :class:`SandboxServer`, adds its routes and its error body, and
keeps its data in :class:`~hub.sandbox.collection.Collection` objects that derive records
from the seed and an index, storing only what clients created or changed, so a million
records cost no memory.

The admin surface lives under ``/_sandbox/`` and is not part of any vendor API:

- ``GET /_sandbox/stats``: request counts by status (429s included), per path and in total;
- ``GET /_sandbox/records``: the collections and their sizes;
- ``GET /_sandbox/records/{collection}?offset=&limit=``: the stored records;
- ``GET|PUT /_sandbox/faults``: read or change the fault settings at run time;
- ``POST /_sandbox/reset``: zero the request counts.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from types import TracebackType
from typing import Any, ClassVar, Self

from aiohttp import web

from hub.sandbox.collection import Collection
from hub.sandbox.options import SandboxOptions

__all__ = ["ADMIN_PREFIX", "Handler", "SandboxServer", "TokenBucket"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ADMIN_PREFIX = "/_sandbox/"


class TokenBucket:
    """Requests allowed per second, as a vendor's gateway counts them."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.level = self.capacity
        self.clock = clock
        self.stamp = clock()

    def take(self) -> float:
        """Take one token; 0.0 if granted, else the seconds until one is available."""
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level >= 1.0:
            self.level -= 1.0
            return 0.0
        return (1.0 - self.level) / self.rate


class SandboxServer(ABC):
    """Base of a vendor sandbox: ``async with`` serves it on loopback until the block ends."""

    vendor: ClassVar[str] = ""
    default_credentials: ClassVar[dict[str, str]] = {}

    def __init__(
        self, options: SandboxOptions | None = None, credentials: Mapping[str, str] | None = None
    ) -> None:
        self.options = options or SandboxOptions()
        self.credentials = {**self.default_credentials, **(credentials or {})}
        self.faults = self.options.faults
        self.rng = random.Random(self.options.seed)
        self.bucket = TokenBucket(self.options.rate_limit) if self.options.rate_limit else None
        self.by_status: Counter[int] = Counter()
        self.by_path: Counter[str] = Counter()
        self.collections: dict[str, Collection] = {}
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._added: list[Any] = []

    # -- what a vendor provides -------------------------------------------------------------

    @abstractmethod
    def add_routes(self, app: web.Application) -> None:
        """Add the vendor's API routes."""

    def error_response(self, status: int, message: str) -> web.Response:
        """A vendor-shaped error response (overridden per vendor)."""
        return web.json_response({"message": message}, status=status)

    @abstractmethod
    def connector_table(self) -> dict[str, Any]:
        """A ``[connectors.NAME]`` table pointing at this sandbox."""

    def outer_middlewares(self) -> list[Any]:
        """Middlewares around everything else (recording, tracing); none by default."""
        return []

    def add_middleware(self, middleware: Any) -> None:
        """Wrap every request in ``middleware`` (outermost but the vendor's own outer ones):
        a test's fault script, say. Added before the sandbox starts."""
        if self._runner is not None:
            raise RuntimeError("add middlewares before the sandbox starts")
        self._added.append(middleware)

    # -- lifecycle ---------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The aiohttp application: middlewares, vendor routes and the admin surface."""
        app = web.Application(
            middlewares=[
                *self.outer_middlewares(),
                *self._added,
                self._count,
                self._limit,
                self._inject_faults,
            ]
        )
        self.add_routes(app)
        app.router.add_get("/_sandbox/stats", self._admin_stats)
        app.router.add_get("/_sandbox/records", self._admin_collections)
        app.router.add_get("/_sandbox/records/{collection}", self._admin_records)
        app.router.add_get("/_sandbox/faults", self._admin_faults)
        app.router.add_put("/_sandbox/faults", self._admin_set_faults)
        app.router.add_post("/_sandbox/reset", self._admin_reset)
        return app

    async def __aenter__(self) -> Self:
        if self._runner is not None:
            raise RuntimeError("a sandbox can be started once")
        self._runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.options.host, self.options.port)
        await site.start()
        port = self._runner.addresses[0][1]
        host = self.options.host if ":" not in self.options.host else f"[{self.options.host}]"
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def announcement(self) -> dict[str, Any]:
        """The one JSON line ``prophub sandbox`` prints when ready."""
        return {"vendor": self.vendor, "base_url": self.base_url, "credentials": self.credentials}

    # -- middlewares -------------------------------------------------------------------------

    @web.middleware
    async def _count(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self._record(request, exc.status)
            raise
        self._record(request, response.status)
        return response

    def _record(self, request: web.Request, status: int) -> None:
        self.by_status[status] += 1
        self.by_path[f"{request.method} {request.path}"] += 1

    @web.middleware
    async def _limit(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.bucket is None or request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        wait = self.bucket.take()
        if wait > 0:
            return self._throttled(max(1, math.ceil(wait)))
        return await handler(request)

    def _throttled(self, retry_after: int) -> web.Response:
        response = self.error_response(429, "Too many requests: rate limit exceeded")
        response.headers["Retry-After"] = str(retry_after)
        return response

    @web.middleware
    async def _inject_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        if self.options.latency_ms:
            await asyncio.sleep(self.options.latency_ms / 1000)
        fault = self.faults.draw(self.rng)
        if fault is None:
            return await handler(request)
        return await self._fault(fault, request, handler)

    async def _fault(
        self, fault: str, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if fault == "error":
            return self.error_response(self.rng.choice((500, 502, 503, 504)), "Internal error")
        if fault == "throttle":
            return self._throttled(self.faults.retry_after)
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # the connection is gone; aiohttp discards the handler
        if fault == "stall":
            await asyncio.sleep(self.faults.stall_seconds)
            return await handler(request)
        if fault == "html":
            page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            return web.Response(status=502, text=page, content_type="text/html")
        return await self._truncated(request, handler)

    async def _truncated(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # A read is cut short; a write runs and then loses its answer, as a real proxy does.
        response = await handler(request)
        if isinstance(response, web.Response) and response.body:
            body = bytes(response.body)  # type: ignore[arg-type]
            response.body = body[: max(1, len(body) // 2)]
        return response

    # -- admin -------------------------------------------------------------------------------

    async def _admin_stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "total": sum(self.by_status.values()),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "throttled": self.by_status.get(429, 0),
                "by_path": dict(self.by_path),
            }
        )

    async def _admin_collections(self, request: web.Request) -> web.Response:
        return web.json_response({name: c.count() for name, c in self.collections.items()})

    async def _admin_records(self, request: web.Request) -> web.Response:
        name = request.match_info["collection"]
        if name not in self.collections:
            return web.json_response({"error": f"no collection {name!r}"}, status=404)
        offset = int(request.query.get("offset", "0"))
        limit = int(request.query.get("limit", "100"))
        records, total = self.collections[name].page(offset, limit)
        return web.json_response({"total": total, "records": records}, dumps=_dumps)

    async def _admin_faults(self, request: web.Request) -> web.Response:
        return web.json_response(asdict(self.faults))

    async def _admin_set_faults(self, request: web.Request) -> web.Response:
        try:
            self.faults.update(await request.json())
        except (ValueError, AttributeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(asdict(self.faults))

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.by_status.clear()
        self.by_path.clear()
        return web.json_response({"ok": True})


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)
