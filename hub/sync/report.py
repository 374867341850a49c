"""What one run of a flow did: the counts ``prophub sync`` prints and the run stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger("hub.sync")


__all__ = ["FlowReport"]


@dataclass
class FlowReport:
    """What one run of a flow did."""

    flow: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    deleted: int = 0
    #: creates that found their record already at the target (by natural key) and updated it
    matched: int = 0
    #: records left alone because several target records matched their natural key
    ambiguous: int = 0
    #: deletions the run found but did not make (an incomplete read, the mass-deletion guard)
    withheld: int = 0
    requests: int = 0
    throttled: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    planned: list[tuple[str, str]] = field(default_factory=list)
    #: what the run wants its user to know (why deletions were withheld, ...)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The per-flow object ``prophub sync --json`` prints."""
        return {
            "flow": self.flow,
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "requests": self.requests,
            "throttled": self.throttled,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
            "deleted": self.deleted,
            "matched": self.matched,
            "ambiguous": self.ambiguous,
            "withheld": self.withheld,
            "notes": list(self.notes),
        }

    def counts(self) -> dict[str, int]:
        """The counters stored with the run."""
        return {k: v for k, v in self.as_json().items() if isinstance(v, int)}
