"""The idempotency ledger: creates intended before they are sent, and how each one ended.

A create is open (sent with no known outcome) while its entry is pending and no
cross-reference of its key at the target was written since: a create that succeeded is settled
by that cross-reference, without an update of its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql

from hub.state.base import StoreBase, now
from hub.state.schema import ledger, xref

__all__ = ["Ledger", "close_intents", "keys_param", "one_of", "open_intents_in"]

_INTENT_COLUMNS = ("flow", "target", "entity", "key", "hash", "state", "created_at")


class Ledger(StoreBase):
    """Intended creates, one key at a time (batches go through ``prepare_batch``)."""

    async def ledger_begin(self, flow: str, target: str, entity: str, key: str, hash: str) -> int:
        """Record an intended create before it is sent; returns the entry id."""
        statement = ledger.insert().values(
            flow=flow,
            target=target,
            entity=entity,
            key=key,
            hash=hash,
            state="pending",
            created_at=now(),
        )
        return await self.run(
            lambda conn: int(conn.execute(statement).inserted_primary_key[0]),  # type: ignore[index]
            write=True,
        )

    async def ledger_pending(self, target: str, entity: str, key: str) -> bool:
        """Whether a create of ``key`` at ``target`` was sent without a known outcome."""
        query = (
            sa.select(sa.func.count())
            .select_from(ledger)
            .where(_open_intent(target, entity), ledger.c.key == key)
        )
        return await self.run(lambda conn: bool(conn.execute(query).scalar()))

    async def ledger_resolve(self, target: str, entity: str, key: str) -> None:
        """Close every pending entry of ``key`` at ``target`` (looked up and settled)."""
        await self.run(
            lambda conn: close_intents(conn, target, entity, key, "resolved"), write=True
        )

    def _intend(
        self, conn: sa.Connection, flow: str, target: str, entity: str, keys: Sequence[str]
    ) -> None:
        """Insert a pending intended create per key (one statement, compiled once)."""
        stamp = now()
        rows = [(flow, target, entity, key, "", "pending", stamp) for key in keys]
        insert = ledger.insert()
        self.statements.executemany(conn, "ledger_begin", ledger, insert, _INTENT_COLUMNS, rows)


def close_intents(conn: sa.Connection, target: str, entity: str, key: str, state: str) -> None:
    """Give the key's pending ledger entries at ``target`` their final ``state``."""
    conn.execute(
        ledger.update()
        .where(
            ledger.c.target == target,
            ledger.c.entity == entity,
            ledger.c.key == key,
            ledger.c.state == "pending",
        )
        .values(state=state)
    )


def _open_intent(target: Any, entity: Any) -> sa.ColumnElement[bool]:
    """Ledger rows of creates with no known outcome: pending, and no cross-reference since."""
    settled = sa.exists().where(
        xref.c.connector == ledger.c.target,
        xref.c.entity == ledger.c.entity,
        xref.c.key == ledger.c.key,
    )
    return sa.and_(
        ledger.c.target == target,
        ledger.c.entity == entity,
        ledger.c.state == "pending",
        ~settled,
    )


def one_of(column: sa.ColumnElement[str], dialect: str) -> sa.ColumnElement[bool]:
    """``column`` is one of the keys bound as ``keys``: a JSON array read by ``json_each`` on
    SQLite, an array on PostgreSQL. One parameter, so the statement is compiled once; an
    expanding IN is rendered again on every call."""
    if dialect == "postgresql":
        keys = sa.bindparam("keys", type_=sa.dialects.postgresql.ARRAY(sa.String))
        return column == sa.any_(keys)
    listed: sa.Select[Any] = sa.select(sa.column("value")).select_from(
        sa.func.json_each(sa.bindparam("keys"))
    )
    return column.in_(listed)


def keys_param(conn: sa.Connection, keys: Sequence[str]) -> Any:
    """The value bound as ``keys`` for :func:`one_of` on this connection's database."""
    return list(keys) if conn.dialect.name == "postgresql" else json.dumps(list(keys))


# Built once per backend: a batch's look-ups pass all their keys as one parameter.
_OPEN_INTENTS_OF = {
    dialect: sa.select(ledger.c.key).where(
        _open_intent(sa.bindparam("target"), sa.bindparam("entity")),
        one_of(ledger.c.key, dialect),
    )
    for dialect in ("sqlite", "postgresql")
}


def open_intents_in(conn: sa.Connection, target: str, entity: str, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` have a create at ``target`` sent with no known outcome."""
    if not keys:
        return set()
    params = {"target": target, "entity": entity, "keys": keys_param(conn, keys)}
    return {row.key for row in conn.execute(_OPEN_INTENTS_OF[conn.dialect.name], params)}
