"""The Builder Backed sandbox's records: locations and homes found by externalId, in their chain.

Seeded records are found by the externalId their index makes; created ones through
``created_ids``. A home is presented with its homeowners' full names and its location chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.builder_backed.sandbox_data import BUILDER_ID, LEVELS, seeded_collections
from connectors.builder_backed.sandbox_messages import (
    OPTIONAL,
    REQUIRED,
    SINGULAR,
    Problem,
    check_fields,
    check_home,
    full_name,
    stamp,
)

__all__ = ["BuilderBackedRecords"]


class BuilderBackedRecords:
    """The sandbox's location levels and homes, each record keyed by its externalId."""

    def __init__(
        self, size: int, seed: int, regions: Sequence[str], allowed_details: frozenset[str]
    ) -> None:
        self.regions = tuple(regions)
        self.allowed_details = allowed_details
        self.collections = seeded_collections(size, seed, self.regions)
        self.created_ids: dict[str, dict[str, int]] = {level: {} for level in LEVELS}

    def find(self, level: str, external_id: str) -> tuple[int, dict[str, Any]] | None:
        """The id and record of that externalId at the level, if there is one."""
        collection = self.collections[level]
        record_id = self.created_ids[level].get(external_id)
        prefix = LEVELS[level][0] + "-"
        if record_id is None and external_id.startswith(prefix):
            tail = external_id.removeprefix(prefix)
            if tail.isdigit() and len(tail) == 6:
                record_id = int(tail)
        record = collection.get(record_id) if record_id is not None else None
        if record is None or record.get("externalId") != external_id:
            return None
        return record_id, record  # type: ignore[return-value]

    def present(self, level: str, record_id: int, record: dict[str, Any]) -> dict[str, Any]:
        """The record as the API answers it: ``updatedAt``, and a home's names and chain."""
        body = {**record, "updatedAt": stamp(self.collections[level].updated_at(record_id))}
        if level == "homes":
            body["homeowners"] = [
                {**h, "fullName": full_name(h)} for h in record.get("homeowners", [])
            ]
            body.update(self._chain(record["neighborhoodExternalId"]))
        return body

    def _chain(self, hood_ext: str) -> dict[str, Any]:
        chain: dict[str, Any] = {}
        current = ("neighborhoods", hood_ext)
        for name in ("neighborhood", "masterCommunity", "division"):
            found = self.find(*current)
            if found is None:
                return chain
            record = found[1]
            chain[name] = {"externalId": record["externalId"], "name": record["name"]}
            _, parent_field, parent_level = LEVELS[current[0]]
            if parent_field and parent_level:
                current = (parent_level, record[parent_field])
            else:
                chain["region"] = {"name": record["regionName"]}
        return chain

    def validate(self, level: str, body: dict[str, Any]) -> dict[str, Any]:
        """The fields of a level's body the sandbox stores, once the body and its chain pass."""
        check_fields(level, body)
        if level == "homes":
            check_home(body, self.allowed_details)
        self._check_parent(level, body)
        return {k: body[k] for k in (*REQUIRED[level], *OPTIONAL[level]) if k in body}

    def _check_parent(self, level: str, body: dict[str, Any]) -> None:
        if level == "divisions":
            if body["regionName"] not in self.regions:
                raise Problem(404, f"Region '{body['regionName']}' not found")
            return
        _, parent_field, parent_level = LEVELS[level]
        assert parent_field and parent_level
        current: tuple[str, str] | None = (parent_level, body[parent_field])
        while current is not None:
            found = self.find(*current)
            if found is None or not found[1].get("active", True):
                raise Problem(
                    404, f"{SINGULAR[current[0]]} with external ID '{current[1]}' not found"
                )
            _, field, up = LEVELS[current[0]]
            current = (up, found[1][field]) if field and up else None

    def defaults(self, level: str) -> dict[str, Any]:
        """What a new record of the level holds before its body."""
        base: dict[str, Any] = {"active": True}
        if level == "divisions":
            base["builderId"] = BUILDER_ID
        if level == "homes":
            base.update(marketHome=False, homeowners=[], homeDetails={})
        return base
