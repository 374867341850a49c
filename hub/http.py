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
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import aiohttp
import structlog
from aiohttp.payload import BytesPayload
from pydantic_core import from_json, to_json

from hub.auth import OAuth2ClientCredentials
from hub.deadlines import Deadlines
from hub.errors import (
    ConnectionFailed,
    PaginationError,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    ResponseTooLarge,
    TokenUnavailable,
    TransientError,
    VendorError,
    error_for_status,
)
from hub.limits import Limits
from hub.paging import Page, Paginator, ReadTally
from hub.retry import Budget, RetryPolicy, Sleep, default_sleep, parse_retry_after, retry_delay

if TYPE_CHECKING:
    from hub.config import ConnectorSettings

__all__ = ["HTTPConnector", "RequestObserver", "Response", "VendorClient"]

log = structlog.get_logger("hub.http")

ErrorMessages = Callable[[int, Mapping[str, str], bytes], list[str]]
Middleware = Callable[..., Any]
JSON_TYPE = "application/json"
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
_REQUEST_ID_HEADERS = ("X-Request-Id", "X-Amzn-RequestId", "Request-Id", "X-Correlation-Id")


class RequestObserver(Protocol):
    """Hooks for metrics: called off the request path's decisions, never altering them."""

    def on_request(
        self,
        vendor: str,
        method: str,
        path: str,
        status: int | None,
        elapsed: float,
        attempt: int,
    ) -> None:
        """One attempt finished (status None: no answer)."""

    def on_throttled(self, vendor: str, retry_after: float | None) -> None:
        """The vendor answered 429."""

    def on_retry(self, vendor: str, method: str, path: str, attempt: int, reason: str) -> None:
        """An attempt will be retried."""


