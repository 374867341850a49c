"""The state one flow run carries from its first page to its last state write."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from hub.config import FlowSettings
from hub.connector import (
    Connector,
    ReadEnd,
    SourceRecord,
    WriteAction,
)
from hub.errors import (
    ConfigError,
    HubError,
)
from hub.matching import MatchIndex
from hub.models import (
    CanonicalRecord,
)
from hub.state import Batch, StateStore, XRef
from hub.sync.report import FlowReport

log = structlog.get_logger("hub.sync")


__all__ = ["SETTLES", "SHAPING_OPTIONS", "Abort", "RunState", "Staged", "aware", "match_keys"]

#: how often a create whose outcome is unknown is settled (looked up, then sent again), where
#: the target's retry policy does not say
SETTLES = 3
#: flow options that change records as they are read
SHAPING_OPTIONS = ("defaults", "details_rename", "details_keys", "region_by_state")


@dataclass(slots=True)
class Staged:
    """A batch shaped by the flow's options, with its store lookups under way."""

    size: int
    good: list[SourceRecord] = field(default_factory=list)
    # (key, source id, reason, error type, body) of records that go to the dead letters
    rejected: list[tuple[str, str, str, str, dict[str, Any] | None]] = field(default_factory=list)
    references: dict[str, tuple[CanonicalRecord, list[tuple[str, str]]]] = field(
        default_factory=dict
    )
    wanted: dict[str, set[str]] = field(default_factory=dict)  # parents to look up
    # the source snapshot's rows (key, source id, hash, canonical JSON), and by key the
    # record each hash is of (a write of the record as read reuses it)
    snapshot: list[tuple[str, str, str, str]] = field(default_factory=list)
    digests: dict[str, tuple[CanonicalRecord, str]] = field(default_factory=dict)
    lookup: asyncio.Future[Batch] | None = None
    taken: bool = False  # its lookups are in the run's state (its intents are the run's)


class Abort(HubError):
    """Stop the run: every further write would fail the same way."""


class RunState:
    """What one run knows and holds: its flow and connectors, what is known of the target,
    the writes not yet stored, and what the read proved. The run's steps (the classes that
    build :class:`~hub.sync.run.FlowRun` on it, one module each) share it."""

    def __init__(
        self,
        flow: FlowSettings,
        source: Connector,
        target: Connector,
        store: StateStore,
        *,
        dry_run: bool,
        allow_mass_delete: bool = False,
        settles: int = SETTLES,
    ) -> None:
        self.flow = flow
        self.settles = settles
        self.allow_mass_delete = allow_mass_delete
        self.source = source
        self.target = target
        self.store = store
        self.dry_run = dry_run
        self.report = FlowReport(flow.name, dry_run=dry_run)
        self.options = flow.options
        self.shaping = any(self.options.get(k) for k in SHAPING_OPTIONS) or (
            self.options.get("details_keys") is not None  # [] too: no details at all
        )
        self.run_id = 0
        self.max_updated: datetime | None = None
        self.cursor: datetime | None = None  # where the next incremental run starts
        self.ensured: dict[tuple[str, str], str] = {}
        self.parent_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.echo_possible = True
        self.parked: set[str] = set()
        #: edited copies in a two-way pair the target refused, by key: their body as refused
        self.refused: dict[str, Any] = {}
        # Batched state: what is known of the target, and writes not yet flushed to the store.
        self.cache: dict[tuple[str, str], XRef | None] = {}
        self.written: set[tuple[str, str]] = set()  # slots this batch wrote or forgot
        self.pending: set[tuple[str, str]] = set()
        self.entries: set[tuple[str, str]] = set()  # intended creates recorded, not yet sent
        self.unflushed: list[tuple[str, str, str, str]] = []
        self.failed_entries: list[tuple[str, str]] = []
        self.digests: dict[str, tuple[CanonicalRecord, str]] = {}
        self.references: dict[str, tuple[CanonicalRecord, list[tuple[str, str]]]] = {}
        self.batch_started = datetime.now(UTC)
        self.snapshot: asyncio.Task[None] | None = None
        # The run's first batch, whose snapshot is serialised once its first writes are out
        self.unserialised: Staged | None = None
        self.first_staged = True
        self.settling: asyncio.Task[None] | None = None  # the last batch's final state writes
        # What the read proves about its own completeness (deletions need it proven)
        self.read_ends: list[ReadEnd] = []
        self.read_keys: set[str] = set()  # only where deletions may follow the read
        self.keeps_keys = flow.on_delete != "ignore"
        self.read_rejected = 0
        self.match_on = match_keys(flow, target)
        #: the target's existing records by natural key, read once for this run's matching
        self.indexes: dict[str, MatchIndex] = {}
        self.index_tried = False

    def _count(self, action: WriteAction) -> None:
        if action is WriteAction.CREATED:
            self.report.created += 1
        elif action is WriteAction.UPDATED:
            self.report.updated += 1
        else:
            self.report.unchanged += 1

    def _plan(self, action: str, key: str) -> None:
        if self.dry_run:
            self.report.planned.append((action, key))


def match_keys(flow: FlowSettings, target: Connector) -> tuple[str, ...]:
    """The natural keys a create of this flow's entity is matched on, in order."""
    offered = target.capabilities.natural_keys.get(flow.entity, ())
    wanted = flow.options.get("match_on")
    if wanted is None:
        return offered[:1]
    chosen = (wanted,) if isinstance(wanted, str) else tuple(wanted)
    if chosen in (("none",), ()):
        return ()
    unknown = [key for key in chosen if key not in offered]
    if unknown:
        raise ConfigError(
            f"{target.name} cannot match a {flow.entity} on {', '.join(unknown)} "
            f"(it matches on: {', '.join(offered) or 'nothing'})",
            key=f"flows.{flow.name}.options.match_on",
        )
    return chosen


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
