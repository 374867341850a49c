"""The vendor HTTP client every connector uses.

``VendorClient`` owns one aiohttp session. A request passes through the connector's limits
(rate, concurrency, 429 pause), its auth middleware, then the retry loop decides from the
answer: idempotent calls are retried on 429/5xx, connection errors, timeouts and unreadable
bodies; a create (``create=True``) only when it provably did not take effect (the connection
was refused, or a 429). Otherwise the error says ``outcome_unknown`` so the caller looks the
record up before creating it again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from enum import Enum
from types import TracebackType
from typing import Any, Self

import aiohttp
import structlog
from aiohttp.payload import BytesPayload
from pydantic_core import to_json

from hub.client.auth import OAuth2ClientCredentials
from hub.client.deadlines import Deadlines
from hub.client.limits import Limits
from hub.client.observer import RequestObserver
from hub.client.pages import read_pages
from hub.client.paging import Counted, Paginator, ReadTally
from hub.client.response import (
    JSON_TYPE,
    ErrorMessages,
    Response,
    default_error_messages,
    error_for_response,
    is_html,
)
from hub.client.retry import (
    Budget,
    RetryPolicy,
    Sleep,
    default_sleep,
    retry_delay,
)
from hub.errors import (
    ConnectionFailed,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    ResponseTooLarge,
    TokenUnavailable,
    TransientError,
    VendorError,
)

__all__ = [
    "DEFAULT_MAX_BODY",
    "TRANSPORT_ERRORS",
    "Middleware",
    "VendorClient",
    "bounded_body",
    "transport_error",
]

log = structlog.get_logger("hub.client")

Middleware = Callable[..., Any]
TRANSPORT_ERRORS = (
    aiohttp.ClientConnectorError,  # refused: nothing was sent
    aiohttp.ClientPayloadError,
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientOSError,
    TimeoutError,
)
#: the largest answer body kept by default: a 1,000-record page of any vendor is well under
#: it, and a body that never ends is cut off here instead of growing without bound
DEFAULT_MAX_BODY = 64 * 1024 * 1024


class _State(Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


class VendorClient:
    """One vendor's HTTP client: session lifecycle, auth, limits, retries, typed errors."""

    def __init__(
        self,
        *,
        vendor: str,
        base_url: str,
        auth: Middleware | None = None,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        error_messages: ErrorMessages | None = None,
        default_headers: Mapping[str, str] | None = None,
        observer: RequestObserver | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_body: int = DEFAULT_MAX_BODY,
        read_ahead: int = 0,
    ) -> None:
        self.vendor = vendor
        self.max_body = max_body
        self.read_ahead = read_ahead
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.error_messages = error_messages or default_error_messages
        self.default_headers = dict(default_headers or {})
        self.observer = observer
        self.sleep = sleep or default_sleep
        self.clock = clock
        self.limits = limits or Limits(10.0, clock=clock, sleep=self.sleep)
        self._session: aiohttp.ClientSession | None = None
        self._deadlines = Deadlines(timeout)
        self._state = _State.UNOPENED
        self._log: Any = log
        self._log_requests = False

    async def __aenter__(self) -> Self:
        if self._state is not _State.UNOPENED:
            raise RuntimeError("a VendorClient can be opened once")
        self._state = _State.OPENED
        # Bound once: the per-request debug line costs nothing when debug is off.
        self._log = log.bind(vendor=self.vendor)
        self._log_requests = self._log.is_enabled_for(logging.DEBUG)
        self._session = aiohttp.ClientSession(
            # The whole request's deadline is kept by ``Deadlines``, without a timer per
            # request; aiohttp times only the opening of a new connection.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout),
            headers={"Accept": "application/json", **self.default_headers},
            middlewares=(self.auth,) if self.auth is not None else (),
        )
        if isinstance(self.auth, OAuth2ClientCredentials):
            self.auth.bind(self._session, self.limits.pace)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._state = _State.CLOSED
        self._deadlines.close()
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open session (only inside ``async with``)."""
        if self._session is None or self._state is not _State.OPENED:
            raise RuntimeError("VendorClient is not open: use `async with client:`")
        return self._session

    # -- requests ----------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        create: bool = False,
        expect_json: bool | None = None,
    ) -> Response:
        """Send a request with retries; error statuses raise the matching ``VendorError``."""
        method = method.upper()
        parse = method == "GET" if expect_json is None else expect_json
        session, limits, deadlines = self.session, self.limits, self._deadlines
        url = self.base_url + path
        query = _params(params) if params else None
        # Encoded once for every attempt (bytes are re-sendable), by pydantic-core's encoder.
        body = None if json is None else BytesPayload(to_json(json), content_type=JSON_TYPE)
        budget: Budget | None = None  # made on the first failure: most calls need none
        attempt, started = 1, self.clock()
        while True:
            sent, status = self.clock(), None
            try:
                # One attempt, inline: each layer here is paid on every resume of a request.
                await limits.acquire()
                ticket = deadlines.start()
                try:
                    async with session.request(
                        method, url, params=query, data=body, headers=headers
                    ) as resp:
                        status = resp.status
                        length = resp.content_length
                        if length is not None and length <= self.max_body:
                            payload = await resp.read()
                        else:
                            payload = await bounded_body(
                                resp, self.max_body, self.vendor, method, path
                            )
                        response = Response(
                            status, resp.headers, payload, method, path, self.vendor
                        )
                except TRANSPORT_ERRORS as exc:
                    raise transport_error(self.vendor, method, path, exc) from None
                except asyncio.CancelledError:
                    if not deadlines.expired(ticket):
                        raise
                    raise transport_error(self.vendor, method, path, TimeoutError()) from None
                finally:
                    deadlines.finish(ticket)
                    limits.release()
                    self._observe(method, path, status, self.clock() - sent, attempt)
                if status >= 400:
                    raise self._status_error(response, create)
                if parse:
                    response.json()
                elif is_html(response.headers, payload):
                    # A body nobody reads still says whether the vendor answered at all.
                    raise ProtocolError(
                        "HTML page instead of an API answer",
                        vendor=self.vendor,
                        method=method,
                        path=path,
                        status=status,
                    )
                return response
            except TransientError as exc:
                budget = budget or Budget(self.retry, self.clock, attempt, started)
                await self._maybe_retry(exc, budget, method, path, create)
            except ProtocolError as exc:
                if not exc.worth_retrying:
                    exc.outcome_unknown = create
                    raise
                if method != "GET":
                    # The answer was unreadable, not the request: a write may have happened.
                    exc.outcome_unknown = create
                    raise
                budget = budget or Budget(self.retry, self.clock, attempt, started)
                await self._maybe_retry(exc, budget, method, path, create)
            attempt = budget.next_attempt()

    async def _maybe_retry(
        self, exc: VendorError, budget: Budget, method: str, path: str, create: bool
    ) -> None:
        """Sleep before the next attempt, or re-raise when retrying is wrong or out of budget."""
        provably_not_applied = isinstance(exc, RateLimited | TokenUnavailable) or (
            isinstance(exc, ConnectionFailed) and not exc.outcome_unknown
        )
        if create and not provably_not_applied:
            exc.outcome_unknown = True
            raise exc
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            delay = min(exc.retry_after, self.retry.max_retry_after)
        else:
            delay = retry_delay(budget.attempt, policy=self.retry)
        if isinstance(exc, RateLimited):
            # The vendor's word holds for every request of the credential, this one's
            # retries spent or not: paused before giving up, too.
            self.limits.pause(delay)
        if not budget.allows(delay):
            raise exc
        if self.observer is not None:
            self.observer.on_retry(self.vendor, method, path, budget.attempt, type(exc).__name__)
        log.info(
            "retrying",
            vendor=self.vendor,
            method=method,
            path=path,
            attempt=budget.attempt,
            delay_s=round(delay, 3),
            reason=type(exc).__name__,
        )
        if not isinstance(exc, RateLimited):  # paused above: this one waits with the rest
            await self.sleep(delay)

    def _observe(
        self, method: str, path: str, status: int | None, elapsed: float, attempt: int
    ) -> None:
        if self._log_requests:
            self._log.debug(
                "request",
                method=method,
                path=path,
                status=status,
                attempt=attempt,
                elapsed_ms=round(elapsed * 1000, 1),
            )
        if self.observer is not None:
            self.observer.on_request(self.vendor, method, path, status, elapsed, attempt)

    def _status_error(self, response: Response, create: bool) -> VendorError:
        messages = self.error_messages(response.status, response.headers, response.body)
        error = error_for_response(response, messages, create)
        if isinstance(error, RateLimited) and self.observer is not None:
            self.observer.on_throttled(self.vendor, error.retry_after)
        return error

    # -- paging ------------------------------------------------------------------------------

    def paginate(
        self,
        path: str,
        paginator: Paginator,
        *,
        params: Mapping[str, Any] | None = None,
        items: Callable[[Response], list[Any] | Counted] | None = None,
        tally: ReadTally | None = None,
    ) -> AsyncIterator[list[Any]]:
        """Each page's items in order, the pages after the first asked for together where the
        first says how far the read goes (see :func:`hub.client.pages.read_pages`)."""
        return read_pages(self, path, paginator, params=params, items=items, tally=tally)


async def bounded_body(
    resp: aiohttp.ClientResponse, limit: int, vendor: str, method: str, path: str
) -> bytes:
    """The body, read piece by piece and given up past ``limit`` bytes (at once when
    its declared length is already past it)."""
    declared = resp.content_length or 0
    chunks: list[bytes] = []
    size = 0
    while declared <= limit:
        chunk = await resp.content.readany()
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            break
        chunks.append(chunk)
    raise ResponseTooLarge(
        f"answer larger than {limit} bytes (max_response_bytes)",
        vendor=vendor,
        method=method,
        path=path,
        status=resp.status,
    )


def transport_error(vendor: str, method: str, path: str, exc: BaseException) -> VendorError:
    """The typed error for a failed exchange: a refused connection provably sent nothing,
    while a dropped one or a timeout may have been applied (outcome unknown)."""
    # A read changes nothing at the vendor: its outcome is never in doubt.
    writes = method not in ("GET", "HEAD")
    if isinstance(exc, TimeoutError):
        return RequestTimeout(
            "timed out", vendor=vendor, method=method, path=path, outcome_unknown=writes
        )
    return ConnectionFailed(
        f"connection failed ({type(exc).__name__})",
        vendor=vendor,
        method=method,
        path=path,
        outcome_unknown=writes and not isinstance(exc, aiohttp.ClientConnectorError),
    )


def _params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if params is None:
        return None
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        out[key] = str(value)
    return out
