"""How a sandbox runs: address, seed, size, rate limit, latency and the faults it injects."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["FaultSettings", "SandboxOptions"]


@dataclass
class FaultSettings:
    """Per-request probabilities of each injected fault (seeded, so runs repeat)."""

    error_rate: float = 0.0  # 5xx with the vendor's error body
    throttle_rate: float = 0.0  # 429 with Retry-After although under the rate
    drop_rate: float = 0.0  # connection dropped before any answer
    stall_rate: float = 0.0  # no answer for stall_seconds (past any sane client timeout)
    html_rate: float = 0.0  # an HTML error page from a "proxy"
    truncate_rate: float = 0.0  # a 200 whose JSON body is cut short
    stall_seconds: float = 60.0
    retry_after: int = 1

    @classmethod
    def spread(cls, total: float) -> FaultSettings:
        """Spread one overall fault rate evenly over every kind of fault."""
        share = total / 6
        return cls(share, share, share, share, share, share)

    def update(self, values: Mapping[str, Any]) -> None:
        """Change settings from a JSON object; unknown keys or bad values raise ``ValueError``."""
        names = {f.name for f in fields(self)}
        for key, value in values.items():
            if key not in names or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"bad fault setting {key!r}: {value!r}")
            setattr(self, key, type(getattr(self, key))(value))

    def draw(self, rng: random.Random) -> str | None:
        """Pick the fault for one request, or None."""
        roll = rng.random()
        for kind in ("error", "throttle", "drop", "stall", "html", "truncate"):
            roll -= getattr(self, f"{kind}_rate")
            if roll < 0:
                return kind
        return None


@dataclass
class SandboxOptions:
    """How to run a sandbox: where, how much data, how strict and how faulty."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 42
    size: int = 100
    rate_limit: float | None = None
    faults: FaultSettings = field(default_factory=FaultSettings)
    latency_ms: float = 0.0
    #: customer accounts served at once, each with its own credentials, data and rate limit
    tenants: int = 1
    #: vendor-specific knobs (for example ``token_lifetime`` for OAuth2 sandboxes)
    extra: dict[str, Any] = field(default_factory=dict)
