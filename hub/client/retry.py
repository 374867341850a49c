"""When to retry a vendor call and how long to wait: one pure function and a budget."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["Budget", "RetryPolicy", "parse_retry_after", "retry_delay"]


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, backoff base and cap, a cap on total time, and the longest pause honoured."""

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    max_total: float = 120.0
    max_retry_after: float = 120.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_delay(
    attempt: int,
    *,
    policy: RetryPolicy,
    headers: Mapping[str, str] | None = None,
    rand: Callable[[], float] = random.random,
    now: datetime | None = None,
) -> float:
    """Wait before attempt ``attempt + 1``: Retry-After first, else capped full-jitter backoff."""
    server = parse_retry_after((headers or {}).get("Retry-After"), now)
    if server is not None:
        return min(server, policy.max_retry_after)
    return rand() * min(policy.cap, policy.base * float(2 ** max(0, attempt - 1)))


@dataclass
class Budget:
    """Tracks attempts and elapsed time against a policy."""

    policy: RetryPolicy
    clock: Callable[[], float] = time.monotonic
    attempt: int = 0
    started: float | None = None

    def next_attempt(self) -> int:
        """Count an attempt and return its number (1-based)."""
        if self.started is None:
            self.started = self.clock()
        self.attempt += 1
        return self.attempt

    def allows(self, delay: float) -> bool:
        """Whether another attempt after ``delay`` fits the attempt and time caps."""
        elapsed = self.clock() - (self.started or self.clock())
        return self.attempt < self.policy.max_attempts and elapsed + delay <= self.policy.max_total


Sleep = Callable[[float], Awaitable[None]]
default_sleep: Sleep = asyncio.sleep
