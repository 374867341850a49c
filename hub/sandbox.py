"""The kit every vendor sandbox is built from: server lifecycle, rate limit, faults, admin.

A vendor sandbox subclasses :class:`SandboxServer`, adds its routes and its error body, and
keeps its data in :class:`Collection` objects that derive records from the seed and an index,
storing only what clients created or changed, so a million records cost no memory.

The admin surface lives under ``/_sandbox/`` and is not part of any vendor API:

- ``GET /_sandbox/stats``: request counts by status (429s included), per path and in total;
- ``GET /_sandbox/records``: the collections and their sizes;
- ``GET /_sandbox/records/{collection}?offset=&limit=``: the stored records;
- ``GET|PUT /_sandbox/faults``: read or change the fault settings at run time;
- ``POST /_sandbox/reset``: zero the request counts.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import math
import random
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Self

from aiohttp import web

__all__ = [
    "Collection",
    "FaultSettings",
    "SandboxOptions",
    "SandboxServer",
    "TokenBucket",
    "fake_address",
    "fake_person",
    "fake_words",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ADMIN_PREFIX = "/_sandbox/"


@dataclass
class FaultSettings:
    """Per-request probabilities of each injected fault (seeded, so runs repeat)."""

    error_rate: float = 0.0  # 5xx with the vendor's error body
    throttle_rate: float = 0.0  # 429 with Retry-After although under the rate
    drop_rate: float = 0.0  # connection dropped before any answer
    stall_rate: float = 0.0  # no answer for stall_seconds (past any sane client timeout)
    html_rate: float = 0.0  # an HTML error page from a "proxy"
    truncate_rate: float = 0.0  # a 200 whose JSON body is cut short
    stall_seconds: float = 60.0
    retry_after: int = 1

    @classmethod
    def spread(cls, total: float) -> FaultSettings:
        """Spread one overall fault rate evenly over every kind of fault."""
        share = total / 6
        return cls(share, share, share, share, share, share)

    def update(self, values: Mapping[str, Any]) -> None:
        """Change settings from a JSON object; unknown keys or bad values raise ``ValueError``."""
        names = {f.name for f in fields(self)}
        for key, value in values.items():
            if key not in names or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"bad fault setting {key!r}: {value!r}")
            setattr(self, key, type(getattr(self, key))(value))

    def draw(self, rng: random.Random) -> str | None:
        """Pick the fault for one request, or None."""
        roll = rng.random()
        for kind in ("error", "throttle", "drop", "stall", "html", "truncate"):
            roll -= getattr(self, f"{kind}_rate")
            if roll < 0:
                return kind
        return None


@dataclass
class SandboxOptions:
    """How to run a sandbox: where, how much data, how strict and how faulty."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 42
    size: int = 100
    rate_limit: float | None = None
    faults: FaultSettings = field(default_factory=FaultSettings)
    latency_ms: float = 0.0
    #: vendor-specific knobs (for example ``token_lifetime`` for OAuth2 sandboxes)
    extra: dict[str, Any] = field(default_factory=dict)


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

    # -- lifecycle ---------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The aiohttp application: middlewares, vendor routes and the admin surface."""
        app = web.Application(
            middlewares=[*self.outer_middlewares(), self._count, self._limit, self._inject_faults]
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


# -- data ------------------------------------------------------------------------------------

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class Collection:
    """Records derived from an index (ids ``first_id..first_id+size-1``) plus client changes.

    Generated record ``i`` was last updated at ``EPOCH + i * step``, so an updated-since
    filter is arithmetic, not a scan. Only records clients created, changed or deleted are
    stored. Ids come out in ascending order, which keeps offset paging stable.
    """

    def __init__(
        self,
        name: str,
        size: int,
        make: Callable[[int], dict[str, Any]],
        *,
        first_id: int = 1,
        step: timedelta = timedelta(minutes=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.name = name
        self.size = size
        self.make = make
        self.first_id = first_id
        self.step = step
        self.clock = clock
        self.changed: dict[int, dict[str, Any]] = {}
        self.updated: dict[int, datetime] = {}
        self.deleted: set[int] = set()
        self.next_id = first_id + size

    def generated_updated_at(self, record_id: int) -> datetime:
        """When a generated record was last updated."""
        return EPOCH + (record_id - self.first_id) * self.step

    def exists(self, record_id: int) -> bool:
        """Whether the id names a live record."""
        if record_id in self.deleted:
            return False
        return record_id in self.changed or self.first_id <= record_id < self.first_id + self.size

    def get(self, record_id: int) -> dict[str, Any] | None:
        """The record with this id, or None."""
        if not self.exists(record_id):
            return None
        if record_id in self.changed:
            return dict(self.changed[record_id])
        return self.make(record_id)

    def updated_at(self, record_id: int) -> datetime:
        """When the record was last updated."""
        return self.updated.get(record_id) or self.generated_updated_at(record_id)

    def create(self, record: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
        """Store a new record built from its new id; returns it."""
        record_id = self.next_id
        self.next_id += 1
        return self.put(record_id, record(record_id))

    def put(self, record_id: int, record: dict[str, Any]) -> dict[str, Any]:
        """Replace a record and stamp it updated now."""
        self.changed[record_id] = record
        self.updated[record_id] = self.clock()
        self.deleted.discard(record_id)
        return dict(record)

    def delete(self, record_id: int) -> bool:
        """Delete a record; False if it did not exist."""
        if not self.exists(record_id):
            return False
        self.deleted.add(record_id)
        self.changed.pop(record_id, None)
        return True

    def ids(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[int]:
        """Live ids in ascending order, filtered by last-updated time."""
        start = self.first_id
        if since is not None and since > EPOCH:
            start += math.ceil((since - EPOCH) / self.step)
        end = self.first_id + self.size
        if until is not None:
            end = min(end, self.first_id + math.floor((until - EPOCH) / self.step) + 1)
        generated = (i for i in range(start, max(start, end)) if i not in self.updated)
        touched = sorted(i for i in self.updated if self._within(i, since, until))
        return (i for i in heapq.merge(generated, touched) if i not in self.deleted)

    def _within(self, record_id: int, since: datetime | None, until: datetime | None) -> bool:
        stamp = self.updated[record_id]
        return (since is None or stamp >= since) and (until is None or stamp <= until)

    def count(self, since: datetime | None = None, until: datetime | None = None) -> int:
        """How many live records match the filter (arithmetic for the generated ones)."""
        if since is None and until is None:
            end = self.first_id + self.size
            created = sum(1 for i in self.changed if i >= end)
            return self.size - sum(1 for i in self.deleted if i < end) + created
        return sum(1 for _ in self.ids(since, until))

    def page_items(
        self,
        offset: int,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Iterable[int] | None = None,
    ) -> tuple[list[tuple[int, dict[str, Any]]], int]:
        """One page of (id, record) pairs and the total matching, in ascending id order."""
        chosen = list(ids) if ids is not None else None
        source = iter(chosen) if chosen is not None else self.ids(since, until)
        window = itertools.islice(source, offset, offset + limit)
        pairs = [(i, r) for i, r in ((i, self.get(i)) for i in window) if r is not None]
        total = len(chosen) if chosen is not None else self.count(since, until)
        return pairs, total

    def page(
        self,
        offset: int,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Iterable[int] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of records and the total matching, in ascending id order."""
        pairs, total = self.page_items(offset, limit, since, until, ids)
        return [record for _, record in pairs], total


# -- seeded fake data --------------------------------------------------------------------------

FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Steven",
    "Ashley",
    "Andrew",
    "Emily",
    "Joshua",
    "Michelle",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "Maria",
    "Carlos",
    "Wei",
    "Priya",
    "Omar",
    "Aisha",
    "Hiroshi",
    "Sofia",
    "Mateo",
    "Chloe",
    "Ethan",
    "Olivia",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Chen",
    "Patel",
]
STREETS = [
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Willow",
    "Birch",
    "Aspen",
    "Magnolia",
    "Juniper",
    "Sycamore",
    "Hickory",
    "Laurel",
    "Cypress",
    "Chestnut",
    "Dogwood",
    "Redwood",
    "Sequoia",
    "Spruce",
    "Walnut",
]
SUFFIXES = ("St", "Ave", "Ln", "Dr", "Ct", "Way", "Blvd", "Pl", "Trail", "Loop")
CITIES = (
    ("Austin", "TX", "787"),
    ("Round Rock", "TX", "786"),
    ("Phoenix", "AZ", "850"),
    ("Scottsdale", "AZ", "852"),
    ("Denver", "CO", "802"),
    ("Boise", "ID", "837"),
    ("Raleigh", "NC", "276"),
    ("Charlotte", "NC", "282"),
    ("Orlando", "FL", "328"),
    ("Tampa", "FL", "336"),
    ("Nashville", "TN", "372"),
    ("Atlanta", "GA", "303"),
    ("Las Vegas", "NV", "891"),
    ("Sacramento", "CA", "958"),
    ("Salt Lake City", "UT", "841"),
)
WORDS = [
    "Willow",
    "Creek",
    "Stone",
    "Ridge",
    "Meadow",
    "Brook",
    "Falcon",
    "Point",
    "Heritage",
    "Oaks",
    "Sunset",
    "Hills",
    "River",
    "Bend",
    "Eagle",
    "Crest",
    "Silver",
    "Lake",
    "Cedar",
    "Park",
    "Prairie",
    "View",
    "Harbor",
    "Pointe",
    "Aspen",
    "Grove",
    "Canyon",
    "Vista",
    "Mesa",
    "Verde",
    "Autumn",
    "Trace",
    "Bluebonnet",
    "Fields",
    "Highland",
    "Glen",
    "Copper",
    "Springs",
]


def _rng(seed: int, kind: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{kind}:{index}")


def fake_person(seed: int, index: int) -> dict[str, str]:
    """A realistic, deterministic person: first, last, email, phone."""
    rng = _rng(seed, "person", index)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "first": first,
        "last": last,
        "email": f"{first.lower()}.{last.lower()}{index}@example.com",
        "phone": f"{rng.randint(201, 989)}-555-{rng.randint(0, 9999):04d}",
    }


def fake_address(seed: int, index: int) -> dict[str, str]:
    """A realistic, deterministic US address: line1, city, state, postal_code."""
    rng = _rng(seed, "address", index)
    city, state, zip3 = rng.choice(CITIES)
    return {
        "line1": f"{rng.randint(100, 9999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}",
        "city": city,
        "state": state,
        "postal_code": f"{zip3}{rng.randint(1, 99):02d}",
    }


def fake_words(seed: int, index: int, kind: str = "community") -> str:
    """A realistic, deterministic two-word place name."""
    rng = _rng(seed, kind, index)
    return f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
