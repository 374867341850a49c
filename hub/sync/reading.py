"""Reading the source ahead of the writes, in staged batches."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime

import structlog

from hub.connector import (
    ReadEnd,
    ReadFailure,
    SourceRecord,
)
from hub.errors import PermanentError, ProtocolError, TransientError
from hub.models import CanonicalRecord, Location
from hub.sync.references import references
from hub.sync.state import Abort, Staged
from hub.sync.writing import Writing

log = structlog.get_logger("hub.sync")


__all__ = ["BATCH", "READ_SLICE", "Reading"]

BATCH = 1000
#: records mapped between two turns of the event loop while a page is read: mapping a whole
#: page at once would leave the writes in flight unanswered, and the target idle, meanwhile
READ_SLICE = 100


class Reading(Writing):
    """Reading ahead: the source's records in batches, the next read while this one is
    written, each shaped by the flow's options and staged (its store lookups made)."""

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
    ) -> Staged | None:
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

    def _stage(self, batch: Sequence[SourceRecord | ReadFailure]) -> Staged:
        """Shape a batch by the flow's options and start its store lookups (which also
        record its intended creates), while the batch before it is sent (at its own start,
        nothing would be in flight meanwhile); :meth:`_stage_next` then serialises its
        snapshot."""
        entity = self.flow.entity
        staged = Staged(len(batch))
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
        if len(set(keys)) < len(keys):
            # A key twice in one batch (a page-numbered read repeats a record when one is
            # added before it mid-read): its copies would go out at once, each a create.
            # The one read last is written.
            latest = {item.record.key: item for item in staged.good}
            staged.good = list(latest.values())
            keys = list(latest)
        mine = set(keys)
        for item in staged.good:
            record = item.record
            found: list[tuple[str, str]] = []
            references(record, record.key, found)
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

    async def _abandon(self, staged: Staged | None) -> None:
        """A run that stops leaves no staged batch behind: its lookups finish, and the
        intended creates they recorded, if the batch never took them in (never sent), are
        closed with the run's last flush."""
        if staged is None or staged.lookup is None or staged.taken:
            return
        await asyncio.wait({staged.lookup})
        if not staged.lookup.cancelled() and staged.lookup.exception() is None:
            entity = self.flow.entity
            self.entries.update((entity, key) for key in staged.lookup.result().intended)

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
                raise Abort(f"configured location {location.key}: {exc}") from exc
