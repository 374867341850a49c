"""The canonical model every vendor is translated to and from.

A record carries a stable ``key`` from its source. The ids the same thing has in other systems
live in the state store's cross-reference, never in the record.

One module per job, every name re-exported here:

- :mod:`hub.models.base`: strict validation, the key and text types, ``CanonicalRecord``;
- :mod:`hub.models.address`: ``Address`` and the US state codes;
- :mod:`hub.models.records`: the records and their enums;
- :mod:`hub.models.entities`: the entities by name, the **entity graph** (``ENTITY_ORDER``,
  ``REFERENCES``, ``LOCATION_PARENT``, ``depth()``) and the JSON Schema export;
- :mod:`hub.models.hashing`: a record's content hash.

Importing it costs pydantic alone: a mapping must not pay for aiohttp or SQLAlchemy.
"""

from __future__ import annotations

from hub.models.address import US_STATES, Address
from hub.models.base import CanonicalRecord, Detail, Key, Text
from hub.models.entities import (
    ENTITIES,
    ENTITY_ORDER,
    LOCATION_PARENT,
    REFERENCES,
    depth,
    entity_of,
    json_schema,
)
from hub.models.hashing import digest_of, record_hash, serialised
from hub.models.records import (
    Document,
    DocumentStorage,
    Home,
    HomeownerType,
    HomeType,
    Location,
    LocationKind,
    Organization,
    OrganizationKind,
    Person,
    PersonRole,
    Phone,
    RoleKind,
    split_full_name,
)

__all__ = [
    "ENTITIES",
    "ENTITY_ORDER",
    "LOCATION_PARENT",
    "REFERENCES",
    "US_STATES",
    "Address",
    "CanonicalRecord",
    "Detail",
    "Document",
    "DocumentStorage",
    "Home",
    "HomeType",
    "HomeownerType",
    "Key",
    "Location",
    "LocationKind",
    "Organization",
    "OrganizationKind",
    "Person",
    "PersonRole",
    "Phone",
    "RoleKind",
    "Text",
    "depth",
    "digest_of",
    "entity_of",
    "json_schema",
    "record_hash",
    "serialised",
    "split_full_name",
]
