"""One vendor credential's request budget, shared by every process that uses it, in Redis.

Each request reserves the next free slot of the credential's schedule (GCRA in its "virtual
scheduling" form): one Lua script reads the theoretical arrival time (TAT), grants the slot
``max(now, TAT, pause end)``, moves the TAT one emission interval (``period / rate``) on and
returns how long to wait for the slot. Slots are exactly one interval apart whichever replica
takes them, so no one-second window ever holds more than the rate, and since a waiting
request owns its slot (nobody polls and nobody loses a race) replicas with work use the
whole budget between them. Time is Redis's own (``TIME``): the replicas' clocks never meet.

A vendor's 429 sets the credential's pause end in Redis; every replica's next reservation
starts after it, and a request that slept towards its slot looks again before it goes.

The keys hold no secret: the credential is named by a hash (see
:meth:`hub.client.settings.ConnectorSettings.credential_id`). Both keys of a credential share
a Redis Cluster hash tag, as a script may only touch one slot.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog

from hub.errors import ConnectionFailed

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_PREFIX", "SharedBudget", "redis_address"]

log = structlog.get_logger("hub.client")

#: the default start of every key this module writes
DEFAULT_PREFIX = "prophub:budget:"

# KEYS: tat, pause. ARGV: the emission interval in microseconds.
# Returns the microseconds until the granted slot. Numbers are kept as '%.0f' text: Lua's
# default formatting keeps 14 digits, and a microsecond clock has 16.
_RESERVE = """
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'),
                       tonumber(redis.call('GET', KEYS[2]) or '0'))
local tat = start + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',
           math.ceil((tat - now) / 1000) + 1000)
return start - now
"""

# KEYS: pause. ARGV: the pause in microseconds (0: only read it).
# Returns the microseconds left of the pause.
_PAUSE = """
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local resume = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = now + tonumber(ARGV[1])
if wanted > resume then
  resume = wanted
  redis.call('SET', KEYS[1], string.format('%.0f', resume), 'PX',
             math.ceil((resume - now) / 1000) + 1000)
end
return math.max(0, resume - now)
"""

#: the Redis errors that mean "the store is not there"; the others are bugs and propagate
_UNREACHABLE: tuple[type[BaseException], ...] = (OSError, TimeoutError)


def redis_address(url: str) -> str:
    """Where ``url`` points, for an error message: host and port, never a password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    try:
        port = parts.port or 6379
    except ValueError:
        port = 6379
    return f"{parts.scheme}://{parts.hostname or '?'}:{port}"


class _SharedClients:
    """One Redis client per URL and event loop, closed when its last budget closes.

    Hundreds of tenants' connectors on one replica share a handful of connections instead of
    holding a pool each.
    """

    def __init__(self) -> None:
        self._clients: dict[tuple[str, asyncio.AbstractEventLoop], tuple[Redis, int]] = {}

    def take(self, url: str) -> Redis:
        """The shared client for ``url`` in the running loop (one more user)."""
        from redis.asyncio import Redis

        key = (url, asyncio.get_running_loop())
        client, users = self._clients.get(key) or (Redis.from_url(url), 0)
        self._clients[key] = (client, users + 1)
        return client

    async def give_back(self, url: str) -> None:
        """One user fewer; the last closes the client."""
        key = (url, asyncio.get_running_loop())
        client, users = self._clients[key]
        if users > 1:
            self._clients[key] = (client, users - 1)
            return
        del self._clients[key]
        await client.aclose()


_clients = _SharedClients()


