"""Settling a run's state writes: lookups in, snapshots and cross-references out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

import structlog

from hub.connector import (
    SourceRecord,
)
from hub.models import (
    serialised,
)
from hub.state import Batch, XRef
from hub.sync.state import RunState, Staged

log = structlog.get_logger("hub.sync")


__all__ = ["Settling", "quietly", "settle"]


class Settling(RunState):
    """Keeping the run's state durable: a batch's lookups taken in, its source snapshot
    serialised and stored, its cross-references flushed (which settles the intended creates
    they answer), while the next batch is sent."""

    async def _prefetched(self, staged: Staged) -> None:
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
        """The target's cross-reference for a key: from the batch cache, else the store
        (with its ledger: a create an earlier run sent with no known outcome is pending, to
        be looked up before another is sent, as a batch's own lookup finds)."""
        if (entity, key) in self.cache:
            return self.cache[(entity, key)]
        target = self.target.name
        found = await self.store.get_xref(target, entity, key)
        if found is None and await self.store.ledger_pending(target, entity, key):
            self.pending.add((entity, key))
        self.cache[(entity, key)] = found
        return found

    def _wrote(self, entity: str, key: str, ref: str, digest: str) -> None:
        # The store stamps the row when flushed; the cached copy's stamp is the batch's.
        self.cache[(entity, key)] = XRef(key, ref, digest, self.batch_started)
        self.written.add((entity, key))
        self.unflushed.append((entity, key, ref, digest))

    @staticmethod
    def _snapshot_rows(staged: Staged, items: Sequence[SourceRecord]) -> None:
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


async def settle(work: Awaitable[None]) -> None:
    """Finish a state write even if this task is cancelled again meanwhile."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task  # the record of the run must not be left half-written
        raise


async def quietly(task: asyncio.Task[None]) -> None:
    """Wait for a task whose error would only hide the one already on its way."""
    await asyncio.wait({task})
    if not task.cancelled() and task.exception() is not None:
        log.warning("stopped as well", task=task.get_name(), error=str(task.exception()))
