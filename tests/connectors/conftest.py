"""Connector fixtures: sandboxes that record every exchange they serve."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from connectors.buildium.sandbox import BuildiumSandbox
from tests.connectors.buildium_openapi import Exchange

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RecordingBuildium(BuildiumSandbox):
    """The Buildium sandbox, remembering each request and response for validation."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.exchanges: list[Exchange] = []

    def outer_middlewares(self) -> list[Any]:
        return [self._recorder]

    @web.middleware
    async def _recorder(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        response = await handler(request)
        if not request.path.startswith("/_sandbox/") and isinstance(response, web.Response):
            self.exchanges.append(
                Exchange(
                    request.method,
                    request.path_qs,
                    dict(request.headers),
                    body,
                    response.status,
                    dict(response.headers),
                    bytes(response.body or b""),
                )
            )  # type: ignore[arg-type]
        return response
