"""The base of every HTTP connector: one ``VendorClient`` built from the plugin settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypedDict, Unpack

from hub.client.observer import RequestObserver
from hub.client.response import ErrorMessages
from hub.client.retry import RetryPolicy, Sleep
from hub.client.settings import ConnectorSettings
from hub.client.vendor import Middleware, VendorClient
from hub.errors import NotFound

__all__ = ["ClientOptions", "HTTPConnector"]


class ClientOptions(TypedDict, total=False):
    """What a connector's maker may pass beside the settings (the plugin factory's keywords)."""

    #: the connector's name in the config (default: the vendor's)
    name: str
    observer: RequestObserver | None
    sleep: Sleep | None
    #: the monotonic clock backoff, Retry-After and the rate limit are measured on (tests
    #: pass a virtual one with their ``sleep``)
    clock: Callable[[], float] | None
    #: replaces the policy the settings describe (tests, benchmarks)
    retry: RetryPolicy | None


class HTTPConnector:
    """What every HTTP connector shares: one VendorClient, opened by ``async with``.

    A vendor connector subclasses it, passing its auth and its error-message hook, and hands
    its callers' :class:`ClientOptions` through unchanged.
    """

    vendor = ""

    def __init__(
        self,
        settings: ConnectorSettings,
        *,
        auth: Middleware | None,
        error_messages: ErrorMessages | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        self.name = options.get("name") or self.vendor
        sleep, clock = options.get("sleep"), options.get("clock")
        self.client = VendorClient(
            vendor=self.vendor,
            base_url=settings.base_url,
            auth=auth,
            limits=settings.limits(sleep, clock),
            retry=options.get("retry") or settings.retry_policy(),
            timeout=settings.timeout,
            max_body=settings.max_response_bytes,
            read_ahead=settings.read_ahead,
            error_messages=error_messages,
            observer=options.get("observer"),
            sleep=sleep,
            clock=clock or time.monotonic,
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
        try:
            await self.client.__aexit__(exc_type, exc, tb)
        finally:
            await self.client.limits.aclose()

    async def get_object(self, path: str) -> dict[str, Any] | None:
        """The JSON object at ``path``, or None when the vendor answers 404.

        An answer that is not an object is a ``ProtocolError``: taking it for "not there"
        would lead a caller to create the record again.
        """
        try:
            response = await self.client.request("GET", path)
        except NotFound:
            return None
        data = response.json()
        if not isinstance(data, dict):
            raise response.unexpected("expected a JSON object")
        return data
