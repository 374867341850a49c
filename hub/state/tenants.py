"""Stored tenant definitions (their secrets already sealed by the caller)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from hub.state.base import StoreBase, now
from hub.state.schema import tenants

__all__ = ["StoredTenants"]


class StoredTenants(StoreBase):
    """Tenant definitions by name, as JSON."""

    async def put_tenant(self, name: str, body: dict[str, Any]) -> None:
        """Add the tenant ``name`` or replace its definition."""
        text, moment = json.dumps(body, sort_keys=True), now()

        def work(conn: sa.Connection) -> None:
            changed = conn.execute(
                tenants.update().where(tenants.c.name == name).values(body=text, updated_at=moment)
            )
            if not changed.rowcount:
                conn.execute(tenants.insert().values(name=name, body=text, updated_at=moment))

        await self.run(work, write=True)

    async def tenant_bodies(self) -> dict[str, dict[str, Any]]:
        """Every stored tenant's definition, by name."""
        statement = sa.select(tenants.c.name, tenants.c.body).order_by(tenants.c.name)
        rows = await self.run(lambda conn: conn.execute(statement).all())
        return {name: json.loads(body) for name, body in rows}

    async def remove_tenant(self, name: str) -> bool:
        """Forget the tenant ``name``; whether it was there."""
        statement = tenants.delete().where(tenants.c.name == name)
        result = await self.run(lambda conn: conn.execute(statement), write=True)
        return bool(result.rowcount)
