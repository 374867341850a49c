"""A static bearer token: the one auth strategy the client's own module does not offer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from pydantic import SecretStr

from hub.secrets import register_secret

__all__ = ["BearerAuth"]


class BearerAuth:
    """``Authorization: Bearer <token>`` for a token issued once (an MLS server token, say).

    The token stays a ``SecretStr`` until the header is set, and is registered as a secret,
    so neither a log line nor an error message can show it. A token that expires and must
    be fetched again is :class:`~hub.client.auth.OAuth2ClientCredentials`' job.
    """

    def __init__(self, token: SecretStr) -> None:
        self._token = token
        register_secret(token.get_secret_value())

    async def __call__(
        self, request: aiohttp.ClientRequest, handler: Callable[[aiohttp.ClientRequest], Any]
    ) -> aiohttp.ClientResponse:
        request.headers["Authorization"] = "Bearer " + self._token.get_secret_value()
        response: aiohttp.ClientResponse = await handler(request)
        return response

    def __repr__(self) -> str:
        return "BearerAuth(token='**********')"
