"""The settings every connector plugin shares: where the vendor is and how hard to call it.

A vendor's plugin subclasses :class:`ConnectorSettings` with its credentials; the connector
contract (:mod:`hub.connector`) names the subclass, and :mod:`hub.config` validates each
``[connectors.<name>]`` table against it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import time
from collections.abc import Awaitable, Callable
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from yarl import URL

from hub.client.limits import Limits
from hub.client.retry import RetryPolicy

__all__ = ["MAX_CONCURRENCY", "MAX_WAIT", "ConnectorSettings", "Strict", "shown"]

#: the longest any configured wait (a timeout, a backoff, a drain) may be: one day
MAX_WAIT = 86400.0
#: the most writes or requests in flight a setting may ask for
MAX_CONCURRENCY = 1000


class Strict(BaseModel):
    """A settings table: unknown keys are errors, and so are inf and nan."""

    # inf and nan are valid TOML floats, and neither is a rate, a timeout or a share.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def shown(text: str) -> str:
    """A value for an error message, cut short: a config line may be any length."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


class ConnectorSettings(Strict):
    """Settings every connector shares; a vendor subclass adds its credentials."""

    type: str
    base_url: str
    rate_limit: float = Field(default=10.0, ge=0)  # 0: no rate limit
    max_concurrency: int = Field(default=4, ge=1, le=MAX_CONCURRENCY)
    timeout: float = Field(default=30.0, gt=0, le=MAX_WAIT)
    max_retries: int = Field(default=5, ge=0, le=100)
    retry_base: float = Field(default=0.5, gt=0, le=MAX_WAIT)
    retry_cap: float = Field(default=30.0, gt=0, le=MAX_WAIT)
    retry_max_time: float = Field(default=120.0, gt=0, le=MAX_WAIT)
    page_size: int | None = Field(default=None, ge=1)
    #: the largest answer body kept; past it a call fails with ResponseTooLarge
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    #: pages asked for at once where a read's end is unknown (past the end: a few requests
    #: spent on empty pages, at most this many a read); 0 or 1: one page at a time
    read_ahead: int = Field(default=2, ge=0, le=64)
    #: a Redis URL (``redis://host:6379/0``) where every replica keeps this credential's
    #: request budget and 429 pause; unset: the limit holds within this process only
    shared_limit_url: str | None = None

    #: the fields naming the credential a vendor counts requests against, the first one set
    #: wins (a vendor subclass may name its own)
    credential_fields: ClassVar[tuple[str, ...]] = ("client_id", "api_key", "username")

    def credential_id(self) -> str:
        """A stable name of the credential these settings use, holding no secret: the hash of
        the vendor, its URL and the credential's identifying field."""
        digest = hashlib.sha256(f"{self.type}\n{self.base_url}\n".encode())
        for name in self.credential_fields:
            value = getattr(self, name, None)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if value:
                digest.update(f"{name}\n{value}".encode())
                break
        return digest.hexdigest()[:32]

    def retry_policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        return RetryPolicy(
            max_attempts=self.max_retries + 1,
            base=self.retry_base,
            cap=self.retry_cap,
            max_total=self.retry_max_time,
        )

    def limits(
        self,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> Limits:
        """The rate limit and concurrency cap these settings describe (the rate shared by
        every replica through ``shared_limit_url`` when it is set)."""
        shared = None
        if self.shared_limit_url and self.rate_limit > 0:
            from hub.client.shared_limits import SharedBudget

            shared = SharedBudget(
                self.shared_limit_url,
                self.credential_id(),
                self.rate_limit,
                vendor=self.type,
            )  # real sleeps: the budget is kept on Redis's clock, which a test's cannot move
        return Limits(
            self.rate_limit,
            max_concurrency=self.max_concurrency,
            sleep=sleep,
            clock=clock or time.monotonic,
            shared=shared,
        )

    @field_validator("shared_limit_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^(redis|rediss|unix)://\S+$", value):
            # Not the value itself: a Redis URL may carry a password.
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        if importlib.util.find_spec("redis") is None:
            raise ValueError("needs the redis client: pip install 'property-hub[scale]'")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL")
        # What aiohttp would refuse on the first request (a bad port, an unclosed IPv6
        # bracket, a host no resolver can encode), refused here instead.
        try:
            host = URL(value).raw_host or ""
        except ValueError as exc:
            raise ValueError(f"is not a valid URL: {exc}") from None
        try:
            if not host or any(c.isspace() for c in host):
                raise UnicodeError
            host.encode("idna")
        except UnicodeError:
            raise ValueError(f"has no valid host name ({shown(host)})") from None
        return value.rstrip("/")
