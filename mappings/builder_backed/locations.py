"""Builder Backed's regions, divisions, master communities and neighborhoods as locations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import MappingError, UnsupportedValue
from hub.models import (
    Location,
    LocationKind,
)
from mappings.builder_backed.tables import (
    LEVELS,
    VENDOR,
)
from mappings.builder_backed.values import drop_none, optional_text, region_key, required_field

__all__ = ["from_location", "to_location"]


def to_location(payload: Mapping[str, Any], kind: LocationKind) -> Location:
    """A region, division, master community or neighborhood payload as a Location."""
    try:
        if kind is LocationKind.REGION:
            return Location(
                key=region_key(required_field(payload, "id")),
                kind=kind,
                name=required_field(payload, "name"),
                active=bool(payload.get("active", True)),
            )
        _, parent_field = LEVELS[kind]
        return Location(
            key=required_field(payload, "externalId"),
            kind=kind,
            name=required_field(payload, "name"),
            display_name=optional_text(payload, "displayName"),
            abbreviation=optional_text(payload, "abbreviatedName"),
            parent_key=optional_text(payload, parent_field) if parent_field else None,
            parent_name=optional_text(payload, "regionName")
            if kind is LocationKind.DIVISION
            else None,
            active=bool(payload.get("active", True)),
        )
    except ValueError as exc:
        raise MappingError(f"{kind.value}: {exc}", vendor=VENDOR, entity="location") from exc


def from_location(location: Location, external_id: str | None = None) -> dict[str, Any]:
    """A Location as a division, master community or neighborhood create/update body."""
    if location.kind not in LEVELS:
        raise UnsupportedValue(
            f"Builder Backed cannot create a {location.kind.value}: "
            "regions are activated by Builder Backed staff",
            vendor=VENDOR,
        )
    body: dict[str, Any] = {
        "externalId": external_id or location.key,
        "name": location.name,
        "displayName": location.display_name,
        "abbreviatedName": location.abbreviation,
    }
    _, parent_field = LEVELS[location.kind]
    if location.kind is LocationKind.DIVISION:
        if not location.parent_name:
            raise UnsupportedValue(
                "a division needs its region's exact name (parent_name)", vendor=VENDOR
            )
        body["regionName"] = location.parent_name
    elif parent_field is not None:
        if not location.parent_key:
            raise UnsupportedValue(f"a {location.kind.value} needs a parent", vendor=VENDOR)
        body[parent_field] = location.parent_key
    return drop_none(body)
