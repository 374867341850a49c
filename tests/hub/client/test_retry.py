"""The pure retry decision: Retry-After in both forms, capped full-jitter backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from hub.client.retry import RetryPolicy, parse_retry_after, retry_delay

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    """Retry-After is read as delta-seconds or as an HTTP-date; garbage is ignored."""
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    """The server's pause comes first, up to the policy's longest honoured pause."""
    policy = RetryPolicy(max_retry_after=60)
    assert retry_delay(1, policy=policy, headers={"Retry-After": "12"}) == 12
    assert retry_delay(1, policy=policy, headers={"Retry-After": "600"}) == 60
    date = format_datetime(NOW + timedelta(seconds=5), usegmt=True)
    assert retry_delay(1, policy=policy, headers={"Retry-After": date}, now=NOW) == 5


def test_backoff_is_exponential_full_jitter_and_capped() -> None:
    """Without Retry-After the ceiling doubles per attempt up to the cap; jitter scales it."""
    policy = RetryPolicy(base=0.5, cap=4.0)
    ceilings = [retry_delay(n, policy=policy, rand=lambda: 1.0) for n in range(1, 7)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert retry_delay(3, policy=policy, rand=lambda: 0.25) == 0.5
