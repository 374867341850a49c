"""The entities by name, the graph between them (the one place that says what refers to
what, and so the order records are written in) and their JSON Schema."""

from __future__ import annotations

from typing import Any

from hub.models.base import CanonicalRecord
from hub.models.records import Document, Home, Location, LocationKind, Organization, Person

__all__ = [
    "ENTITIES",
    "ENTITY_ORDER",
    "LOCATION_PARENT",
    "REFERENCES",
    "depth",
    "entity_of",
    "json_schema",
]

ENTITIES: dict[str, type[CanonicalRecord]] = {
    "location": Location,
    "home": Home,
    "person": Person,
    "document": Document,
    "organization": Organization,
}

#: each level of the location hierarchy -> the level of its parent (a region has none)
LOCATION_PARENT: dict[LocationKind, LocationKind | None] = {
    LocationKind.REGION: None,
    LocationKind.DIVISION: LocationKind.REGION,
    LocationKind.MASTER_COMMUNITY: LocationKind.DIVISION,
    LocationKind.NEIGHBORHOOD: LocationKind.MASTER_COMMUNITY,
}

#: the entities, parents first: a record refers only to entities before its own (a location
#: to its parent location, a home to its neighborhood, a person to homes, a document to a home)
ENTITY_ORDER = ("location", "organization", "home", "person", "document")
#: reference field (wherever it appears in a record) -> the entity it points at
REFERENCES: dict[str, str] = {
    "parent_key": "location",
    "neighborhood_key": "location",
    "home_key": "home",
    "organization_key": "organization",
}
_LOCATION_LEVEL = {kind: level for level, kind in enumerate(LOCATION_PARENT)}


def depth(record: CanonicalRecord) -> int:
    """How far down its entity's own hierarchy a record sits (a region 0, a neighborhood 3;
    records of other entities 0): records are written shallowest first."""
    return _LOCATION_LEVEL[record.kind] if isinstance(record, Location) else 0


def entity_of(name: str) -> type[CanonicalRecord]:
    """The model class for a canonical entity name; ``KeyError`` names the known ones."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(f"unknown entity {name!r}; known: {', '.join(ENTITIES)}") from None


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a canonical entity, as records are serialised."""
    return entity_of(name).model_json_schema(mode="serialization")
