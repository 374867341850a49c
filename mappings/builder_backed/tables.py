"""Builder Backed's enums and required fields, and the canonical values they stand for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from hub.models import DocumentStorage, HomeownerType, HomeType, LocationKind

__all__ = [
    "DOCUMENT_TYPES",
    "DOCUMENT_TYPE_NAMES",
    "HOMEOWNER_TYPES",
    "HOMEOWNER_TYPE_NAMES",
    "HOME_FIELDS",
    "HOME_TYPES",
    "HOME_TYPE_NAMES",
    "LEVELS",
    "REQUIRED_HOME_FIELDS",
    "VENDOR",
]

log = structlog.get_logger("mappings.builder_backed")
VENDOR = "builder_backed"

HOME_TYPES: dict[str, HomeType] = {
    "Single Family": HomeType.SINGLE_FAMILY,
    "Multi Family": HomeType.MULTI_FAMILY,
}
HOMEOWNER_TYPES: dict[str, HomeownerType] = {
    "PRIMARY": HomeownerType.PRIMARY,
    "SECONDARY": HomeownerType.SECONDARY,
    "OTHER": HomeownerType.OTHER,
}
DOCUMENT_TYPES: dict[str, DocumentStorage] = {
    "EXTERNAL_URL": DocumentStorage.EXTERNAL_URL,
    "AWS": DocumentStorage.AWS,
    "SAPPHIRE": DocumentStorage.SAPPHIRE,
    "BUILDERBACKED": DocumentStorage.BUILDERBACKED,
}
#: the home fields the guide requires ("400 Missing Required Fields")
REQUIRED_HOME_FIELDS = (
    "externalId",
    "addressLine1",
    "city",
    "state",
    "postalCode",
    "type",
    "neighborhoodExternalId",
)
#: the canonical home fields ``details_keys`` may name beside the home's own details
HOME_FIELDS = ("bedrooms", "bathrooms", "square_feet")
#: location kind -> (path segment, parent externalId field)
LEVELS: dict[LocationKind, tuple[str, str | None]] = {
    LocationKind.DIVISION: ("divisions", None),
    LocationKind.MASTER_COMMUNITY: ("master-communities", "divisionExternalId"),
    LocationKind.NEIGHBORHOOD: ("neighborhoods", "masterCommunityExternalId"),
}


def _reverse(table: Mapping[str, Any]) -> dict[Any, str]:
    return {v: k for k, v in table.items()}


# Canonical value -> vendor name, for writing (built once: they are read per record).
HOME_TYPE_NAMES = {str(k): v for k, v in _reverse(HOME_TYPES).items()}  # by plain value
HOMEOWNER_TYPE_NAMES = _reverse(HOMEOWNER_TYPES)
DOCUMENT_TYPE_NAMES = _reverse(DOCUMENT_TYPES)
