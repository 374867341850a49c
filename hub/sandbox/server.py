"""A vendor sandbox's server: lifecycle, rate limit, injected faults and the admin surface.

A vendor sandbox subclasses :class:`SandboxServer`, adds its routes and its error body, and
keeps its data in :class:`~hub.sandbox.collection.Collection` objects that derive records
from the seed and an index, storing only what clients created or changed, so a million
records cost no memory.

With ``tenants`` above 1 a sandbox stands for a vendor with many customer accounts: tenant 0
is the sandbox itself, and each other tenant ``i`` is one more instance of the vendor's class
with credentials suffixed ``-t{i:04d}``, the seed ``seed + i`` (its own data) and its own
token bucket. A request goes to the tenant its credential names (the vendor's
:meth:`SandboxServer.credential_of`), and the route it matched runs on that tenant's
instance; an unknown credential goes to tenant 0, whose own auth refuses it.

The admin surface lives under ``/_sandbox/`` and is not part of any vendor API:

- ``GET /_sandbox/stats``: request counts by status (429s included), per path and in total,
  and per tenant where there are several;
- ``GET /_sandbox/records?tenant=``: the collections and their sizes;
- ``GET /_sandbox/records/{collection}?offset=&limit=&tenant=``: the stored records;
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
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import asdict, replace
from types import TracebackType
from typing import Any, ClassVar, Self

from aiohttp import web

from hub.sandbox.collection import Collection
from hub.sandbox.options import SandboxOptions

__all__ = ["ADMIN_PREFIX", "TENANT", "Handler", "SandboxServer", "TenantTally", "TokenBucket"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ADMIN_PREFIX = "/_sandbox/"
#: the status a request whose client hung up mid-way is counted under (nginx's)
CLIENT_CLOSED = 499
#: the tenant the request being handled was routed to (a request runs in its own context)
TENANT: ContextVar[int] = ContextVar("sandbox_tenant", default=0)


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


class TenantTally:
    """One tenant's requests: how many, how many throttled, the most in any one second."""

    def __init__(self) -> None:
        self.total = 0
        self.throttled = 0
        self.max_per_second = 0
        self._recent: deque[float] = deque()

    def arrived(self, now: float) -> None:
        """Count one request as it arrives (as a vendor's gateway counts it)."""
        self.total += 1
        recent = self._recent
        recent.append(now)
        while recent[0] <= now - 1.0:
            recent.popleft()
        self.max_per_second = max(self.max_per_second, len(recent))

    def as_dict(self) -> dict[str, int]:
        """The tally as the stats endpoint shows it."""
        return {
            "total": self.total,
            "throttled": self.throttled,
            "max_per_second": self.max_per_second,
        }


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
        #: this instance's place among its sandbox's tenants, and all of them (itself first)
        self.tenant_index = 0
        self.tenants: list[SandboxServer] = [self]
        #: a credential (or token) -> its tenant; None with a single tenant
        self._tenant_of: dict[str, int] | None = None
        self.tallies: list[TenantTally] = []
        if self.options.tenants > 1:
            self._add_tenants(self.options.tenants)

    # -- what a vendor provides -------------------------------------------------------------

    @abstractmethod
    def add_routes(self, app: web.Application) -> None:
        """Add the vendor's API routes."""

    def error_response(self, status: int, message: str) -> web.Response:
        """A vendor-shaped error response (overridden per vendor)."""
        return web.json_response({"message": message}, status=status)

    @abstractmethod
    def connector_table(self, tenant: int = 0) -> dict[str, Any]:
        """A ``[connectors.NAME]`` table pointing at this sandbox, as ``tenant``."""

    async def credential_of(self, request: web.Request) -> str | None:
        """The credential (or token) a request carries, naming its tenant; a vendor whose
        sandbox serves several tenants says where it is (none by default)."""
        return None

    # -- tenants -----------------------------------------------------------------------------

    def tenant_credentials(self, tenant: int) -> dict[str, str]:
        """The credentials of tenant ``tenant`` (0 is the sandbox's own)."""
        return self.tenants[tenant].credentials

    def new_tenant(self, options: SandboxOptions, credentials: Mapping[str, str]) -> SandboxServer:
        """One more tenant: an instance of this vendor's class (a vendor whose constructor
        takes more overrides this)."""
        return type(self)(options, credentials)

    def claim(self, key: str) -> None:
        """Route requests carrying ``key`` (a token this tenant issued) to this tenant."""
        if self._tenant_of is not None:
            self._tenant_of[key] = self.tenant_index

    def _add_tenants(self, count: int) -> None:
        self._tenant_of = {value: 0 for value in self.credentials.values()}
        for i in range(1, count):
            credentials = {k: f"{v}-t{i:04d}" for k, v in self.credentials.items()}
            options = replace(self.options, seed=self.options.seed + i, tenants=1)
            tenant = self.new_tenant(options, credentials)
            tenant.tenant_index = i
            tenant._tenant_of = self._tenant_of
            self._tenant_of.update({value: i for value in tenant.credentials.values()})
            self.tenants.append(tenant)
        self.tallies = [TenantTally() for _ in range(count)]

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
        if len(self.tenants) == 1:
            middlewares = [self._count, self._limit, self._inject_faults]
        else:
            middlewares = [
                self._route_tenant,
                self._count,
                self._limit_tenant,
                self._inject_faults,
                self._dispatch,
            ]
        app = web.Application(
            middlewares=[self._hung_up, *self.outer_middlewares(), *self._added, *middlewares]
        )
        self.add_routes(app)
        if len(self.tenants) > 1:
            self._tenant_routes(app)
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
        for tenant in self.tenants[1:]:
            tenant.base_url = self.base_url
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
        """The one JSON line ``prophub sandbox`` prints when ready (with every tenant's
        credentials where there are several)."""
        line: dict[str, Any] = {
            "vendor": self.vendor,
            "base_url": self.base_url,
            "credentials": self.credentials,
        }
        if len(self.tenants) > 1:
            line["tenants"] = [t.credentials for t in self.tenants]
        return line

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

    @web.middleware
    async def _hung_up(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # A client gone mid-request (a killed process) is counted as nginx's 499 and logged
        # as nothing more: a vendor's server does not print a traceback for it either.
        try:
            return await handler(request)
        except ConnectionResetError:
            self._record(request, CLIENT_CLOSED)
            return web.Response(status=CLIENT_CLOSED)

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

    # -- middlewares of a sandbox with several tenants -----------------------------------------

    def _tenant_routes(self, app: web.Application) -> None:
        """Each tenant's handler for each vendor route: the same routes in the same order."""
        routes = list(app.router.routes())
        self._route_index = {id(route): k for k, route in enumerate(routes)}
        self._tenant_handlers: list[list[Handler]] = [[r.handler for r in routes]]
        for tenant in self.tenants[1:]:
            scratch = web.Application()
            tenant.add_routes(scratch)
            handlers = [r.handler for r in scratch.router.routes()]
            if len(handlers) != len(routes):
                raise RuntimeError(f"tenant {tenant.tenant_index} has different routes")
            self._tenant_handlers.append(handlers)

    @web.middleware
    async def _route_tenant(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        assert self._tenant_of is not None
        key = await self.credential_of(request)
        index = self._tenant_of.get(key, 0) if key else 0
        TENANT.set(index)
        tally = self.tallies[index]
        # Counted when it arrives, as a vendor's gateway counts it (not when the answer
        # leaves, after the sandbox's latency and whatever its CPU made it wait).
        tally.arrived(time.monotonic())
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            tally.throttled += exc.status == 429
            raise
        tally.throttled += response.status == 429
        return response

    @web.middleware
    async def _limit_tenant(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        bucket = self.tenants[TENANT.get()].bucket
        if bucket is not None and (wait := bucket.take()) > 0:
            return self._throttled(max(1, math.ceil(wait)))
        return await handler(request)

    @web.middleware
    async def _dispatch(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        index = TENANT.get()
        k = self._route_index.get(id(request.match_info.route))
        if not index or k is None:  # tenant 0, the admin surface, or no route (404, 405)
            return await handler(request)
        response: web.StreamResponse = await self._tenant_handlers[index][k](request)
        return response

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
        stats: dict[str, Any] = {
            "total": sum(self.by_status.values()),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "throttled": self.by_status.get(429, 0),
            "by_path": dict(self.by_path),
        }
        if self.tallies:
            stats["by_tenant"] = {str(i): t.as_dict() for i, t in enumerate(self.tallies)}
        return web.json_response(stats)

    def _admin_tenant(self, request: web.Request) -> SandboxServer | None:
        raw = request.query.get("tenant", "0")
        if not raw.isdigit() or int(raw) >= len(self.tenants):
            return None
        return self.tenants[int(raw)]

    async def _admin_collections(self, request: web.Request) -> web.Response:
        tenant = self._admin_tenant(request)
        if tenant is None:
            return web.json_response({"error": "no such tenant"}, status=404)
        return web.json_response({name: c.count() for name, c in tenant.collections.items()})

    async def _admin_records(self, request: web.Request) -> web.Response:
        name = request.match_info["collection"]
        tenant = self._admin_tenant(request)
        if tenant is None:
            return web.json_response({"error": "no such tenant"}, status=404)
        if name not in tenant.collections:
            return web.json_response({"error": f"no collection {name!r}"}, status=404)
        offset = int(request.query.get("offset", "0"))
        limit = int(request.query.get("limit", "100"))
        records, total = tenant.collections[name].page(offset, limit)
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
        self.tallies = [TenantTally() for _ in self.tallies]
        return web.json_response({"ok": True})


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)
