"""Deletions that follow only a provably complete read."""

from __future__ import annotations

import structlog

from hub.errors import (
    NotFound,
    PermanentError,
    UnsupportedValue,
)
from hub.sync.reading import Reading

log = structlog.get_logger("hub.sync")


__all__ = ["MASS_DELETE_SHARE", "Deletions"]

#: the share of a flow's known records one run may delete without --allow-mass-delete
MASS_DELETE_SHARE = 0.1


class Deletions(Reading):
    """Records gone from the source: acted on only after a read that proves it saw all of
    them, and within the mass-deletion guard."""

    async def _handle_deletions(self) -> None:
        """Act on records gone from the source, only after a read that proves it saw all."""
        if self.flow.on_delete == "ignore":
            return
        source, entity = self.source.name, self.flow.entity
        # Every record this flow's runs remembered: another flow reading other collections
        # of the same source and entity did not see its records here, nor they its.
        known = await self.store.unseen_records(source, entity, flow=self.flow.name)
        gone = [(key, sid) for key, sid in known if key not in self.read_keys]
        if not gone:
            return
        why = self._incomplete()
        if why is None:
            share = self.flow.options.get("allow_mass_delete_share", MASS_DELETE_SHARE)
            if len(gone) > share * len(known) and not self.allow_mass_delete:
                why = (
                    f"{len(gone)} of {len(known)} known records gone at once, more than "
                    f"{share:.0%}: pass --allow-mass-delete if that is right"
                )
        if why is not None:
            self.report.withheld = len(gone)
            self.report.notes.append(f"{len(gone)} deletion(s) withheld: {why}")
            log.warning("deletions withheld", flow=self.flow.name, gone=len(gone), reason=why)
            return
        for key, source_id in gone:
            if self.dry_run:
                self._plan(self.flow.on_delete, key)
                self.report.deleted += 1
            else:
                await self._delete(key, source_id)

    def _incomplete(self) -> str | None:
        """Why this run's read does not prove it saw every record at the source, if so."""
        if self.read_rejected:
            return f"{self.read_rejected} record(s) could not be read or mapped"
        if not self.read_ends:
            return f"{self.source.name} does not state how many records it holds"
        for end in self.read_ends:
            if not end.complete:
                return end.why_incomplete()
        stated = sum(end.stated_total or 0 for end in self.read_ends)
        if stated != len(self.read_keys):
            return f"read {len(self.read_keys)} distinct records of the {stated} stated"
        return None

    async def _delete(self, key: str, source_id: str) -> None:
        policy = self.flow.on_delete
        known = await self.store.get_xref(self.target.name, self.flow.entity, key)
        log.info("record disappeared at source", flow=self.flow.name, key=key, on_delete=policy)
        if known is not None:
            try:
                await self.target.delete(
                    self.flow.entity, known.ref, deactivate=policy == "deactivate"
                )
            except NotFound:
                pass  # gone already: the outcome a delete wants
            except (UnsupportedValue, PermanentError) as exc:
                await self._dead_letter(
                    key, source_id, f"cannot {policy}: {exc}", type(exc).__name__, None
                )
                return
            await self.store.drop_xref(self.target.name, self.flow.entity, key)
        self.report.deleted += 1
        await self.store.forget_record(self.source.name, self.flow.entity, key)
