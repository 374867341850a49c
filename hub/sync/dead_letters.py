"""Dead letters and echoes: what is not written, and why."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from hub.connector import (
    SourceRecord,
)
from hub.errors import (
    EDITED_COPY,
    REFUSED,
    HubError,
    PermanentError,
)
from hub.sync.settling import Settling
from hub.sync.state import aware

log = structlog.get_logger("hub.sync")


__all__ = ["ECHO_TOLERANCE", "DeadLetters"]

ECHO_TOLERANCE = timedelta(seconds=2)


class DeadLetters(Settling):
    """Records the target refused, with the reason (secrets masked), and the echoes of the
    hub's own writes that are not written back."""

    async def _dead_letter(
        self,
        key: str,
        source_id: str,
        reason: str,
        kind: str,
        body: dict[str, Any] | None,
        category: str = REFUSED,
    ) -> None:
        self.report.failed += 1
        log.warning("dead letter", flow=self.flow.name, key=key, reason=reason)
        if not self.dry_run:
            await self.store.add_dead_letter(
                self.flow.name, self.flow.entity, key, source_id, reason, kind, body, category
            )

    async def _copy_edited(self, item: SourceRecord, exc: HubError) -> tuple[str, str]:
        """The dead letter's reason and category, saying so when the refused record is the
        hub's own copy of a target record edited at the source since (a two-way pair): that
        edit cannot be carried back, and is reported once."""
        reason = str(exc)
        if not self.echo_possible or not isinstance(exc, PermanentError):
            return reason, exc.category
        mine = await self.store.find_ref(self.source.name, self.flow.entity, item.source_id)
        if mine is None:
            return reason, exc.category
        return (
            f"edited in {self.source.name} after the hub copied it there from "
            f"{self.target.name} ({mine.key}); the edit cannot be carried back: {reason}"
        ), EDITED_COPY

    async def _is_echo(self, item: SourceRecord) -> bool:
        """The record only reflects the hub's own write of a record that came from the target."""
        if not self.echo_possible:
            return False  # the hub never wrote this entity to the source
        mine = await self.store.find_ref(self.source.name, self.flow.entity, item.source_id)
        if mine is None:
            return False
        if not await self.store.has_record(self.target.name, self.flow.entity, mine.key):
            return False
        if item.updated_at is None:
            return True
        return aware(item.updated_at) <= mine.written_at + ECHO_TOLERANCE
