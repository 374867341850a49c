"""Runs and cursors: when each flow's runs started and ended, what they did, and how far each
flow has read (a cursor moves only with the end of the run that earned it)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hub.state.backends import ThreadedSQLite
from hub.state.base import StoreBase, aware, now
from hub.state.schema import cursors, runs

__all__ = ["CHECKPOINT_ROWS", "Runs"]

#: rows written (in bulk) after which a finished run checkpoints SQLite's log
CHECKPOINT_ROWS = 5_000


class Runs(StoreBase):
    """Runs, their owners' renewals, and the flows' cursors."""

    async def get_cursor(self, flow: str) -> datetime | None:
        """The flow's cursor: records updated before it were handled."""
        query = sa.select(cursors.c.cursor).where(cursors.c.flow == flow)
        value = await self.run(lambda conn: conn.execute(query).scalar())
        return datetime.fromisoformat(value) if value else None

    async def start_run(self, flow: str) -> int:
        """Record the start of a run by this process; returns its id."""
        started = now()
        statement = runs.insert().values(
            flow=flow,
            started_at=started,
            status="running",
            counts="{}",
            owner=self.owner,
            expires_at=started + timedelta(seconds=self.run_ttl),
        )
        return await self.run(
            lambda conn: int(conn.execute(statement).inserted_primary_key[0]),  # type: ignore[index]
            write=True,
        )

    async def finish_run(
        self,
        run_id: int,
        status: str,
        counts: dict[str, Any],
        error: str | None = None,
        *,
        cursor: tuple[str, datetime] | None = None,
    ) -> None:
        """Record how a run ended and what it did, and with ``cursor`` (flow, value) advance
        that flow's cursor in the same transaction: a run is over and its cursor moved, or
        neither."""
        ended = now()
        statement = (
            runs.update()
            .where(runs.c.id == run_id)
            .values(finished_at=ended, status=status, counts=json.dumps(counts), error=error)
        )

        def work(conn: sa.Connection) -> None:
            conn.execute(statement)
            if cursor is not None:
                flow, value = cursor
                stamp = {"cursor": aware(value).isoformat(), "updated_at": ended}
                self.statements.upsert(conn, cursors, {"flow": flow}, stamp)

        await self.run(work, write=True)
        if isinstance(self.database, ThreadedSQLite) and self.statements.rows >= CHECKPOINT_ROWS:
            self.statements.rows = 0
            self.database.checkpoint_later()

    async def last_run(self, flow: str) -> dict[str, Any] | None:
        """The flow's latest run with its counts, or None."""
        query = sa.select(runs).where(runs.c.flow == flow).order_by(runs.c.id.desc()).limit(1)
        row = await self.run(lambda conn: conn.execute(query).first())
        if row is None:
            return None
        return {
            **json.loads(row.counts),
            "id": row.id,
            "status": row.status,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "error": row.error,
        }

    async def renew_runs(self, ttl: float) -> int:
        """Presume this process's running runs alive for ``ttl`` seconds more; returns how
        many there are."""
        statement = (
            runs.update()
            .where(runs.c.owner == self.owner, runs.c.status == "running")
            .values(expires_at=now() + timedelta(seconds=ttl))
        )
        return await self.run(lambda conn: int(conn.execute(statement).rowcount), write=True)
