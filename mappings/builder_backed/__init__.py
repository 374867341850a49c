"""Builder Backed payloads <-> the canonical model. Pure functions, no I/O.

Builder Backed addresses everything by the caller's ``externalId``, so a canonical key is used
as the externalId and records read back keep their key. Regions have no externalId and get
``builder_backed:region:<id>``; homeowners have no id and get
``builder_backed:homeowner:<homeExternalId>:<email>``.

Deliberately not mapped:

- ``id`` and ``builderId``: Builder Backed's internal ids; the guide says to key on externalId.
- home responses' embedded ``neighborhood``/``masterCommunity``/``division``/``region`` chain:
  derived by the vendor from ``neighborhoodExternalId``; the canonical home keeps the reference.
- ``updatedAt``: carried as the source record's updated-at, not as record content.

Written with care:

- a home's required fields (the guide's list) are checked before anything is sent: a home
  without one is an ``UnsupportedValue`` naming the field, not a vendor 400 per record;
- ``homeDetails`` carries only the keys configured for it (``details_keys``: an allowlist that
  may rename, canonical name -> Builder Backed key), since Builder Backed accepts only keys set
  up for the builder's account and journeys match on them: anything else (a floor plan's
  price...) never reaches it. The canonical home's ``bedrooms``, ``bathrooms`` and
  ``square_feet`` may be listed there too, by those names;
- homeowners keep ``prefix``, ``suffix`` and ``defaultHome`` (the role's ``default_home``);
- a document's ``displayStart``/``displayEnd`` keep their time of day.
"""

from __future__ import annotations

from mappings.builder_backed.documents import from_document, to_document
from mappings.builder_backed.homeowners import from_homeowner, to_homeowner
from mappings.builder_backed.homes import from_home, home_details, to_home
from mappings.builder_backed.locations import from_location, to_location
from mappings.builder_backed.tables import (
    DOCUMENT_TYPES,
    HOME_FIELDS,
    HOME_TYPES,
    HOMEOWNER_TYPES,
    LEVELS,
    REQUIRED_HOME_FIELDS,
)
from mappings.builder_backed.values import homeowner_key, region_key

__all__ = [
    "DOCUMENT_TYPES",
    "HOMEOWNER_TYPES",
    "HOME_FIELDS",
    "HOME_TYPES",
    "LEVELS",
    "REQUIRED_HOME_FIELDS",
    "from_document",
    "from_home",
    "from_homeowner",
    "from_location",
    "home_details",
    "homeowner_key",
    "region_key",
    "to_document",
    "to_home",
    "to_homeowner",
    "to_location",
]