class SharedBudget:
    """A credential's rate and 429 pause, held in Redis for every replica."""

    def __init__(
        self,
        url: str,
        credential: str,
        rate: float,
        period: float = 1.0,
        *,
        vendor: str = "",
        prefix: str = DEFAULT_PREFIX,
        margin: float = 0.02,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("a shared budget needs a rate above 0")
        self.url = url
        self.vendor = vendor
        # Slots a little further apart than the rate asks (2% of the budget by default): a
        # window the vendor counts at its gateway then holds no more than the rate although
        # the network delays some requests more than others, by up to ``margin * period``.
        self.interval_us = math.ceil(period * 1_000_000 / rate * (1 + margin))
        # One hash tag for both keys: Redis Cluster runs a script on one slot only.
        self.tat_key = f"{prefix}{{{credential}}}:tat"
        self.pause_key = f"{prefix}{{{credential}}}:pause"
        self.sleep = sleep or asyncio.sleep
        self._client: Redis | None = None
        self._reserve: Any = None
        self._pause: Any = None
        self._pausing: set[asyncio.Task[None]] = set()
        self._unreachable_errors: tuple[type[BaseException], ...] = _UNREACHABLE

    def _scripts(self) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout

        self._client = client = _clients.take(self.url)
        # redis-py's Script runs EVALSHA and loads the script again after a NOSCRIPT
        # (a restarted server): one round trip per call.
        self._reserve = client.register_script(_RESERVE)
        self._pause = client.register_script(_PAUSE)
        self._unreachable_errors = (RedisConnectionError, RedisTimeout, *_UNREACHABLE)

    def _unreachable(self, exc: BaseException) -> ConnectionFailed:
        return ConnectionFailed(
            f"shared rate limit unreachable at {redis_address(self.url)} ({type(exc).__name__})",
            vendor=self.vendor,
        )

    async def _run(self, name: str, keys: list[str], arg: int) -> int:
        if self._client is None:
            self._scripts()
        script = self._reserve if name == "reserve" else self._pause
        try:
            return int(await script(keys=keys, args=[arg]))
        except self._unreachable_errors as exc:
            raise self._unreachable(exc) from None

    async def acquire(self) -> None:
        """Wait for this request's slot (and out any pause every replica shares)."""
        if self._pausing:
            # Shielded: a request cancelled while it waits must not cancel the pause every
            # replica is to see.
            await asyncio.shield(asyncio.gather(*self._pausing))
        loop = asyncio.get_running_loop()
        second_chance = True
        while True:
            wait = await self._run("reserve", [self.tat_key, self.pause_key], self.interval_us)
            if wait <= 0:
                return  # the script saw no pause: nothing can have begun since
            due = loop.time() + wait / 1_000_000
            await self.sleep(wait / 1_000_000)
            # A 429 met by any replica while this request slept holds it too; its slot is
            # given up and a new one taken after the pause.
            left = await self._run("pause", [self.pause_key], 0)
            if left > 0:
                await self.sleep(left / 1_000_000)
                continue
            if loop.time() - due <= self.interval_us / 1_000_000 or not second_chance:
                return
            # Woken more than a slot late (a busy loop): sent now, it would go out with the
            # requests of the slots after it, more in a second than the rate. Its slot is
            # given up and a new one taken, once (a loop late every time still sends).
            second_chance = False

    def pause(self, seconds: float) -> None:
        """Pause the credential for every replica for ``seconds`` (a vendor's Retry-After);
        written at once in the background, and awaited by this replica's next request."""
        task = asyncio.get_running_loop().create_task(self._pause_in_background(seconds))
        self._pausing.add(task)
        task.add_done_callback(self._pausing.discard)

    async def pause_now(self, seconds: float) -> None:
        """Pause the credential for every replica for ``seconds``."""
        await self._run("pause", [self.pause_key], math.ceil(seconds * 1_000_000))

    async def _pause_in_background(self, seconds: float) -> None:
        try:
            await self.pause_now(seconds)
        except ConnectionFailed as exc:
            # This replica still holds its own pause; its next request meets the same error.
            log.warning("shared pause not written", vendor=self.vendor, error=str(exc))

    async def paused_for(self) -> float:
        """Seconds left of the credential's pause (0.0: none)."""
        return await self._run("pause", [self.pause_key], 0) / 1_000_000

    async def aclose(self) -> None:
        """Give the shared Redis client back (closed with its last user)."""
        if self._pausing:
            await asyncio.gather(*self._pausing, return_exceptions=True)
        if self._client is not None:
            self._client = None
            await _clients.give_back(self.url)
