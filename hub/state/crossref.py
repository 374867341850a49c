"""The cross-reference: each canonical key's ref at every connector the hub wrote it to, with
the content hash written there, and the batch look-ups a flow makes before it sends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub.state.base import aware, now
from hub.state.ledger import Ledger, close_intents, keys_param, one_of, open_intents_in
from hub.state.schema import ledger, xref

__all__ = ["Batch", "CrossReferences", "XRef"]


@dataclass(slots=True)  # not frozen: the engine makes one per record written
class XRef:
    """A canonical key's ref at one connector and the hash last written there."""

    key: str
    ref: str
    hash: str
    written_at: datetime


@dataclass(slots=True)
class Batch:
    """What :meth:`CrossReferences.prepare_batch` found and recorded for a batch."""

    known: dict[str, XRef]  # the batch's keys already at the target
    pending: set[str]  # keys whose create was sent with no known outcome
    parents: dict[str, dict[str, XRef]]  # entity -> key -> the parent's cross-reference
    intended: list[str]  # keys whose intended create was recorded now


class CrossReferences(Ledger):
    """Look-ups and writes of the cross-reference (and the intents it settles)."""

    async def get_xref(self, connector: str, entity: str, key: str) -> XRef | None:
        """The ref and last-written hash of ``key`` at ``connector``."""
        query = sa.select(xref).where(
            xref.c.connector == connector, xref.c.entity == entity, xref.c.key == key
        )
        return await self._xref(query)

    async def find_ref(self, connector: str, entity: str, ref: str) -> XRef | None:
        """The cross-reference row holding ``ref`` at ``connector``, if the hub wrote it."""
        query = sa.select(xref).where(
            xref.c.connector == connector, xref.c.entity == entity, xref.c.ref == ref
        )
        return await self._xref(query)

    async def _xref(self, query: sa.Select[Any]) -> XRef | None:
        def work(conn: sa.Connection) -> XRef | None:
            row = conn.execute(query).first()
            return None if row is None else _xref_of(row)

        return await self.run(work)

    async def prepare_batch(
        self,
        flow: str | None,
        target: str,
        entity: str,
        keys: Sequence[str],
        parents: Mapping[str, Sequence[str]],
    ) -> Batch:
        """What a batch needs before its first send, in one transaction: its keys'
        cross-references at ``target``, which of the others have a create with no known
        outcome, the cross-references of the ``parents`` it points at (entity -> keys), and,
        unless ``flow`` is None (a dry run), an intended create of every key with neither."""

        def work(conn: sa.Connection) -> Batch:
            known = _xrefs_in(conn, target, entity, keys)
            missing = [k for k in keys if k not in known]
            pending = open_intents_in(conn, target, entity, missing)
            found = {e: _xrefs_in(conn, target, e, wanted) for e, wanted in parents.items()}
            fresh = [k for k in missing if k not in pending]
            if flow is not None and fresh:
                self._intend(conn, flow, target, entity, fresh)
            return Batch(known, pending, found, fresh if flow is not None else [])

        return await self.run(work, write=flow is not None)

    async def flush_writes(
        self,
        connector: str,
        rows: Sequence[tuple[str, str, str, str]],
        failed: Sequence[tuple[str, str]] = (),
    ) -> None:
        """In one transaction: record (entity, key, ref, hash) writes, and close the intended
        creates of the (entity, key) pairs given up (``failed``).

        An intended create that was sent needs no update of its own: the cross-reference
        written here settles it.
        """
        if not (rows or failed):
            return
        stamp = now()
        values = [(connector, entity, key, ref, digest, stamp) for entity, key, ref, digest in rows]
        given_up = [(connector, e, k) for e, k in failed]

        def work(conn: sa.Connection) -> None:
            names = ("connector", "entity", "key", "ref", "hash", "written_at")
            self.statements.upsert_many(conn, xref, ["connector", "entity", "key"], names, values)
            if given_up:
                settling = ("target", "entity", "key")
                self.statements.executemany(
                    conn, "ledger_fail", ledger, _GIVE_UP, settling, given_up
                )

        await self.run(work, write=True)

    async def wrote_to(self, connector: str, entity: str) -> bool:
        """Whether the hub ever wrote this entity to ``connector``."""
        query = (
            sa.select(xref.c.key)
            .where(xref.c.connector == connector, xref.c.entity == entity)
            .limit(1)
        )
        return await self.run(lambda conn: conn.execute(query).first() is not None)

    async def drop_xref(self, connector: str, entity: str, key: str) -> None:
        """Forget ``key`` at ``connector`` (it was deleted there)."""

        def work(conn: sa.Connection) -> None:
            # Its creates were settled by the cross-reference; without it they would look open.
            close_intents(conn, connector, entity, key, "done")
            conn.execute(
                xref.delete().where(
                    xref.c.connector == connector, xref.c.entity == entity, xref.c.key == key
                )
            )

        await self.run(work, write=True)


# The intended creates of keys given up are closed as failed: they provably did not happen.
_GIVE_UP = (
    ledger.update()
    .where(
        ledger.c.target == sa.bindparam("target"),
        ledger.c.entity == sa.bindparam("entity"),
        ledger.c.key == sa.bindparam("key"),
        ledger.c.state == sa.literal_column("'pending'"),
    )
    .values(state=sa.literal_column("'failed'"))
)

# Built once per backend: a batch's look-ups pass all their keys as one parameter.
_XREFS_OF = {
    dialect: sa.select(xref).where(
        xref.c.connector == sa.bindparam("connector"),
        xref.c.entity == sa.bindparam("entity"),
        one_of(xref.c.key, dialect),
    )
    for dialect in ("sqlite", "postgresql")
}


def _xref_of(row: Any) -> XRef:
    return XRef(row.key, row.ref, row.hash, aware(row.written_at))


def _xrefs_in(
    conn: sa.Connection, connector: str, entity: str, keys: Sequence[str]
) -> dict[str, XRef]:
    if not keys:
        return {}
    params = {"connector": connector, "entity": entity, "keys": keys_param(conn, keys)}
    rows = conn.execute(_XREFS_OF[conn.dialect.name], params)
    return {row.key: _xref_of(row) for row in rows}
