"""Auth strategies as aiohttp client middlewares: each decorates a request, nothing more."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
from pydantic import SecretStr
from yarl import URL

from hub.errors import AuthFailed, ProtocolError, TokenUnavailable, VendorError, error_for_status
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


Scopes = tuple[str, ...]


class OAuth2ClientCredentials:
    """OAuth2 client-credentials bearer tokens: cached, refreshed once for everyone, 401-retried.

    ``scope_for`` picks the scopes a request needs from its path, so each token carries only
    what its calls use; one token (and one refresh) is kept per scope set.
    """

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
        scope_for: Callable[[str], Sequence[str]] | None = None,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = tuple(scopes)
        self.vendor = vendor
        self.margin = margin
        self.clock = clock
        self.scope_for = scope_for
        self.tokens_issued = 0
        self._tokens: dict[Scopes, tuple[str, float]] = {}
        self._locks: dict[Scopes, asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None
        self._pace: Callable[[], Awaitable[None]] | None = None
        register_secret(client_secret.get_secret_value())

    def bind(
        self, session: aiohttp.ClientSession, pace: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Use this session (without middlewares) to fetch tokens, each paced by ``pace``
        (the connector's rate: a vendor counts its token requests too)."""
        self._session = session
        self._pace = pace

    def _current(self, scopes: Scopes) -> str | None:
        held = self._tokens.get(scopes)
        return held[0] if held is not None and self.clock() < held[1] else None

    def invalidate(self, token: str, scopes: Sequence[str] | None = None) -> None:
        """Forget ``token`` if it is still the current one (a 401 said it is dead)."""
        key = self.scopes if scopes is None else tuple(scopes)
        if self._current(key) == token:
            del self._tokens[key]

    async def token(self, scopes: Sequence[str] | None = None) -> str:
        """A valid access token for the scopes; concurrent callers share one refresh."""
        key = self.scopes if scopes is None else tuple(scopes)
        if (token := self._current(key)) is not None:
            return token
        async with self._locks.setdefault(key, asyncio.Lock()):
            if (token := self._current(key)) is None:
                token = await self._fetch(key)
            return token

    async def _fetch(self, scopes: Scopes) -> str:
        if self._session is None:
            raise RuntimeError("OAuth2ClientCredentials is not bound to a session")
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.get_secret_value(),
        }
        if scopes:
            form["scope"] = " ".join(scopes)
        if self._pace is not None:
            await self._pace()
        try:
            async with self._session.post(self.token_url, data=form, middlewares=()) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TokenUnavailable(
                f"token endpoint unreachable ({type(exc).__name__})",
                vendor=self.vendor,
                method="POST",
                path=_path(self.token_url),
            ) from None
        payload = self._decode(status, body)
        token = payload.get("access_token")
        if status != 200 or not isinstance(token, str):
            messages = [
                str(payload.get(k))
                for k in ("error", "error_description", "message")
                if payload.get(k)
            ]
            # A token endpoint that is down is a passing fault; one that refuses is not.
            cls: type[VendorError] = AuthFailed
            if status == 429:
                cls = error_for_status(status)
            elif status >= 500:
                cls = TokenUnavailable
            raise cls(
                "token request failed",
                vendor=self.vendor,
                method="POST",
                path=_path(self.token_url),
                status=status,
                messages=messages,
            )
        register_secret(token)
        lifetime = float(payload.get("expires_in") or 3600)
        self._tokens[scopes] = (token, self.clock() + max(0.0, lifetime - self.margin))
        self.tokens_issued += 1
        return token

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
        scopes = tuple(self.scope_for(request.url.raw_path)) if self.scope_for else self.scopes
        token = self._current(scopes) or await self.token(scopes)
        request.headers["Authorization"] = "Bearer " + token
        response: aiohttp.ClientResponse = await handler(request)
        if response.status != 401:
            return response
        response.release()
        self.invalidate(token, scopes)
        request.headers["Authorization"] = f"Bearer {await self.token(scopes)}"
        retried: aiohttp.ClientResponse = await handler(request)
        return retried

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"
        )


def _path(url: str) -> str:
    return URL(url).path
