"""Query parameters every sandbox reads the same way: page numbers and sizes, and times.

A parameter the vendor would refuse raises :class:`BadParameter`; each sandbox answers it in
its vendor's own error body, so the reading is shared and the wording stays the vendor's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

__all__ = ["BadParameter", "int_param", "time_param"]


class BadParameter(ValueError):
    """A query parameter out of range or unreadable: its name, its value, what was expected."""

    def __init__(self, name: str, raw: str, expected: str) -> None:
        super().__init__(f"{name} must be {expected}")
        self.name = name
        self.raw = raw
        self.expected = expected


def int_param(
    query: Mapping[str, str], name: str, default: int, low: int, high: int | None = None
) -> int:
    """The whole number ``name`` holds (``default`` when absent), within ``low..high``."""
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.lstrip("-").isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadParameter(name, raw, f"an integer {bounds}")
    return int(raw)


def time_param(query: Mapping[str, str], name: str) -> datetime | None:
    """The ISO 8601 time ``name`` holds (UTC when it names no zone), or None when absent."""
    raw = query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(name, raw, "an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