@dataclass(slots=True)  # not frozen: one is made per request, and frozen init costs 4x
class Response:
    """A complete answer: status, headers and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    method: str
    path: str
    vendor: str = ""
    _decoded: list[Any] = field(default_factory=list, repr=False, compare=False)

    def json(self) -> Any:
        """The body as JSON; ``ProtocolError`` for HTML pages, truncated or invalid JSON."""
        if not self._decoded:  # decoded once: the client checks it, then the caller uses it
            self._decoded.append(
                decode_json(
                    self.vendor, self.method, self.path, self.status, self.headers, self.body
                )
            )
        return self._decoded[0]


def decode_json(
    vendor: str, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
) -> Any:
    """Decode a JSON body or raise a ``ProtocolError`` saying what came instead."""
    context = {"vendor": vendor, "method": method, "path": path, "status": status}
    if is_html(headers, body):
        raise ProtocolError("HTML page instead of JSON", **context)  # type: ignore[arg-type]
    try:
        # pydantic-core's parser: twice as fast as json.loads on a page of records, and a
        # body nested past its depth limit is a ValueError here, not a RecursionError.
        return from_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProtocolError("body is not valid UTF-8", **context) from None  # type: ignore[arg-type]
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise ProtocolError(
                "JSON nested too deeply to read",
                worth_retrying=False,
                **context,
            ) from None
        problem = "empty body" if not body.strip() else "truncated or invalid JSON"
        raise ProtocolError(problem, **context) from None  # type: ignore[arg-type]


def is_html(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether an answer is a web page (a proxy's, a login's, an outage's), not API data."""
    if "html" in headers.get("Content-Type", "").lower():
        return True
    first = body[:1]
    return first == b"<" or (first.isspace() and body[:256].lstrip()[:1] == b"<")


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
    ) -> None:
        self.vendor = vendor
        self.max_body = max_body
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
            self.auth.bind(self._session)
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
                            payload = await self._bounded_body(resp, method, path)
                        response = Response(
                            status, resp.headers, payload, method, path, self.vendor
                        )
                except TRANSPORT_ERRORS as exc:
                    raise self._transport_error(method, path, exc) from None
                except asyncio.CancelledError:
                    if not deadlines.expired(ticket):
                        raise
                    raise self._transport_error(method, path, TimeoutError()) from None
                finally:
                    deadlines.finish(ticket)
                    limits.release()
                    self._observe(method, path, status, self.clock() - sent, attempt)
                if status >= 400:
                    self._raise_for_status(response, create)
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

    async def _bounded_body(
        self, resp: aiohttp.ClientResponse, method: str, path: str
    ) -> bytes:
        """The body, read piece by piece and given up past ``max_body`` bytes (at once when
        its declared length is already past it)."""
        declared = resp.content_length or 0
        chunks: list[bytes] = []
        size = 0
        while declared <= self.max_body:
            chunk = await resp.content.readany()
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_body:
                break
            chunks.append(chunk)
        raise ResponseTooLarge(
            f"answer larger than {self.max_body} bytes (max_response_bytes)",
            vendor=self.vendor,
            method=method,
            path=path,
            status=resp.status,
        )

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
        if isinstance(exc, RateLimited):
            self.limits.pause(delay)  # every request of this connector waits, this one too
        else:
            await self.sleep(delay)

    def _transport_error(self, method: str, path: str, exc: BaseException) -> VendorError:
        """The typed error for a failed exchange: a refused connection provably sent nothing,
        while a dropped one or a timeout may have been applied (outcome unknown)."""
        # A read changes nothing at the vendor: its outcome is never in doubt.
        writes = method not in ("GET", "HEAD")
        if isinstance(exc, TimeoutError):
            return RequestTimeout(
                "timed out", vendor=self.vendor, method=method, path=path, outcome_unknown=writes
            )
        return ConnectionFailed(
            f"connection failed ({type(exc).__name__})",
            vendor=self.vendor,
            method=method,
            path=path,
            outcome_unknown=writes and not isinstance(exc, aiohttp.ClientConnectorError),
        )

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

    def _raise_for_status(self, response: Response, create: bool) -> None:
        status = response.status
        if status < 400:
            return
        cls = error_for_status(status)
        kw: dict[str, Any] = {
            "vendor": self.vendor,
            "method": response.method,
            "path": response.path,
            "status": status,
            "messages": self.error_messages(status, response.headers, response.body),
            "request_id": _request_id(response.headers),
            "outcome_unknown": create and status >= 500,
        }
        if cls is RateLimited:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if self.observer is not None:
                self.observer.on_throttled(self.vendor, retry_after)
            raise RateLimited("rate limited", retry_after=retry_after, **kw)
        raise cls(_reason(status), **kw)

    # -- paging ------------------------------------------------------------------------------

    async def paginate(
        self,
        path: str,
        paginator: Paginator,
        *,
        params: Mapping[str, Any] | None = None,
        items: Callable[[Response], list[Any]] | None = None,
        tally: ReadTally | None = None,
    ) -> AsyncIterator[list[Any]]:
        """Yield each page's items, one page at a time; ``PaginationError`` on a loop.

        ``tally``, if given, counts the pages and items and keeps the total the paginator
        reads off each page (its ``total(page)``, where it has one).
        """
        stated = getattr(paginator, "total", None)
        extract = items or _list_body
        seen: set[tuple[tuple[str, str], ...]] = set()
        page_params: dict[str, Any] | None = paginator.first()
        while page_params is not None:
            query = {**(params or {}), **page_params}
            marker = tuple(sorted((k, str(v)) for k, v in query.items()))
            if marker in seen:
                raise PaginationError(f"{self.vendor} {path}: the same page was asked twice")
            seen.add(marker)
            response = await self.request("GET", path, params=query)
            found = extract(response)
            page = Page(page_params, found, response.headers)
            if tally is not None:
                tally.add(page, stated(page) if stated is not None else None)
            yield found
            page_params = paginator.next(page)


def _list_body(response: Response) -> list[Any]:
    data = response.json()
    if not isinstance(data, list):
        raise ProtocolError(
            "expected a JSON list",
            vendor=response.vendor,
            method=response.method,
            path=response.path,
            status=response.status,
        )
    return data


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


def _request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        if name in headers:
            return headers[name]
    return None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def default_error_messages(status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """A vendor-neutral guess at an error body's messages: JSON message fields, else text."""
    try:
        data = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return [text[:500]] if text and "html" not in headers.get("Content-Type", "") else []
    if isinstance(data, dict):
        found = [str(data[k]) for k in ("message", "error", "UserMessage", "detail") if data.get(k)]
        errors = data.get("errors")
        if isinstance(errors, list):
            found += [str(e)[:500] for e in errors]
        return found
    return []


class HTTPConnector:
    """What every HTTP connector shares: one VendorClient, opened by ``async with``.

    A vendor connector subclasses it, passing its auth and its error-message hook.
    """

    vendor = ""

    def __init__(
        self,
        settings: ConnectorSettings,
        *,
        name: str,
        auth: Middleware | None,
        error_messages: ErrorMessages | None = None,
        observer: RequestObserver | None = None,
        sleep: Sleep | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.name = name
        self.client = VendorClient(
            vendor=self.vendor,
            base_url=settings.base_url,
            auth=auth,
            limits=settings.limits(sleep),
            retry=retry or settings.retry_policy(),
            timeout=settings.timeout,
            max_body=settings.max_response_bytes,
            error_messages=error_messages,
            observer=observer,
            sleep=sleep,
        )

    async def __aenter__(self) -> Self:
        await self.client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.client.__aexit__(exc_type, exc, tb)
