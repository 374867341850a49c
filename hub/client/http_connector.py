"""The base of every HTTP connector: one ``VendorClient`` built from the plugin settings."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from hub.client.observer import RequestObserver
from hub.client.response import ErrorMessages
from hub.client.retry import RetryPolicy, Sleep
from hub.client.settings import ConnectorSettings
from hub.client.vendor import Middleware, VendorClient

__all__ = ["HTTPConnector"]


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
