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
from mappings.builder_backed.values import _drop_none, _get, _opt, region_key

__all__ = ["from_location", "to_location"]


def to_location(payload: Mapping[str, Any], kind: LocationKind) -> Location:
    """A region, division, master community or neighborhood payload as a Location."""
    try:
        if kind is LocationKind.REGION:
            return Location(
                key=region_key(_get(payload, "id")),
                kind=kind,
                name=_get(payload, "name"),
                active=bool(payload.get("active", True)),
            )
        _, parent_field = LEVELS[kind]
        return Location(
            key=_get(payload, "externalId"),
            kind=kind,
            name=_get(payload, "name"),
            display_name=_opt(payload, "displayName"),
            abbreviation=_opt(payload, "abbreviatedName"),
            parent_key=_opt(payload, parent_field) if parent_field else None,
            parent_name=_opt(payload, "regionName") if kind is LocationKind.DIVISION else None,
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
    return _drop_none(body)
