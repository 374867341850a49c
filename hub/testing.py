"""Test helpers shipped with the hub: an in-memory connector with injectable faults.

``FakeConnector`` behaves like a vendor keyed by natural key: a create of a key it already
holds answers ``Conflict`` internally and resolves to the existing record (as the real
connectors do), ``fail_keys`` are rejected, ``unknown_outcome_keys`` are stored and then
reported as timed out (the outcome-unknown case), and references to missing parents raise
``MissingParent``; ``unavailable_keys`` answer 503 a given number of times first.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self

from pydantic import BaseModel

from hub.client.settings import ConnectorSettings
from hub.connector import (
    Capabilities,
    ConnectorPlugin,
    ReadEnd,
    SourceRecord,
    WriteAction,
    WriteResult,
)
from hub.errors import InvalidRecord, MissingParent, NotFound, RequestTimeout, Unavailable
from hub.models import ENTITIES, CanonicalRecord

__all__ = ["FakeConnector", "FakeSettings", "Stored", "fake_plugin"]


class FakeSettings(ConnectorSettings):
    """Settings of the fake connector."""

    type: Literal["fake"] = "fake"
    base_url: str = "http://fake.invalid"


@dataclass
class Stored:
    """One record held by the fake vendor."""

    ref: str
    record: CanonicalRecord
    updated_at: datetime


@dataclass
class FakeConnector:
    """An in-memory vendor for engine tests."""

    name: str = "fake"
    vendor: str = "fake"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(
            reads=frozenset(ENTITIES),
            writes=frozenset(ENTITIES),
            deletes=frozenset(ENTITIES),
            incremental=frozenset(ENTITIES),
        )
    )
    data: dict[str, dict[str, Stored]] = field(default_factory=dict)
    fail_keys: dict[str, str] = field(default_factory=dict)
    unknown_outcome_keys: set[str] = field(default_factory=set)
    #: key -> how many more writes of it answer 503 first
    unavailable_keys: dict[str, int] = field(default_factory=dict)
    check_parents: bool = False
    #: whether a read ends by stating how many records it holds (as Buildium's header does)
    states_total: bool = True
    creates: int = 0
    updates: int = 0
    deletes: int = 0
    lookups: int = 0
    clock: Any = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def now(self) -> datetime:
        """The fake vendor's clock."""
        return self.clock() if self.clock is not None else datetime.now(UTC)

    def put(
        self,
        entity: str,
        record: CanonicalRecord,
        ref: str | None = None,
        updated_at: datetime | None = None,
    ) -> Stored:
        """Seed a record as if the vendor already held it."""
        stored = Stored(ref or str(next(self._ids)), record, updated_at or self.now())
        self.data.setdefault(entity, {})[record.key] = stored
        return stored

    def records(self, entity: str) -> list[CanonicalRecord]:
        """Every record held for an entity."""
        return [s.record for s in self.data.get(entity, {}).values()]

    async def check(self) -> None:
        """Always reachable."""

    async def read(
        self,
        entity: str,
        since: datetime | None = None,
        *,
        collections: Sequence[str] | None = None,
    ) -> AsyncIterator[SourceRecord | ReadEnd]:
        """Records in insertion order, those updated at or after ``since``, then the count."""
        count = 0
        for stored in list(self.data.get(entity, {}).values()):
            if since is None or stored.updated_at >= since:
                count += 1
                yield SourceRecord(stored.record, stored.ref, stored.updated_at)
        yield ReadEnd(entity, count if self.states_total else None, count)

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        """Create or update by key; a create of a held key resolves to it (the 409 path)."""
        if self.unavailable_keys.get(record.key, 0) > 0:
            self.unavailable_keys[record.key] -= 1
            raise Unavailable("try later", vendor=self.vendor, status=503)
        if record.key in self.fail_keys:
            raise InvalidRecord(
                "rejected", vendor=self.vendor, status=422, messages=[self.fail_keys[record.key]]
            )
        self._check_parents(record)
        held = self.data.get(entity, {}).get(record.key)
        if held is None:
            if known_ref is not None:
                raise NotFound("gone", vendor=self.vendor, status=404)
            self.creates += 1
            stored = self.put(entity, record)
            if record.key in self.unknown_outcome_keys:
                self.unknown_outcome_keys.discard(record.key)
                raise RequestTimeout(
                    "timed out", vendor=self.vendor, method="POST", outcome_unknown=True
                )
            return WriteResult(stored.ref, WriteAction.CREATED)
        if _same(held.record, record):
            return WriteResult(held.ref, WriteAction.UNCHANGED)
        self.updates += 1
        held.record, held.updated_at = record, self.now()
        return WriteResult(held.ref, WriteAction.UPDATED)

    def _check_parents(self, record: CanonicalRecord) -> None:
        if not self.check_parents:
            return
        refs = {s.ref for entity in self.data.values() for s in entity.values()}
        for name in ("parent_key", "neighborhood_key", "home_key"):
            value = getattr(record, name, None)
            if value and value not in refs:
                raise MissingParent(
                    "parent not found",
                    vendor=self.vendor,
                    status=404,
                    messages=[f"{name} {value} not found"],
                )

    async def lookup(
        self, entity: str, record: CanonicalRecord, *, by: str | None = None
    ) -> str | None:
        """Find a record by its key (the fake's one natural key)."""
        self.lookups += 1
        held = self.data.get(entity, {}).get(record.key)
        return held.ref if held else None

    async def delete(self, entity: str, ref: str, *, deactivate: bool = False) -> None:
        """Delete by ref."""
        for key, stored in list(self.data.get(entity, {}).items()):
            if stored.ref == ref:
                self.deletes += 1
                del self.data[entity][key]
                return
        raise NotFound("no such record", vendor=self.vendor, status=404)


def _same(a: BaseModel, b: BaseModel) -> bool:
    return a.model_dump() == b.model_dump()


def fake_plugin(connectors: Mapping[str, FakeConnector]) -> ConnectorPlugin:
    """A plugin whose factory hands out the given fake connectors by name (for Hub tests)."""

    def factory(settings: Any, *, name: str, observer: Any = None) -> FakeConnector:
        return connectors[name]

    return ConnectorPlugin(name="fake", connector=factory, settings=FakeSettings)
