"""The hooks a client reports its requests to (metrics), kept apart from the session."""

from __future__ import annotations

from typing import Protocol

__all__ = ["RequestObserver"]


class RequestObserver(Protocol):
    """Hooks for metrics: called off the request path's decisions, never altering them."""

    def on_request(
        self,
        vendor: str,
        method: str,
        path: str,
        status: int | None,
        elapsed: float,
        attempt: int,
    ) -> None:
        """One attempt finished (status None: no answer)."""

    def on_throttled(self, vendor: str, retry_after: float | None) -> None:
        """The vendor answered 429."""

    def on_retry(self, vendor: str, method: str, path: str, attempt: int, reason: str) -> None:
        """An attempt will be retried."""
