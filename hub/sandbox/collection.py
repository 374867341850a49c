"""A sandbox's records: derived from the seed and an index, storing only client changes."""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["EPOCH", "Collection"]

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class Collection:
    """Records derived from an index (ids ``first_id..first_id+size-1``) plus client changes.

    Generated record ``i`` was last updated at ``EPOCH + i * step``, so an updated-since
    filter is arithmetic, not a scan. Only records clients created, changed or deleted are
    stored. Ids come out in ascending order, which keeps offset paging stable.
    """

    def __init__(
        self,
        name: str,
        size: int,
        make: Callable[[int], dict[str, Any]],
        *,
        first_id: int = 1,
        step: timedelta = timedelta(minutes=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.name = name
        self.size = size
        self.make = make
        self.first_id = first_id
        self.step = step
        self.clock = clock
        self.changed: dict[int, dict[str, Any]] = {}
        self.updated: dict[int, datetime] = {}
        self.deleted: set[int] = set()
        self.next_id = first_id + size

    def generated_updated_at(self, record_id: int) -> datetime:
        """When a generated record was last updated."""
        return EPOCH + (record_id - self.first_id) * self.step

    def exists(self, record_id: int) -> bool:
        """Whether the id names a live record."""
        if record_id in self.deleted:
            return False
        return record_id in self.changed or self.first_id <= record_id < self.first_id + self.size

    def get(self, record_id: int) -> dict[str, Any] | None:
        """The record with this id, or None."""
        if not self.exists(record_id):
            return None
        if record_id in self.changed:
            return dict(self.changed[record_id])
        return self.make(record_id)

    def updated_at(self, record_id: int) -> datetime:
        """When the record was last updated."""
        return self.updated.get(record_id) or self.generated_updated_at(record_id)

    def create(self, record: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
        """Store a new record built from its new id; returns it."""
        record_id = self.next_id
        self.next_id += 1
        return self.put(record_id, record(record_id))

    def put(self, record_id: int, record: dict[str, Any]) -> dict[str, Any]:
        """Replace a record and stamp it updated now."""
        self.changed[record_id] = record
        self.updated[record_id] = self.clock()
        self.deleted.discard(record_id)
        return dict(record)

    def delete(self, record_id: int) -> bool:
        """Delete a record; False if it did not exist."""
        if not self.exists(record_id):
            return False
        self.deleted.add(record_id)
        self.changed.pop(record_id, None)
        return True

    def ids(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[int]:
        """Live ids in ascending order, filtered by last-updated time."""
        start = self.first_id
        if since is not None and since > EPOCH:
            start += math.ceil((since - EPOCH) / self.step)
        end = self.first_id + self.size
        if until is not None:
            end = min(end, self.first_id + math.floor((until - EPOCH) / self.step) + 1)
        generated = (i for i in range(start, max(start, end)) if i not in self.updated)
        touched = sorted(i for i in self.updated if self._within(i, since, until))
        return (i for i in heapq.merge(generated, touched) if i not in self.deleted)

    def _within(self, record_id: int, since: datetime | None, until: datetime | None) -> bool:
        stamp = self.updated[record_id]
        return (since is None or stamp >= since) and (until is None or stamp <= until)

    def count(self, since: datetime | None = None, until: datetime | None = None) -> int:
        """How many live records match the filter (arithmetic for the generated ones)."""
        if since is None and until is None:
            end = self.first_id + self.size
            created = sum(1 for i in self.changed if i >= end)
            return self.size - sum(1 for i in self.deleted if i < end) + created
        return sum(1 for _ in self.ids(since, until))

    def page_items(
        self,
        offset: int,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Iterable[int] | None = None,
    ) -> tuple[list[tuple[int, dict[str, Any]]], int]:
        """One page of (id, record) pairs and the total matching, in ascending id order."""
        chosen = list(ids) if ids is not None else None
        source = iter(chosen) if chosen is not None else self.ids(since, until)
        window = itertools.islice(source, offset, offset + limit)
        pairs = [(i, r) for i, r in ((i, self.get(i)) for i in window) if r is not None]
        total = len(chosen) if chosen is not None else self.count(since, until)
        return pairs, total

    def page(
        self,
        offset: int,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
        ids: Iterable[int] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of records and the total matching, in ascending id order."""
        pairs, total = self.page_items(offset, limit, since, until, ids)
        return [record for _, record in pairs], total
