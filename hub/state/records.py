"""Source records: the last canonical body read for each key from each source, and the run
that last saw it (what a full read did not see again was deleted at the source)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from hub.state.base import StoreBase
from hub.state.schema import records, runs

__all__ = ["SourceRecords"]


class SourceRecords(StoreBase):
    """What was read from each source."""

    async def put_records(
        self,
        source: str,
        entity: str,
        run_id: int,
        rows: Sequence[tuple[str, str, str, str]],
    ) -> None:
        """Remember records read from ``source``: (key, source_id, hash, canonical JSON body)."""
        names = ("source", "entity", "key", "source_id", "hash", "body", "seen_run")
        values = [
            (source, entity, key, sid, digest, body, run_id) for key, sid, digest, body in rows
        ]
        keys = ["source", "entity", "key"]
        await self.run(
            lambda conn: self.statements.upsert_many(conn, records, keys, names, values),
            write=True,
        )

    async def get_record(self, entity: str, key: str) -> dict[str, Any] | None:
        """The last canonical body read for ``key`` from any source."""
        query = sa.select(records.c.body).where(records.c.entity == entity, records.c.key == key)
        body = await self.run(lambda conn: conn.execute(query).scalar())
        return json.loads(body) if body else None

    async def has_record(self, source: str, entity: str, key: str) -> bool:
        """Whether ``key`` was read from ``source``."""
        query = sa.select(records.c.key).where(
            records.c.source == source, records.c.entity == entity, records.c.key == key
        )
        return await self.run(lambda conn: conn.execute(query).first() is not None)

    async def unseen_records(
        self, source: str, entity: str, run_id: int | None = None, *, flow: str | None = None
    ) -> list[tuple[str, str]]:
        """(key, source_id) of records read earlier from ``source`` but not in run ``run_id``
        (every record remembered, for None); with ``flow``, only those a run of that flow
        saw last (another flow reading other collections of the source has its own)."""
        query = sa.select(records.c.key, records.c.source_id).where(
            records.c.source == source, records.c.entity == entity
        )
        if run_id is not None:
            query = query.where(records.c.seen_run != run_id)
        if flow is not None:
            query = query.where(
                records.c.seen_run.in_(sa.select(runs.c.id).where(runs.c.flow == flow))
            )
        return await self.run(lambda conn: [(r.key, r.source_id) for r in conn.execute(query)])

    async def forget_record(self, source: str, entity: str, key: str) -> None:
        """Drop a source record that disappeared."""
        statement = records.delete().where(
            records.c.source == source, records.c.entity == entity, records.c.key == key
        )
        await self.run(lambda conn: conn.execute(statement), write=True)
