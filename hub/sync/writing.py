"""The write path of one record, parents and idempotency ledger included."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import structlog

from hub.connector import (
    WriteAction,
    WriteResult,
)
from hub.errors import (
    AmbiguousMatch,
    HubError,
    MissingParent,
    VendorError,
)
from hub.matching import IndexesMatches, MatchIndex
from hub.models import (
    REFERENCES,
    CanonicalRecord,
    entity_of,
    record_hash,
)
from hub.sync.dead_letters import DeadLetters
from hub.sync.references import references, substitute

log = structlog.get_logger("hub.sync")


__all__ = ["INDEXED_FROM", "Writing"]

#: a batch's creates from which an index of the target's records may replace their look-ups
INDEXED_FROM = 10


class Writing(DeadLetters):
    """Writing one record: its references translated (missing parents written first), its
    hash compared, a match looked for before a create, the create recorded in the ledger
    before it is sent and an unknown outcome settled by look-up, never sent blindly."""

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
                if known is not None:
                    raise  # an update's faults were the client's to retry
                result = await self._settling(
                    partial(self._create, entity, translated, digest), exc
                )
        except MissingParent as exc:
            if heal == 0 or not exc.repairable:
                raise
            # A parent we thought was there is gone: write it again, then this record.
            await self._forget_parents(record)
            return await self._write(entity, record, depth, heal - 1)
        self._wrote(entity, record.key, result.ref, digest)
        if known is None and entity in self.indexes:
            self.indexes[entity].created(translated, result.ref)
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
        index = self.indexes.get(entity)
        for by in keys:
            try:
                if index is not None and index.by == by:
                    found = self._indexed(index, record)
                else:
                    found = await self.target.lookup(entity, record, by=by)
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

    def _indexed(self, index: MatchIndex, record: CanonicalRecord) -> str | None:
        """The match the run's index holds: the look-up's answer, without its request."""
        refs = index.find(record)
        if len(refs) > 1:
            raise AmbiguousMatch(
                f"ambiguous match: {len(refs)} records at {self.target.name} have this {index.by}",
                candidates=refs,
                vendor=self.target.vendor,
            )
        return refs[0] if refs else None

    async def _index_matches(self, creates: int) -> None:
        """Read the target's existing records once for this run's matching, where the
        target can and that costs fewer requests than this batch's ``creates`` look-ups."""
        entity, target = self.flow.entity, self.target
        if (
            self.index_tried
            or creates < INDEXED_FROM
            or not self.match_on
            or not isinstance(target, IndexesMatches)
        ):
            return
        self.index_tried = True
        by = self.match_on[0]
        try:
            index = await target.match_index(entity, by, max_requests=creates)
        except HubError as exc:
            # The look-ups meet the same fault, record by record, with their reports.
            log.info("matching by look-up", flow=self.flow.name, reason=str(exc))
            return
        if index is not None:
            self.indexes[entity] = index
            log.debug("matching from an index", flow=self.flow.name, records=len(index))

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
        result = await self.target.write(entity, translated, ref)
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

    async def _settling(
        self, call: Callable[[], Awaitable[WriteResult]], failed: VendorError
    ) -> WriteResult:
        """Settle a create whose outcome is unknown: ``call`` looks the record up before it
        writes again, as often as the run's ``settles`` allows (the target's retry policy).
        Every other failure ends here: the client has already retried what was worth
        retrying, under its connector's one policy."""
        for _ in range(self.settles):
            if not failed.outcome_unknown or failed.connector_wide:
                break
            try:
                return await call()
            except VendorError as exc:
                failed = exc
        raise failed

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
            references(record, record.key, found)
        refs: dict[tuple[str, str], str] = {}
        for slot in found:
            if slot not in refs:
                ref = self.ensured.get(slot)
                refs[slot] = ref if ref is not None else await self._ref_for(*slot, depth)
        if all(ref == key for (_, key), ref in refs.items()):
            return record  # the target knows these records by our keys: nothing to rewrite
        return type(record).model_validate(substitute(record.model_dump(), refs, record.key))

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
