"""A development's nested records in the Propertybase sandbox: its addresses and floor plans.

Seeded ones are made on demand; once a client changes a development's list, the changed list
is kept (a nested change does not move the development's ``updated_at``).
"""

from __future__ import annotations

from typing import Any

from connectors.propertybase.sandbox_data import seeded_nested

__all__ = ["NestedRecords"]


class NestedRecords:
    """Each development's addresses and floor plans, by (resource, development id)."""

    def __init__(self, seed: int, seeded_developments: int) -> None:
        self.seed, self.seeded_developments = seed, seeded_developments
        #: (nested resource, development id) -> its records, once a client changed them
        self.changed: dict[tuple[str, int], list[dict[str, Any]]] = {}

    def records(self, resource: str, development: int) -> list[dict[str, Any]]:
        """A development's nested records (a copy of the list; the records are shared)."""
        slot = (resource, development)
        if slot not in self.changed:
            return seeded_nested(self.seed, self.seeded_developments, resource, development)
        return list(self.changed[slot])

    def add(self, resource: str, development: int, fields: dict[str, Any]) -> dict[str, Any]:
        """A new nested record, numbered after the development's last."""
        records = self.records(resource, development)
        made = {"id": max((r["id"] for r in records), default=0) + 1, **fields}
        self.changed[(resource, development)] = [*records, made]
        return made

    def replace(
        self, resource: str, development: int, record_id: int, updated: dict[str, Any]
    ) -> None:
        """Put ``updated`` in place of the nested record of that id."""
        records = self.records(resource, development)
        self.changed[(resource, development)] = [
            updated if r["id"] == record_id else r for r in records
        ]

    def remove(self, resource: str, development: int, record_id: int) -> None:
        """Drop one nested record."""
        records = self.records(resource, development)
        self.changed[(resource, development)] = [r for r in records if r["id"] != record_id]
