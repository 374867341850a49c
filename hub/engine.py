"""The sync engine: one flow reads an entity from a source and writes it to a target.

Per record: translate references into the target's refs (creating missing parents first),
compare the content hash with the one last written there (unchanged costs no write), record
an intended create in the ledger before sending it, settle an unknown outcome by looking the
record up rather than creating it again, and dead-letter what the target rejects. The cursor
moves only when the whole read was handled, so a crash re-reads rather than skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any, TypeVar, get_args

import structlog
from pydantic import BaseModel

from hub.config import FlowSettings
from hub.connector import (
    Connector,
    PreparesWrites,
    ReadEnd,
    ReadFailure,
    SourceRecord,
    WriteAction,
    WriteResult,
)
from hub.errors import (
    AmbiguousMatch,
    ConfigError,
    HubError,
    MappingError,
    MissingParent,
    PermanentError,
    ProtocolError,
    TransientError,
    UnsupportedValue,
    VendorError,
)
from hub.models import (
    LOCATION_PARENT,
    CanonicalRecord,
    Location,
    entity_of,
    record_hash,
    serialised,
)
from hub.secrets import mask
from hub.store import Batch, StateStore, XRef

__all__ = ["FlowReport", "ReadFailure", "run_flow"]

log = structlog.get_logger("hub.engine")
T = TypeVar("T")

BATCH = 1000
#: records mapped between two turns of the event loop while a page is read: mapping a whole
#: page at once would leave the writes in flight unanswered, and the target idle, meanwhile
#: (about 10 ms a page). A slice of 100 (about 1 ms) against 10: 2 to 4% faster syncs (40
#: alternating pairs, faster in 31), fewer turns of the loop and the validator kept warm.
READ_SLICE = 100
ECHO_TOLERANCE = timedelta(seconds=2)
CLOCK_SKEW = timedelta(minutes=1)
#: the share of a flow's known records one run may delete without --allow-mass-delete
MASS_DELETE_SHARE = 0.1
#: dead letters whose cause may have passed: each run gives them another go
RETRY_PARKED = frozenset(
    {
        "MissingParent",
        "RateLimited",
        "Unavailable",
        "ConnectionFailed",
        "RequestTimeout",
        "TransientError",
        "ProtocolError",
    }
)
#: the dead-letter kind of an edited copy in a two-way pair that the target refused
EDITED_COPY = "EditedCopy"
#: flow options that change records as they are read
SHAPING_OPTIONS = ("defaults", "details_rename", "details_keys", "region_by_state")
#: reference field -> the entity it points at
REFERENCES = {
    "parent_key": "location",
    "neighborhood_key": "location",
    "home_key": "home",
    "organization_key": "organization",
}


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


@dataclass(slots=True)
class _Staged:
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


class _Abort(HubError):
    """Stop the run: every further write would fail the same way."""


_LEVELS = {kind: level for level, kind in enumerate(LOCATION_PARENT)}


def _depth(record: CanonicalRecord) -> int:
    return _LEVELS[record.kind] if isinstance(record, Location) else 0


@cache
def _reference_plan(model: type[BaseModel]) -> tuple[tuple[str, str | None], ...]:
    """The fields of ``model`` that hold references: (name, entity), or (name, None) for a
    nested model (or list of models) that holds some itself."""
    plan: list[tuple[str, str | None]] = []
    for name, info in model.model_fields.items():
        if name in REFERENCES:
            plan.append((name, REFERENCES[name]))
        elif any(_reference_plan(inner) for inner in _models_in(info.annotation)):
            plan.append((name, None))
    return tuple(plan)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _references(model: BaseModel, own: str, found: list[tuple[str, str]]) -> None:
    """Collect the (entity, key) references a record holds, its own key excepted."""
    for name, entity in _reference_plan(type(model)):
        value = getattr(model, name)
        if entity is not None:
            if isinstance(value, str) and value and value != own:
                found.append((entity, value))
        elif isinstance(value, BaseModel):
            _references(value, own, found)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    _references(item, own, found)


def _substitute(value: Any, refs: dict[tuple[str, str], str], own: str) -> Any:
    """A dumped record with each reference replaced by the target's ref."""
    if isinstance(value, list):
        return [_substitute(v, refs, own) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for name, item in value.items():
        if name == "full_name":
            continue  # derived, never input
        entity = REFERENCES.get(name)
        if entity is not None and isinstance(item, str) and item and item != own:
            out[name] = refs.get((entity, item), item)
        else:
            out[name] = _substitute(item, refs, own)
    return out


class FlowRun:
    """One run of one flow; :func:`run_flow` is the way to start it."""

    def __init__(
        self,
        flow: FlowSettings,
        source: Connector,
        target: Connector,
        store: StateStore,
        *,
        dry_run: bool,
        sleep: Callable[[float], Awaitable[None]],
        allow_mass_delete: bool = False,
    ) -> None:
        self.flow = flow
        self.allow_mass_delete = allow_mass_delete
        self.source = source
        self.target = target
        self.store = store
        self.dry_run = dry_run
        self.sleep = sleep
        self.report = FlowReport(flow.name, dry_run=dry_run)
        self.options = flow.options
        self.shaping = any(self.options.get(k) for k in SHAPING_OPTIONS) or (
            self.options.get("details_keys") is not None  # [] too: no details at all
        )
        self.write_attempts = int(self.options.get("write_attempts", 8))
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
        self.unserialised: _Staged | None = None
        self.first_staged = True
        self.settling: asyncio.Task[None] | None = None  # the last batch's final state writes
        # What the read proves about its own completeness (deletions need it proven)
        self.read_ends: list[ReadEnd] = []
        self.read_keys: set[str] = set()  # only where deletions may follow the read
        self.keeps_keys = flow.on_delete != "ignore"
        self.read_rejected = 0
        self.match_on = _match_keys(flow, target)

    # -- the run -------------------------------------------------------------------------

    async def execute(self, since: datetime | None, full: bool) -> FlowReport:
        """Read everything (or since the cursor), write it, then settle cursor and deletions."""
        # Sources that stamp no record (Buildium) get the read's start, less clock skew.
        read_started = datetime.now(UTC) - CLOCK_SKEW
        prepared = self._prepare_writes()
        try:
            async with contextlib.aclosing(self._batches(since)) as batches:
                # The first batch is read while the run's own state is looked up and settled,
                # and each next one is staged (its store lookups made) while this one is sent.
                upcoming = asyncio.ensure_future(self._stage_next(batches))
                staged: _Staged | None = None
                try:
                    await self._begin_run()
                    staged = await upcoming
                    while staged is not None:
                        upcoming = asyncio.ensure_future(self._stage_next(batches))
                        await self._handle_batch(staged)
                        staged = await upcoming
                    await self._settled()
                except BaseException:
                    upcoming.cancel()
                    await asyncio.wait({upcoming})
                    if not upcoming.cancelled() and upcoming.exception() is None:
                        await self._abandon(upcoming.result())
                    await self._abandon(staged)
                    raise
        finally:
            if prepared is not None:
                prepared.cancel()  # not needed any more (if still under way)
                await asyncio.wait({prepared})
            self._store_snapshot()  # of a batch stopped before its first writes went out
            # A run stopped mid-batch still finishes the state writes under way.
            for task in (self.settling, self.snapshot):
                if task is not None:
                    await _settle(_quietly(task))
            self.settling = self.snapshot = None
        if full:
            await self._handle_deletions()
        if not self.dry_run and self.flow.entity in self.source.capabilities.incremental:
            # Stored with the run's end (one transaction): see run_flow.
            self.cursor = self.max_updated or read_started
        return self.report

    def _prepare_writes(self) -> asyncio.Task[None] | None:
        """The target readies itself for this run's writes (its token, say) while the first
        page is read, rather than on the first write's critical path."""
        target = self.target
        if self.dry_run or not isinstance(target, PreparesWrites):
            return None

        async def prepare() -> None:
            try:
                await target.prepare_writes(self.flow.entity)
            except HubError as exc:
                # The first write meets the same fault, with its retries and its report.
                log.debug("preparing writes failed", flow=self.flow.name, error=str(exc))

        return asyncio.create_task(prepare(), name=f"prepare {self.flow.name}")

    async def _begin_run(self) -> None:
        """What the run needs before its first record: echo and dead-letter state, configured
        locations, and another go for records parked for a cause that may have passed."""
        store, flow = self.store, self.flow
        # Asked for together: the store's thread answers them back to back, not one per turn
        # of a loop that is busy with the first page meanwhile.
        async with asyncio.TaskGroup() as group:
            wrote = group.create_task(store.wrote_to(self.source.name, flow.entity))
            parked = group.create_task(store.dead_letters(flow.name))
            configured = group.create_task(self._prepare_configured_locations())
        self.echo_possible, letters = wrote.result(), parked.result()
        self.parked = {letter["key"] for letter in letters}
        self.refused = {
            letter["key"]: letter["body"]
            for letter in letters
            if letter["error_type"] == EDITED_COPY and letter["body"] is not None
        }
        await self._write_configured_locations(configured.result())
        if not self.dry_run:
            await self._retry_parked(letters)
        await self._flush()

    async def _retry_parked(self, letters: Sequence[dict[str, Any]]) -> None:
        """Records parked for a cause that may have passed (a missing parent, an outage)."""
        for letter in letters:
            if letter["error_type"] not in RETRY_PARKED or letter["body"] is None:
                continue
            record = entity_of(letter["entity"]).model_validate(letter["body"])
            try:
                action = await self._write(self.flow.entity, record)
            except (PermanentError, TransientError, ProtocolError) as exc:
                await self.store.add_dead_letter(
                    self.flow.name,
                    letter["entity"],
                    letter["key"],
                    letter["source_id"],
                    str(exc),
                    type(exc).__name__,
                    letter["body"],
                )
                continue
            self._count(action)
            await self.store.clear_dead_letter(self.flow.name, letter["entity"], letter["key"])

    async def _batches(
        self, since: datetime | None
    ) -> AsyncGenerator[list[SourceRecord | ReadFailure], None]:
        """The read in batches; the next batch is read while this one is written."""
        queue: asyncio.Queue[list[SourceRecord | ReadFailure] | None] = asyncio.Queue(1)

        async def produce() -> None:
            batch: list[SourceRecord | ReadFailure] = []
            collections = self.options.get("collections")
            stream = self.source.read(self.flow.entity, since, collections=collections)
            async with contextlib.aclosing(stream):  # type: ignore[type-var]
                mapped = 0
                async for item in stream:
                    if isinstance(item, ReadEnd):
                        self.read_ends.append(item)
                        continue
                    if isinstance(item, SourceRecord) and self.keeps_keys:
                        self.read_keys.add(item.record.key)
                    batch.append(item)
                    if len(batch) >= BATCH:
                        await queue.put(batch)
                        batch = []
                    mapped += 1
                    if mapped % READ_SLICE == 0:
                        await asyncio.sleep(0)
            await queue.put(batch)
            await queue.put(None)

        reader = asyncio.create_task(produce(), name=f"read {self.flow.name}")
        getting: asyncio.Future[list[SourceRecord | ReadFailure] | None] | None = None
        try:
            while True:
                getting = asyncio.ensure_future(queue.get())
                await asyncio.wait({getting, reader}, return_when=asyncio.FIRST_COMPLETED)
                failed = reader.done() and not reader.cancelled() and reader.exception()
                if failed and not getting.done() and queue.empty():
                    await reader  # the read failed (what it read is written): its error is ours
                batch = await getting  # a reader that finished left the rest in the queue
                if batch is None:
                    break
                yield batch
        finally:
            if getting is not None:
                getting.cancel()
            reader.cancel()
            # Waited for (never left running), without letting its cancellation hide ours.
            await asyncio.wait({reader})
            if not reader.cancelled() and reader.exception() is not None:
                log.debug("read ahead stopped", error=str(reader.exception()))

    async def _stage_next(
        self, batches: AsyncGenerator[list[SourceRecord | ReadFailure], None]
    ) -> _Staged | None:
        batch = await anext(batches, None)
        if batch is None:
            return None
        staged = self._stage(batch)
        first, self.first_staged = self.first_staged, False
        if first and not self.dry_run:
            # The first batch's first writes wait only for its lookups, made by the store's
            # thread while the loop has nothing else to do (it would have to wait for the
            # loop at every turn of SQLite); its snapshot is serialised once they are out.
            return staged
        if staged.lookup is not None:
            # Serialised while the store's thread makes the lookups: one turn of the loop
            # hands the lookups to the thread.
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                await self._abandon(staged)  # its intended creates are closed with the run
                raise
            self._snapshot_rows(staged, staged.good)
        return staged

    def _stage(self, batch: Sequence[SourceRecord | ReadFailure]) -> _Staged:
        """Shape a batch by the flow's options and start its store lookups (which also
        record its intended creates), while the batch before it is sent (at its own start,
        nothing would be in flight meanwhile); :meth:`_stage_next` then serialises its
        snapshot."""
        entity = self.flow.entity
        staged = _Staged(len(batch))
        for item in batch:
            if isinstance(item, ReadFailure):
                key = item.key or item.source_id
                staged.rejected.append((key, item.source_id, item.reason, "ReadFailure", item.raw))
                continue
            try:
                # Remembered as the flow shapes it, so a parent re-created later keeps its parent.
                record = self._apply_options(item.record)
            except ValueError as exc:
                body = item.record.model_dump(mode="json")
                reason = f"flow options: {exc}"
                staged.rejected.append(
                    (item.record.key, item.source_id, reason, "MappingError", body)
                )
                continue
            staged.good.append(
                item
                if record is item.record
                else SourceRecord(record, item.source_id, item.updated_at)
            )
        if not staged.good:
            return staged
        keys = [item.record.key for item in staged.good]
        mine = set(keys)
        for item in staged.good:
            record = item.record
            found: list[tuple[str, str]] = []
            _references(record, record.key, found)
            staged.references[record.key] = (record, found)
            for slot in found:
                if slot not in self.ensured and (slot[0] != entity or slot[1] not in mine):
                    staged.wanted.setdefault(slot[0], set()).add(slot[1])
        staged.lookup = asyncio.ensure_future(
            self.store.prepare_batch(
                None if self.dry_run else self.flow.name,
                self.target.name,
                entity,
                keys,
                {e: sorted(wanted) for e, wanted in staged.wanted.items()},
            )
        )
        return staged

    async def _abandon(self, staged: _Staged | None) -> None:
        """A run that stops leaves no staged batch behind: its lookups finish, and the
        intended creates they recorded, if the batch never took them in (never sent), are
        closed with the run's last flush."""
        if staged is None or staged.lookup is None or staged.taken:
            return
        await asyncio.wait({staged.lookup})
        if not staged.lookup.cancelled() and staged.lookup.exception() is None:
            entity = self.flow.entity
            self.entries.update((entity, key) for key in staged.lookup.result().intended)

    async def _handle_batch(self, staged: _Staged) -> None:
        self.batch_started = datetime.now(UTC)
        self.report.read += staged.size
        self.read_rejected += len(staged.rejected)
        for key, source_id, reason, kind, body in staged.rejected:
            await self._dead_letter(key, source_id, reason, kind, body)
        good = staged.good
        if not good:
            return
        await self._prefetched(staged)
        self.digests = staged.digests
        if not self.dry_run:
            # Written while the batch is sent: nothing in flight needs it (a parent looked up
            # by its body waits for it), and the batch is not done until it is stored.
            self.unserialised = staged
            if staged.snapshot:  # serialised while it was staged
                self._store_snapshot()
        levels: dict[int, list[SourceRecord]] = {}
        for item in good:
            levels.setdefault(_depth(item.record), []).append(item)
        max_depth = max(levels)
        for depth in sorted(levels):
            level = levels[depth]
            queue = iter(level)
            # A few workers share the level (as many as the flow's concurrency), not a task each.
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._work(queue))
                    for _ in range(min(self.flow.concurrency, len(level)))
                ]
                if self.unserialised is not None:
                    await asyncio.sleep(0)  # the first writes go out first
                    self._store_snapshot()
            if any(task.cancelled() for task in tasks):
                await self._snapshot_stored()
                await self._flush(final=depth == max_depth)
                raise asyncio.CancelledError  # a write was cancelled: never count it as done
            if depth < max_depth:
                await self._flush()
            elif self.dry_run:
                await self._snapshot_stored()
            else:
                # The batch is settled (snapshot stored, then its cross-references) while the
                # next one is sent; every later state write waits for it, so order holds.
                rows, failed = self._take_flush(final=True)
                stored, self.snapshot = self.snapshot, None
                self.settling = asyncio.create_task(
                    self._settle_batch(self.settling, stored, rows, failed),
                    name=f"settle {self.flow.name}",
                )
        for item in good:
            if item.updated_at is not None:
                stamp = _aware(item.updated_at)
                self.max_updated = max(self.max_updated or stamp, stamp)
        # What this batch wrote is kept: the next batch's lookups ran while it was sent, so
        # for these their answers may be older. The rest the next batch fetched itself.
        self.cache = {slot: self.cache[slot] for slot in self.written if slot in self.cache}
        self.written = set()
        self.digests = {}
        self.references.clear()

    async def _work(self, items: Iterator[SourceRecord]) -> None:
        """One worker of a level: writes records until the level's queue is empty (the
        workers sharing a level bound its concurrency)."""
        entity, parked = self.flow.entity, self.parked
        for item in items:
            record = item.record
            if self.echo_possible and await self._is_echo(item):
                self.report.skipped += 1
                self._plan("skip", record.key)
                continue
            refused = self.refused.get(record.key)
            if refused is not None and refused == record.model_dump(mode="json"):
                # An edited copy refused as it stands, and reported then: not sent (nor
                # reported) again until it changes or `prophub dlq retry` asks for it.
                self.report.skipped += 1
                self._plan("skip (dead letter)", record.key)
                continue
            try:
                action = await self._write(entity, record)
            except (PermanentError, MappingError, TransientError, ProtocolError) as exc:
                if isinstance(exc, VendorError) and exc.connector_wide:
                    # Its credentials or token endpoint: every other record would fail the
                    # same way, so the run stops writing and says why, once.
                    raise _Abort(str(exc)) from exc
                reason, kind = await self._copy_edited(item, exc)
                body = record.model_dump(mode="json")
                await self._dead_letter(record.key, item.source_id, reason, kind, body)
                continue
            self._count(action)
            if parked and not self.dry_run and record.key in parked:
                parked.discard(record.key)
                await self.store.clear_dead_letter(self.flow.name, entity, record.key)

    @staticmethod
    def _snapshot_rows(staged: _Staged, items: Sequence[SourceRecord]) -> None:
        """Serialise records as the store keeps them: (key, source id, hash, canonical JSON)."""
        rows, digests = staged.snapshot, staged.digests
        for item in items:
            body, digest = serialised(item.record)
            # Kept for the write: a record whose references translate to themselves is sent
            # as read, and its hash need not be computed twice.
            digests[item.record.key] = (item.record, digest)
            rows.append((item.record.key, item.source_id, digest, body))

    def _store_snapshot(self) -> None:
        """Store the batch's source snapshot (serialised first if it is not yet), unless
        it is on its way already."""
        staged, self.unserialised = self.unserialised, None
        if staged is None:
            return
        if not staged.snapshot:
            self._snapshot_rows(staged, staged.good)
        rows = staged.snapshot
        self.snapshot = asyncio.create_task(
            self.store.put_records(self.source.name, self.flow.entity, self.run_id, rows),
            name=f"snapshot {self.flow.name}",
        )

    async def _snapshot_stored(self) -> None:
        """Wait until the batches' source snapshots are stored (an error is the run's)."""
        self._store_snapshot()
        await self._settled()
        task, self.snapshot = self.snapshot, None
        if task is not None:
            await task

    async def _settled(self) -> None:
        """Wait until the batch before is settled (its error is the run's)."""
        task, self.settling = self.settling, None
        if task is not None:
            await task

    async def _settle_batch(
        self,
        before: asyncio.Task[None] | None,
        snapshot: asyncio.Task[None] | None,
        rows: list[tuple[str, str, str, str]],
        failed: list[tuple[str, str]],
    ) -> None:
        """A batch's last state writes, in order: the batch before's, its snapshot, then its
        cross-references and closed intents."""
        for task in (before, snapshot):
            if task is not None:
                await task
        await self.store.flush_writes(self.target.name, rows, failed)

    def _count(self, action: WriteAction) -> None:
        if action is WriteAction.CREATED:
            self.report.created += 1
        elif action is WriteAction.UPDATED:
            self.report.updated += 1
        else:
            self.report.unchanged += 1

    async def _dead_letter(
        self, key: str, source_id: str, reason: str, kind: str, body: dict[str, Any] | None
    ) -> None:
        self.report.failed += 1
        reason = mask(reason)  # whatever built it, a stored reason never holds a secret
        log.warning("dead letter", flow=self.flow.name, key=key, reason=reason)
        if not self.dry_run:
            await self.store.add_dead_letter(
                self.flow.name, self.flow.entity, key, source_id, reason, kind, body
            )

    async def _copy_edited(self, item: SourceRecord, exc: HubError) -> tuple[str, str]:
        """The dead letter's reason and kind, saying so when the refused record is the hub's
        own copy of a target record edited at the source since (a two-way pair): that edit
        cannot be carried back, and is reported once."""
        reason, kind = str(exc), type(exc).__name__
        if not self.echo_possible or not isinstance(exc, PermanentError):
            return reason, kind
        mine = await self.store.find_ref(self.source.name, self.flow.entity, item.source_id)
        if mine is None:
            return reason, kind
        return (
            f"edited in {self.source.name} after the hub copied it there from "
            f"{self.target.name} ({mine.key}); the edit cannot be carried back: {reason}"
        ), EDITED_COPY

    # -- echo suppression ----------------------------------------------------------------

    async def _is_echo(self, item: SourceRecord) -> bool:
        """The record only reflects the hub's own write of a record that came from the target."""
        if not self.echo_possible:
            return False  # the hub never wrote this entity to the source
        mine = await self.store.find_ref(self.source.name, self.flow.entity, item.source_id)
        if mine is None:
            return False
        if not await self.store.has_record(self.target.name, self.flow.entity, mine.key):
            return False
        if item.updated_at is None:
            return True
        return _aware(item.updated_at) <= mine.written_at + ECHO_TOLERANCE

    # -- options (canonical-level mapping overrides) -------------------------------------

    def _apply_options(self, record: CanonicalRecord) -> CanonicalRecord:
        if not self.shaping:
            return record
        defaults = self.options.get("defaults") or {}
        updates = {k: v for k, v in defaults.items() if getattr(record, k, None) in (None, "")}
        renames = self.options.get("details_rename") or {}
        allowed = self.options.get("details_keys")
        details = getattr(record, "details", None)
        if (renames or allowed is not None) and isinstance(details, dict):
            # Only the details the flow lists leave it (a floor plan's price, say, never
            # reaches an account that was not meant to hold it), renamed as configured.
            updates["details"] = {
                renames.get(k, k): v for k, v in details.items() if allowed is None or k in allowed
            }
        by_state = self.options.get("region_by_state") or {}
        if isinstance(record, Location) and by_state and not record.parent_name:
            state = record.address.state if record.address else None
            if state in by_state:
                updates["parent_name"] = by_state[state]
        if not updates:
            return record
        return type(record).model_validate({**record.model_dump(), **updates})

    async def _prepare_configured_locations(self) -> list[Location]:
        """The flow's configured locations, their state looked up and their intended creates
        recorded in one trip to the store (not two each)."""
        locations = [Location.model_validate(body) for body in self.options.get("locations") or []]
        if not locations:
            return []
        keys = list(dict.fromkeys(location.key for location in locations))
        flow = None if self.dry_run else self.flow.name
        batch = await self.store.prepare_batch(flow, self.target.name, "location", keys, {})
        self._take_in("location", keys, batch)
        return locations

    async def _write_configured_locations(self, locations: Sequence[Location]) -> None:
        for location in locations:
            try:
                await self._write("location", location)
            except (PermanentError, TransientError, ProtocolError) as exc:
                raise _Abort(f"configured location {location.key}: {exc}") from exc

    # -- writing -------------------------------------------------------------------------

    async def write_one(self, record: CanonicalRecord) -> WriteAction:
        """Write one record through the full path (options, parents, ledger)."""
        try:
            return await self._write(self.flow.entity, self._apply_options(record))
        finally:
            await self._flush()

    async def _prefetched(self, staged: _Staged) -> None:
        """Take in a staged batch's lookups: its cross-references, open creates and parents,
        and the intended creates recorded for it.

        Intended creates are in the ledger before any of the batch is sent; their outcome is
        flushed with the cross-references after each level. A crash in between leaves them
        pending, and the next run looks those records up instead of creating them again.
        What this run wrote since the lookups were made (kept in the cache) wins over them.
        """
        assert staged.lookup is not None
        batch = await staged.lookup
        staged.taken = True
        cache = self.cache
        self._take_in(self.flow.entity, [item.record.key for item in staged.good], batch)
        for parent_entity, parent_keys in staged.wanted.items():
            known = batch.parents.get(parent_entity, {})
            for key in parent_keys:
                cache.setdefault((parent_entity, key), known.get(key))
        self.references.update(staged.references)

    def _take_in(self, entity: str, keys: Sequence[str], batch: Batch) -> None:
        """What the store knows of these keys, unless this run knows better (its cache)."""
        cache = self.cache
        for key in keys:
            cache.setdefault((entity, key), batch.known.get(key))
        self.pending.update((entity, k) for k in batch.pending)
        self.entries.update((entity, k) for k in batch.intended)

    async def _flush(self, final: bool = False) -> None:
        """Write the level's cross-references (which settle the creates sent) in one go.

        Intended creates that failed are closed with them; ``final`` (end of a batch or of
        the run) also closes those never sent.
        """
        if self.dry_run:
            return
        rows, failed = self._take_flush(final)
        await self._settled()  # a batch still settling writes first: state stays in order
        await self.store.flush_writes(self.target.name, rows, failed)

    def _take_flush(
        self, final: bool
    ) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str]]]:
        """The writes to record now, and the intended creates to close (given up, and with
        ``final`` those never sent), taken from the run's state."""
        unused = list(self.entries) if final else []
        if final:
            self.entries.clear()
        rows, failed = self.unflushed, [*self.failed_entries, *unused]
        self.unflushed, self.failed_entries = [], []
        return rows, failed

    async def _known(self, entity: str, key: str) -> XRef | None:
        """The target's cross-reference for a key: from the batch cache, else the store."""
        if (entity, key) in self.cache:
            return self.cache[(entity, key)]
        found = await self.store.get_xref(self.target.name, entity, key)
        self.cache[(entity, key)] = found
        return found

    def _wrote(self, entity: str, key: str, ref: str, digest: str) -> None:
        # The store stamps the row when flushed; the cached copy's stamp is the batch's.
        self.cache[(entity, key)] = XRef(key, ref, digest, self.batch_started)
        self.written.add((entity, key))
        self.unflushed.append((entity, key, ref, digest))

    async def _write(
        self, entity: str, record: CanonicalRecord, depth: int = 0, heal: int = 2
    ) -> WriteAction:
        translated = self._translated(record) or await self._translate(record, depth)
        remembered = self.digests.get(record.key)
        if remembered is not None and remembered[0] is translated:
            digest = remembered[1]
        else:
            digest = record_hash(translated)
        slot = (entity, record.key)
        known = self.cache[slot] if slot in self.cache else await self._known(entity, record.key)
        if known is not None and known.hash == digest:
            self._plan("unchanged", record.key)
            return WriteAction.UNCHANGED
        if known is None and slot not in self.pending:
            matched = await self._match(entity, translated)
            if matched is not None:
                return await self._write_matched(entity, record, translated, matched, digest)
        if self.dry_run:
            self._plan("create" if known is None else "update", record.key)
            return WriteAction.CREATED if known is None else WriteAction.UPDATED
        try:
            try:
                if known is not None:
                    result = await self.target.write(entity, translated, known.ref)
                elif slot in self.entries and slot not in self.pending:
                    # The common create, its intent recorded with its batch: sent as is
                    # (what :meth:`_create` does for it, one coroutine less).
                    self.entries.discard(slot)
                    try:
                        result = await self.target.write(entity, translated, None)
                    except VendorError as exc:
                        self._create_failed(slot, exc)
                        raise
                else:
                    result = await self._create(entity, translated, digest)
            except VendorError as exc:
                call: Callable[[], Awaitable[WriteResult]]
                if known is not None:
                    call = partial(self.target.write, entity, translated, known.ref)
                else:
                    call = partial(self._create, entity, translated, digest)
                result = await self._retrying(call, exc)
        except MissingParent:
            if heal == 0:
                raise
            # A parent we thought was there is gone: write it again, then this record.
            await self._forget_parents(record)
            return await self._write(entity, record, depth, heal - 1)
        self._wrote(entity, record.key, result.ref, digest)
        if depth > 0 or entity != self.flow.entity:
            await self._flush()  # a parent: durable before its children are sent
        if known is not None and result.action is WriteAction.CREATED:
            return WriteAction.UPDATED  # re-created after it vanished: still an update to us
        return result.action

    async def _match(self, entity: str, record: CanonicalRecord) -> str | None:
        """The ref of the target's existing record this create would duplicate, if any."""
        keys = (
            self.match_on
            if entity == self.flow.entity
            else self.target.capabilities.natural_keys.get(entity, ())[:1]
        )
        counted = entity == self.flow.entity
        for by in keys:
            try:
                found = await self._retrying(partial(self.target.lookup, entity, record, by=by))
            except AmbiguousMatch:
                if counted:
                    self.report.ambiguous += 1
                self._plan("leave ambiguous", record.key)
                raise
            if found is not None:
                if counted:
                    self.report.matched += 1
                return found
        return None

    async def _write_matched(
        self,
        entity: str,
        record: CanonicalRecord,
        translated: CanonicalRecord,
        ref: str,
        digest: str,
    ) -> WriteAction:
        """Update the record a create found already at the target, instead of copying it."""
        slot = (entity, record.key)
        if slot in self.entries:
            # Its intended create is never sent: closed with the batch.
            self.entries.discard(slot)
            self.failed_entries.append(slot)
        if self.dry_run:
            self._plan("match", record.key)
            return WriteAction.UPDATED
        result = await self._retrying(partial(self.target.write, entity, translated, ref))
        self._wrote(entity, record.key, result.ref, digest)
        if entity != self.flow.entity:
            await self._flush()  # a parent: durable before its children are sent
        return (
            WriteAction.UNCHANGED
            if result.action is WriteAction.UNCHANGED
            else (WriteAction.UPDATED)
        )

    async def _create(self, entity: str, record: CanonicalRecord, digest: str) -> WriteResult:
        """Create once: a create whose outcome is unknown is looked up, never sent blindly."""
        target = self.target.name
        slot = (entity, record.key)
        if slot in self.pending or (
            slot not in self.cache and await self.store.ledger_pending(target, entity, record.key)
        ):
            found = await self.target.lookup(entity, record)
            self.pending.discard(slot)
            await self.store.ledger_resolve(target, entity, record.key)
            if found is not None:
                result = await self.target.write(entity, record, found)
                return WriteResult(
                    result.ref,
                    WriteAction.UPDATED
                    if result.action is WriteAction.UNCHANGED
                    else result.action,
                )
        if slot in self.entries:
            self.entries.discard(slot)
        else:
            await self.store.ledger_begin(self.flow.name, target, entity, record.key, digest)
        try:
            result = await self.target.write(entity, record, None)
        except VendorError as exc:
            self._create_failed(slot, exc)
            raise
        return result  # settled by the cross-reference, flushed with the level

    def _create_failed(self, slot: tuple[str, str], exc: VendorError) -> None:
        if exc.outcome_unknown:
            self.pending.add(slot)  # the next attempt looks it up first
        else:
            self.failed_entries.append(slot)

    async def _retrying(
        self, call: Callable[[], Awaitable[T]], failed: VendorError | None = None
    ) -> T:
        """A vendor call that is tried again on transient faults; ``failed`` is its first
        attempt's error when that was already made."""
        attempts = self.write_attempts
        for attempt in range(1, attempts + 1):
            if failed is not None:
                # Transient faults, and creates whose outcome is unknown (the next attempt
                # looks the record up first), are worth another go.
                if (
                    attempt == attempts
                    or failed.connector_wide
                    or not (failed.retryable or failed.outcome_unknown)
                ):
                    raise failed
                await self.sleep(min(30.0, 0.5 * 2**attempt))
            try:
                return await call()
            except VendorError as exc:
                failed = exc
        raise AssertionError("unreachable")

    # -- references and parents ------------------------------------------------------------

    def _translated(self, record: CanonicalRecord) -> CanonicalRecord | None:
        """The record as is when every reference is already known to be the target's own key
        (the common case, without a coroutine); None when it needs :meth:`_translate`."""
        cached = self.references.get(record.key)
        if cached is None or cached[0] is not record:
            return None
        ensured = self.ensured
        for slot in cached[1]:
            if ensured.get(slot) != slot[1]:
                return None
        return record

    async def _translate(self, record: CanonicalRecord, depth: int) -> CanonicalRecord:
        """The record with its references as the target knows them (parents written first)."""
        cached = self.references.get(record.key)
        if cached is not None and cached[0] is record:
            found = cached[1]
        else:
            found = []
            _references(record, record.key, found)
        refs: dict[tuple[str, str], str] = {}
        for slot in found:
            if slot not in refs:
                ref = self.ensured.get(slot)
                refs[slot] = ref if ref is not None else await self._ref_for(*slot, depth)
        if all(ref == key for (_, key), ref in refs.items()):
            return record  # the target knows these records by our keys: nothing to rewrite
        return type(record).model_validate(_substitute(record.model_dump(), refs, record.key))

    async def _ref_for(self, entity: str, key: str, depth: int) -> str:
        """The target's ref for a referenced record, writing the record first if it is missing."""
        if (entity, key) in self.ensured:
            return self.ensured[(entity, key)]
        # One writer per parent: siblings written concurrently wait for it, not race it.
        async with self.parent_locks.setdefault((entity, key), asyncio.Lock()):
            known = await self._known(entity, key)
            if known is None and depth < 4 and self.target.capabilities.writes >= {entity}:
                await self._snapshot_stored()  # the parent may be in the batch being stored
                body = await self.store.get_record(entity, key) or self._configured(entity, key)
                if body is not None and not self.dry_run:
                    await self._write(entity, entity_of(entity).model_validate(body), depth + 1)
                    known = await self._known(entity, key)
        ref = known.ref if known is not None else key
        if known is not None:
            self.ensured[(entity, key)] = ref
        return ref

    def _configured(self, entity: str, key: str) -> dict[str, Any] | None:
        if entity != "location":
            return None
        for body in self.options.get("locations") or []:
            if body.get("key") == key:
                return dict(body)
        return None

    async def _forget_parents(self, record: CanonicalRecord) -> None:
        data = record.model_dump()
        for name, entity in REFERENCES.items():
            key = data.get(name)
            if isinstance(key, str) and key and self.ensured.pop((entity, key), None) is not None:
                # Only the first sibling to notice forgets it; the rest find it re-written.
                self.cache[(entity, key)] = None
                self.written.add((entity, key))
                await self.store.drop_xref(self.target.name, entity, key)

    # -- deletions -----------------------------------------------------------------------

    async def _handle_deletions(self) -> None:
        """Act on records gone from the source, only after a read that proves it saw all."""
        if self.flow.on_delete == "ignore":
            return
        source, entity = self.source.name, self.flow.entity
        known = await self.store.unseen_records(source, entity, -1)  # every record remembered
        gone = [(key, sid) for key, sid in known if key not in self.read_keys]
        if not gone:
            return
        why = self._incomplete()
        if why is None:
            share = self.flow.options.get("allow_mass_delete_share", MASS_DELETE_SHARE)
            if len(gone) > share * len(known) and not self.allow_mass_delete:
                why = (
                    f"{len(gone)} of {len(known)} known records gone at once, more than "
                    f"{share:.0%}: pass --allow-mass-delete if that is right"
                )
        if why is not None:
            self.report.withheld = len(gone)
            self.report.notes.append(f"{len(gone)} deletion(s) withheld: {why}")
            log.warning("deletions withheld", flow=self.flow.name, gone=len(gone), reason=why)
            return
        for key, source_id in gone:
            if self.dry_run:
                self._plan(self.flow.on_delete, key)
                self.report.deleted += 1
            else:
                await self._delete(key, source_id)

    def _incomplete(self) -> str | None:
        """Why this run's read does not prove it saw every record at the source, if so."""
        if self.read_rejected:
            return f"{self.read_rejected} record(s) could not be read or mapped"
        if not self.read_ends:
            return f"{self.source.name} does not state how many records it holds"
        for end in self.read_ends:
            if not end.complete:
                return end.why_incomplete()
        stated = sum(end.stated_total or 0 for end in self.read_ends)
        if stated != len(self.read_keys):
            return f"read {len(self.read_keys)} distinct records of the {stated} stated"
        return None

    async def _delete(self, key: str, source_id: str) -> None:
        policy = self.flow.on_delete
        known = await self.store.get_xref(self.target.name, self.flow.entity, key)
        log.info("record disappeared at source", flow=self.flow.name, key=key, on_delete=policy)
        if known is not None:
            try:
                await self.target.delete(
                    self.flow.entity, known.ref, deactivate=policy == "deactivate"
                )
            except (UnsupportedValue, PermanentError) as exc:
                await self._dead_letter(
                    key, source_id, f"cannot {policy}: {exc}", type(exc).__name__, None
                )
                return
            await self.store.drop_xref(self.target.name, self.flow.entity, key)
        self.report.deleted += 1
        await self.store.forget_record(self.source.name, self.flow.entity, key)

    def _plan(self, action: str, key: str) -> None:
        if self.dry_run:
            self.report.planned.append((action, key))


