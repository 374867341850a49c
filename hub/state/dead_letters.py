"""Dead letters: records that cannot be written, parked with the reason until written or dropped."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from hub.secrets import mask
from hub.state.base import StoreBase, now
from hub.state.schema import dead_letters

__all__ = ["DeadLetters"]


class DeadLetters(StoreBase):
    """The dead-letter queue."""

    async def add_dead_letter(
        self,
        flow: str,
        entity: str,
        key: str,
        source_id: str,
        reason: str,
        error_type: str,
        body: dict[str, Any] | None,
        category: str = "refused",
    ) -> None:
        """Park a record that cannot be written, with the reason and what to do with it next
        (its ``category``); repeats bump ``attempts``."""
        reason = mask(reason)  # whoever built it, a stored reason never holds a secret
        where = [
            dead_letters.c.flow == flow,
            dead_letters.c.entity == entity,
            dead_letters.c.key == key,
        ]
        text = json.dumps(body) if body is not None else None

        def work(conn: sa.Connection) -> None:
            updated = conn.execute(
                dead_letters.update()
                .where(*where)
                .values(
                    reason=reason,
                    error_type=error_type,
                    category=category,
                    attempts=dead_letters.c.attempts + 1,
                    body=text,
                )
            )
            if updated.rowcount == 0:
                conn.execute(
                    dead_letters.insert().values(
                        flow=flow,
                        entity=entity,
                        key=key,
                        source_id=source_id,
                        reason=reason,
                        error_type=error_type,
                        category=category,
                        attempts=1,
                        created_at=now(),
                        body=text,
                    )
                )

        await self.run(work, write=True)

    async def clear_dead_letter(self, flow: str, entity: str, key: str) -> None:
        """Remove the dead letter of a record that has now been written."""
        statement = dead_letters.delete().where(
            dead_letters.c.flow == flow,
            dead_letters.c.entity == entity,
            dead_letters.c.key == key,
        )
        await self.run(lambda conn: conn.execute(statement), write=True)

    async def dead_letters(self, flow: str | None = None) -> list[dict[str, Any]]:
        """Dead letters, oldest first, optionally of one flow."""
        query = sa.select(dead_letters).order_by(dead_letters.c.id)
        if flow is not None:
            query = query.where(dead_letters.c.flow == flow)
        rows = await self.run(lambda conn: conn.execute(query).mappings().all())
        return [{**row, "body": json.loads(row["body"]) if row["body"] else None} for row in rows]

    async def dead_letter_flows(self, letter_ids: list[int]) -> dict[int, str]:
        """The flow of each of these dead letters that exists, by id."""
        query = sa.select(dead_letters.c.id, dead_letters.c.flow).where(
            dead_letters.c.id.in_(letter_ids)
        )
        return await self.run(lambda conn: {row.id: row.flow for row in conn.execute(query)})

    async def drop_dead_letter(self, letter_id: int) -> bool:
        """Delete one dead letter; False if there was none with that id."""
        statement = dead_letters.delete().where(dead_letters.c.id == letter_id)
        return await self.run(lambda conn: bool(conn.execute(statement).rowcount), write=True)
