"""Auth strategies as aiohttp client middlewares: each decorates a request, nothing more."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
from pydantic import SecretStr
from yarl import URL

from hub.errors import AuthFailed, ProtocolError
from hub.log import register_secret

__all__ = ["HeaderAuth", "OAuth2ClientCredentials"]

Handler = Callable[[aiohttp.ClientRequest], Any]


def _reveal(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class HeaderAuth:
    """Static headers (Buildium's client id and secret, Propertybase GO's API key)."""

    def __init__(self, headers: Mapping[str, SecretStr | str]) -> None:
        self._headers = dict(headers)
        for value in self._headers.values():
            if isinstance(value, SecretStr):
                register_secret(value.get_secret_value())

    async def __call__(
        self, request: aiohttp.ClientRequest, handler: Handler
    ) -> aiohttp.ClientResponse:
        for name, value in self._headers.items():
            request.headers[name] = _reveal(value)
        response: aiohttp.ClientResponse = await handler(request)
        return response

    def __repr__(self) -> str:
        return f"HeaderAuth(headers={sorted(self._headers)})"


class OAuth2ClientCredentials:
    """OAuth2 client-credentials bearer tokens: cached, refreshed once for everyone, 401-retried."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        scopes: Sequence[str] = (),
        *,
        vendor: str = "",
        margin: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = tuple(scopes)
        self.vendor = vendor
        self.margin = margin
        self.clock = clock
        self.tokens_issued = 0
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        register_secret(client_secret.get_secret_value())

    def bind(self, session: aiohttp.ClientSession) -> None:
        """Use this session (without middlewares) to fetch tokens."""
        self._session = session

    def _valid(self) -> bool:
        return self._token is not None and self.clock() < self._expires_at

    def invalidate(self, token: str) -> None:
        """Forget ``token`` if it is still the current one (a 401 said it is dead)."""
        if self._token == token:
            self._token = None

    async def token(self) -> str:
        """A valid access token; concurrent callers share one refresh."""
        if self._valid():
            return self._token  # type: ignore[return-value]
        async with self._lock:
            if not self._valid():
                await self._fetch()
            return self._token  # type: ignore[return-value]

    async def _fetch(self) -> None:
        if self._session is None:
            raise RuntimeError("OAuth2ClientCredentials is not bound to a session")
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.get_secret_value(),
        }
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        async with self._session.post(self.token_url, data=form, middlewares=()) as resp:
            body = await resp.read()
            status = resp.status
        payload = self._decode(status, body)
        token = payload.get("access_token")
        if status != 200 or not isinstance(token, str):
            messages = [
                str(payload.get(k))
                for k in ("error", "error_description", "message")
                if payload.get(k)
            ]
            raise AuthFailed(
                "token request failed",
                vendor=self.vendor,
                method="POST",
                path=_path(self.token_url),
                status=status,
                messages=messages,
            )
        register_secret(token)
        self._token = token
        lifetime = float(payload.get("expires_in") or 3600)
        self._expires_at = self.clock() + max(0.0, lifetime - self.margin)
        self.tokens_issued += 1

    def _decode(self, status: int, body: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(body)
        except ValueError:
            if status != 200:
                return {}
            raise ProtocolError(
                "token endpoint answered no JSON",
                vendor=self.vendor,
                method="POST",
                path=_path(self.token_url),
                status=status,
            ) from None
        return payload if isinstance(payload, dict) else {}

    async def __call__(
        self, request: aiohttp.ClientRequest, handler: Handler
    ) -> aiohttp.ClientResponse:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response: aiohttp.ClientResponse = await handler(request)
        if response.status != 401:
            return response
        response.release()
        self.invalidate(token)
        request.headers["Authorization"] = f"Bearer {await self.token()}"
        retried: aiohttp.ClientResponse = await handler(request)
        return retried

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"
        )


def _path(url: str) -> str:
    return URL(url).path
