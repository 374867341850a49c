"""Clearing what dead processes left behind: their runs, and the leases of versions before
the job queue (flow runs across replicas are procrastinate's jobs now, see hub.jobs)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from hub.state.base import StoreBase, aware, now
from hub.state.owners import Stale, gone
from hub.state.schema import leases, runs

__all__ = ["Leases", "clear_stale"]


class Leases(StoreBase):
    """What processes that are gone left behind."""

    async def clear_stale(self) -> list[Stale]:
        """Clear what processes that are gone left behind: their leases are dropped, their
        runs marked ``stale`` with the reason. A process is gone when it is dead on this
        host, or, on another, when what it held expired unrenewed."""
        return await self.run(clear_stale, write=True)


def _expiry(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)


def clear_stale(conn: sa.Connection) -> list[Stale]:
    """Drop the leases and mark stale the runs of processes that are gone (see above)."""
    moment = now()
    cleared = []
    for row in conn.execute(sa.select(leases)).all():
        reason = gone(row.owner, _expiry(row.expires_at), moment)
        if reason is not None:
            conn.execute(
                leases.delete().where(leases.c.name == row.name, leases.c.owner == row.owner)
            )
            cleared.append(Stale("lease", row.name, row.owner, reason))
    held = {row.name for row in conn.execute(sa.select(leases.c.name)).all()}
    query = sa.select(runs.c.id, runs.c.flow, runs.c.owner, runs.c.expires_at).where(
        runs.c.status == "running"
    )
    for row in conn.execute(query).all():
        reason = gone(row.owner, _expiry(row.expires_at), moment)
        if row.owner is None and f"flow:{row.flow}" not in held:
            # a run recorded before runs had owners: alive only while its flow's lease is
            reason = "it predates run owners and no lease on its flow is held"
        if reason is None:
            continue
        conn.execute(
            runs.update()
            .where(runs.c.id == row.id, runs.c.status == "running")
            .values(status="stale", finished_at=moment, error=f"abandoned: {reason}")
        )
        cleared.append(Stale("run", row.flow, row.owner, reason, row.id))
    return cleared