def _match_keys(flow: FlowSettings, target: Connector) -> tuple[str, ...]:
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


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def run_flow(
    flow: FlowSettings,
    source: Connector,
    target: Connector,
    store: StateStore,
    *,
    full: bool = False,
    dry_run: bool = False,
    allow_mass_delete: bool = False,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> FlowReport:
    """Run one flow once and return its report; the run is recorded in the store.

    ``allow_mass_delete`` lifts the guard on deleting more than the flow's share of its
    known records in one run (never the rule that only a provably complete read deletes).
    """
    run = FlowRun(
        flow,
        source,
        target,
        store,
        dry_run=dry_run,
        sleep=sleep,
        allow_mass_delete=allow_mass_delete,
    )
    full = full or flow.mode == "full"
    since = None if full else await store.get_cursor(flow.name)
    started = time.monotonic()
    if not dry_run:
        run.run_id = await store.start_run(flow.name)
    structlog.contextvars.bind_contextvars(
        flow=flow.name, run_id=run.run_id, vendor=f"{source.vendor}->{target.vendor}"
    )
    try:
        report = await run.execute(since, full)
    except BaseException as exc:
        run.report.seconds = time.monotonic() - started
        if not dry_run:
            await _settle(run._flush(final=True))  # what was written is recorded first
            status = "cancelled" if isinstance(exc, asyncio.CancelledError) else "failed"
            await _settle(store.finish_run(run.run_id, status, run.report.counts(), _describe(exc)))
        if isinstance(exc, BaseExceptionGroup):
            _reraise_first(exc)
        raise
    finally:
        structlog.contextvars.unbind_contextvars("flow", "run_id", "vendor")
    report.seconds = time.monotonic() - started
    if not dry_run:
        cursor = (flow.name, run.cursor) if run.cursor is not None else None
        await store.finish_run(run.run_id, "ok", report.counts(), cursor=cursor)
    return report


async def _settle(work: Awaitable[None]) -> None:
    """Finish a state write even if this task is cancelled again meanwhile."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task  # the record of the run must not be left half-written
        raise


async def _quietly(task: asyncio.Task[None]) -> None:
    """Wait for a task whose error would only hide the one already on its way."""
    await asyncio.wait({task})
    if not task.cancelled() and task.exception() is not None:
        log.warning("stopped as well", task=task.get_name(), error=str(task.exception()))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def _reraise_first(group: BaseExceptionGroup[BaseException]) -> None:
    first = group.exceptions[0]
    if isinstance(first, BaseExceptionGroup):
        _reraise_first(first)
    if isinstance(first, _Abort) and isinstance(first.__cause__, HubError):
        raise first.__cause__ from None
    raise first from None
