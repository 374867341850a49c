"""A flow run from its first page to its report, and :func:`run_flow` to start one."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pydantic import ValidationError

from hub.config import FlowSettings
from hub.connector import (
    Connector,
    PreparesWrites,
    SourceRecord,
)
from hub.errors import (
    EDITED_COPY,
    PARKED,
    HubError,
    MappingError,
    PermanentError,
    ProtocolError,
    TransientError,
    VendorError,
)
from hub.models import depth, entity_of
from hub.state import StateStore
from hub.sync.deletions import Deletions
from hub.sync.report import FlowReport
from hub.sync.settling import quietly, settle
from hub.sync.state import SETTLES, Abort, Staged, aware

log = structlog.get_logger("hub.sync")


__all__ = ["CLOCK_SKEW", "FlowRun", "run_flow"]

CLOCK_SKEW = timedelta(minutes=1)


class FlowRun(Deletions):
    """One run of one flow; :func:`run_flow` is the way to start it.

    Its steps are layered, one module each: the run's state (``state``), settling it
    (``settling``), dead letters (``dead_letters``), the write path (``writing``), reading
    ahead (``reading``), deletions (``deletions``); this class runs them in order.
    """

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
                staged: Staged | None = None
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
            for index in self.indexes.values():
                index.close()
            if prepared is not None:
                prepared.cancel()  # not needed any more (if still under way)
                await asyncio.wait({prepared})
            self._store_snapshot()  # of a batch stopped before its first writes went out
            # A run stopped mid-batch still finishes the state writes under way.
            for task in (self.settling, self.snapshot):
                if task is not None:
                    await settle(quietly(task))
            self.settling = self.snapshot = None
        if full:
            await self._handle_deletions()
        if not self.dry_run and self.flow.entity in self.source.capabilities.incremental:
            # Stored with the run's end (one transaction): see run_flow. Never past the read's
            # start: a record edited after its page was read, before a later page's newest
            # edit, would otherwise be behind the cursor for good (a re-read costs no write).
            newest = self.max_updated or read_started
            self.cursor = min(newest, read_started)
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
            if letter["category"] == EDITED_COPY and letter["body"] is not None
        }
        await self._write_configured_locations(configured.result())
        if not self.dry_run:
            await self._retry_parked(letters)
        await self._flush()

    async def _handle_batch(self, staged: Staged) -> None:
        self.batch_started = datetime.now(UTC)
        self.report.read += staged.size
        self.read_rejected += len(staged.rejected)
        for key, source_id, reason, kind, body in staged.rejected:
            await self._dead_letter(key, source_id, reason, kind, body)
        good = staged.good
        if not good:
            return
        await self._prefetched(staged)
        entity, cache = self.flow.entity, self.cache
        creates = sum(
            1
            for item in good
            if cache.get((entity, item.record.key)) is None
            and (entity, item.record.key) not in self.pending
        )
        await self._index_matches(creates)
        self.digests = staged.digests
        if not self.dry_run:
            # Written while the batch is sent: nothing in flight needs it (a parent looked up
            # by its body waits for it), and the batch is not done until it is stored.
            self.unserialised = staged
            if staged.snapshot:  # serialised while it was staged
                self._store_snapshot()
        levels: dict[int, list[SourceRecord]] = {}
        for item in good:
            levels.setdefault(depth(item.record), []).append(item)
        deepest = max(levels)
        for level_at in sorted(levels):
            level = levels[level_at]
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
                await self._flush(final=level_at == deepest)
                raise asyncio.CancelledError  # a write was cancelled: never count it as done
            if level_at < deepest:
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
                stamp = aware(item.updated_at)
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
                    raise Abort(str(exc)) from exc
                reason, category = await self._copy_edited(item, exc)
                body = record.model_dump(mode="json")
                kind = type(exc).__name__
                await self._dead_letter(record.key, item.source_id, reason, kind, body, category)
                continue
            self._count(action)
            if parked and not self.dry_run and record.key in parked:
                parked.discard(record.key)
                await self.store.clear_dead_letter(self.flow.name, entity, record.key)

    async def _retry_parked(self, letters: Sequence[dict[str, Any]]) -> None:
        """Records parked for a cause that may have passed (a missing parent, an outage)."""
        await self.retry_letters([letter for letter in letters if letter["category"] == PARKED])

    async def retry_letters(self, letters: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Send dead-lettered records of this flow through its write path again: a written
        one leaves the queue, the others stay with their new reason (``prophub dlq retry``
        and each run's parked records alike)."""
        totals = {"retried": 0, "written": 0, "failed": 0}
        for letter in letters:
            if letter["body"] is None or letter["error_type"] == "ReadFailure":
                # What the vendor sent, not a record: a read brings it back once it is fixed.
                continue
            totals["retried"] += 1
            try:
                record = entity_of(letter["entity"]).model_validate(letter["body"])
            except ValidationError as exc:
                # Parked by an older version whose model took it: it stays, with why.
                totals["failed"] += 1
                reason = f"no longer a valid {letter['entity']}: {exc.errors()[0]['msg']}"
                await self.store.add_dead_letter(
                    self.flow.name,
                    letter["entity"],
                    letter["key"],
                    letter["source_id"],
                    reason,
                    "MappingError",
                    letter["body"],
                    letter["category"],
                )
                continue
            try:
                action = await self._write(self.flow.entity, record)
            except (PermanentError, TransientError, ProtocolError, MappingError) as exc:
                totals["failed"] += 1
                await self.store.add_dead_letter(
                    self.flow.name,
                    letter["entity"],
                    letter["key"],
                    letter["source_id"],
                    str(exc),
                    type(exc).__name__,
                    letter["body"],
                    exc.category,
                )
                continue
            totals["written"] += 1
            self._count(action)
            await self.store.clear_dead_letter(self.flow.name, letter["entity"], letter["key"])
        await self._flush()
        return totals


async def run_flow(
    flow: FlowSettings,
    source: Connector,
    target: Connector,
    store: StateStore,
    *,
    full: bool = False,
    dry_run: bool = False,
    allow_mass_delete: bool = False,
    settles: int = SETTLES,
) -> FlowReport:
    """Run one flow once and return its report; the run is recorded in the store.

    ``allow_mass_delete`` lifts the guard on deleting more than the flow's share of its
    known records in one run (never the rule that only a provably complete read deletes).
    ``settles`` bounds how often a create whose outcome is unknown is looked up and sent
    again: the target connector's retry policy's attempts, where it has one.
    """
    run = FlowRun(
        flow,
        source,
        target,
        store,
        dry_run=dry_run,
        allow_mass_delete=allow_mass_delete,
        settles=settles,
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
            await settle(run._flush(final=True))  # what was written is recorded first
            status = "cancelled" if isinstance(exc, asyncio.CancelledError) else "failed"
            await settle(store.finish_run(run.run_id, status, run.report.counts(), _describe(exc)))
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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def _reraise_first(group: BaseExceptionGroup[BaseException]) -> None:
    first = group.exceptions[0]
    if isinstance(first, BaseExceptionGroup):
        _reraise_first(first)
    if isinstance(first, Abort) and isinstance(first.__cause__, HubError):
        raise first.__cause__ from None
    raise first from None
