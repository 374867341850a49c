"""Builder Backed payloads <-> the canonical model. Pure functions, no I/O.

Builder Backed addresses everything by the caller's ``externalId``, so a canonical key is used
as the externalId and records read back keep their key. Regions have no externalId and get
``builder_backed:region:<id>``; homeowners have no id and get
``builder_backed:homeowner:<homeExternalId>:<email>``.

Deliberately not mapped:

- ``id`` and ``builderId``: Builder Backed's internal ids; the guide says to key on externalId.
- home responses' embedded ``neighborhood``/``masterCommunity``/``division``/``region`` chain:
  derived by the vendor from ``neighborhoodExternalId``; the canonical home keeps the reference.
- homeowner ``prefix``, ``suffix`` and ``defaultHome``: the canonical person has no such fields
  and the hub never needs them to keep systems in step (read: dropped; write: not sent).
- ``updatedAt``: carried as the source record's updated-at, not as record content.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import structlog

from hub.errors import MappingError, UnsupportedValue
from hub.models import (
    Address,
    Document,
    DocumentStorage,
    Home,
    HomeownerType,
    HomeType,
    Location,
    LocationKind,
    Person,
    PersonRole,
    RoleKind,
)

__all__ = [
    "DOCUMENT_TYPES",
    "HOMEOWNER_TYPES",
    "HOME_TYPES",
    "LEVELS",
    "from_document",
    "from_home",
    "from_homeowner",
    "from_location",
    "homeowner_key",
    "region_key",
    "to_document",
    "to_home",
    "to_homeowner",
    "to_location",
]

log = structlog.get_logger("mappings.builder_backed")
VENDOR = "builder_backed"

# -- enum tables (the one place each vendor value is translated) ------------------------------

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
#: location kind -> (path segment, parent externalId field)
LEVELS: dict[LocationKind, tuple[str, str | None]] = {
    LocationKind.DIVISION: ("divisions", None),
    LocationKind.MASTER_COMMUNITY: ("master-communities", "divisionExternalId"),
    LocationKind.NEIGHBORHOOD: ("neighborhoods", "masterCommunityExternalId"),
}


def _reverse(table: Mapping[str, Any]) -> dict[Any, str]:
    return {v: k for k, v in table.items()}


# Canonical value -> vendor name, for writing (built once: they are read per record).
_HOME_TYPE_NAMES = {str(k): v for k, v in _reverse(HOME_TYPES).items()}  # by plain value
_HOMEOWNER_TYPE_NAMES = _reverse(HOMEOWNER_TYPES)
_DOCUMENT_TYPE_NAMES = _reverse(DOCUMENT_TYPES)


def _get(payload: Mapping[str, Any], name: str) -> Any:
    value = payload.get(name)
    if value is None:
        raise MappingError(f"missing {name!r}", vendor=VENDOR)
    return value


def _opt(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return str(value) if value not in (None, "") else None


def _drop_none(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if v is not None}


def region_key(region_id: int | str) -> str:
    """The canonical key of a Builder Backed region."""
    return f"{VENDOR}:region:{region_id}"


def homeowner_key(home_external_id: str, email: str) -> str:
    """The canonical key of a homeowner of a home."""
    return f"{VENDOR}:homeowner:{home_external_id}:{email.lower()}"


# -- locations ------------------------------------------------------------------------------


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


# -- homes and homeowners ---------------------------------------------------------------------


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return date.fromisoformat(str(value)[:10])


def _home_type(raw: Any) -> tuple[HomeType, str | None]:
    if raw in HOME_TYPES:
        return HOME_TYPES[raw], None
    log.warning("unknown home type", vendor=VENDOR, value=raw)
    return HomeType.OTHER, None if raw is None else str(raw)


def to_homeowner(payload: Mapping[str, Any], home_external_id: str) -> Person:
    """A homeowner of a home as a Person with a homeowner role."""
    email = str(_get(payload, "email"))
    raw_type = payload.get("homeownerType")
    rank = HOMEOWNER_TYPES.get(str(raw_type)) if raw_type else None
    if raw_type and rank is None:
        log.warning("unknown homeowner type", vendor=VENDOR, value=raw_type)
        rank = HomeownerType.OTHER
    role = PersonRole(
        kind=RoleKind.HOMEOWNER,
        home_key=home_external_id,
        homeowner_type=rank,
        raw=str(raw_type) if raw_type and str(raw_type) not in HOMEOWNER_TYPES else None,
    )
    try:
        return Person(
            key=homeowner_key(home_external_id, email),
            first_name=payload.get("firstName") or "",
            middle_name=_opt(payload, "middleName"),
            last_name=payload.get("lastName") or "",
            emails=[email],
            roles=[role],
        )
    except ValueError as exc:
        raise MappingError(f"homeowner: {exc}", vendor=VENDOR, entity="person") from exc


def from_homeowner(person: Person, home_ref: str | None = None) -> dict[str, Any]:
    """A Person as a homeowner body (email, first and last name required)."""
    if not person.emails:
        raise UnsupportedValue(
            f"{person.key}: Builder Backed homeowners need an email", vendor=VENDOR
        )
    if not (person.first_name and person.last_name):
        raise UnsupportedValue(
            f"{person.key}: Builder Backed homeowners need first and last names", vendor=VENDOR
        )
    role = next(
        (
            r
            for r in person.roles
            if r.kind is RoleKind.HOMEOWNER and (home_ref is None or r.home_key == home_ref)
        ),
        None,
    )
    rank = role.homeowner_type if role and role.homeowner_type else None
    return _drop_none(
        {
            "email": person.emails[0],
            "firstName": person.first_name,
            "middleName": person.middle_name,
            "lastName": person.last_name,
            "homeownerType": _HOMEOWNER_TYPE_NAMES[rank] if rank else None,
        }
    )


def to_home(payload: Mapping[str, Any]) -> Home:
    """A home payload (with its homeowners) as a Home."""
    external_id = str(_get(payload, "externalId"))
    home_type, raw = _home_type(payload.get("type"))
    try:
        return Home(
            key=external_id,
            address=Address(
                line1=_get(payload, "addressLine1"),
                line2=_opt(payload, "addressLine2"),
                city=_get(payload, "city"),
                state=_get(payload, "state"),
                postal_code=_get(payload, "postalCode"),
            ),
            home_type=home_type,
            home_type_raw=raw,
            model=_opt(payload, "model"),
            product_collection=_opt(payload, "productCollection"),
            job_id=_opt(payload, "jobId"),
            market_home=bool(payload.get("marketHome", False)),
            closing_date=_date(payload.get("closingDate")),
            scheduled_closing_date=_date(payload.get("scheduledClosingDate")),
            details=dict(payload.get("homeDetails") or {}),
            neighborhood_key=_opt(payload, "neighborhoodExternalId"),
            homeowners=[to_homeowner(h, external_id) for h in payload.get("homeowners") or []],
        )
    except ValueError as exc:
        raise MappingError(f"home {external_id}: {exc}", vendor=VENDOR, entity="home") from exc


def from_home(
    home: Home, fallback_type: str | None = None, external_id: str | None = None
) -> dict[str, Any]:
    """A Home as a create/update body; types Builder Backed cannot hold are reported."""
    vendor_type = _HOME_TYPE_NAMES.get(str(home.home_type)) or fallback_type
    if vendor_type is None:
        raise UnsupportedValue(
            f"{home.key}: home type {home.home_type.value!r} has no Builder Backed equivalent "
            "(only Single Family / Multi Family); set home_type_fallback to map it",
            vendor=VENDOR,
        )
    if not home.neighborhood_key:
        raise UnsupportedValue(f"{home.key}: a home needs a neighborhood", vendor=VENDOR)
    address = home.address
    body: dict[str, Any] = {
        "externalId": external_id or home.key,
        "addressLine1": address.line1,
        "city": address.city,
        "type": vendor_type,
        "neighborhoodExternalId": home.neighborhood_key,
        "marketHome": home.market_home,
    }
    # Built field by field (one body per home written): only what has a value is sent.
    optional = (
        ("addressLine2", address.line2),
        ("state", address.state),
        ("postalCode", address.postal_code),
        ("jobId", home.job_id),
        ("productCollection", home.product_collection),
        ("model", home.model),
    )
    for name, value in optional:
        if value is not None:
            body[name] = value
    if home.closing_date:
        body["closingDate"] = home.closing_date.isoformat()
    if home.scheduled_closing_date:
        body["scheduledClosingDate"] = home.scheduled_closing_date.isoformat()
    if home.details:
        body["homeDetails"] = dict(home.details)
    if home.homeowners:
        body["homeowners"] = [from_homeowner(p) for p in home.homeowners]
    return body


# -- documents ------------------------------------------------------------------------------


def _display(value: Any) -> date | None:
    # The guide's format is "YYYY-MM-DD HH:MM:SS.SSS"; the canonical window is by day.
    return date.fromisoformat(str(value)[:10]) if value not in (None, "") else None


def to_document(payload: Mapping[str, Any], home_external_id: str) -> Document:
    """A document of a home as a Document."""
    raw_type = str(_get(payload, "type"))
    storage = DOCUMENT_TYPES.get(raw_type)
    if storage is None:
        raise MappingError(f"unknown document type {raw_type!r}", vendor=VENDOR, entity="document")
    key = _opt(payload, "externalId") or f"{VENDOR}:document:{_get(payload, 'id')}"
    try:
        return Document(
            key=key,
            home_key=home_external_id,
            category=_get(payload, "category"),
            name=_get(payload, "name"),
            url=_get(payload, "url"),
            storage=storage,
            bucket=_opt(payload, "bucket"),
            shareable=bool(payload.get("shareable", False)),
            display_from=_display(payload.get("displayStart")),
            display_until=_display(payload.get("displayEnd")),
        )
    except ValueError as exc:
        raise MappingError(f"document {key}: {exc}", vendor=VENDOR, entity="document") from exc


def from_document(document: Document) -> dict[str, Any]:
    """A Document as an item of ``POST /api/v2/documents``' ``documents`` array."""

    def stamp(value: date | None) -> str | None:
        return f"{value.isoformat()} 00:00:00.000" if value else None

    return _drop_none(
        {
            "externalId": document.key,
            "category": document.category,
            "name": document.name,
            "url": document.url,
            "type": _DOCUMENT_TYPE_NAMES[document.storage],
            "shareable": document.shareable,
            "bucket": document.bucket,
            "displayStart": stamp(document.display_from),
            "displayEnd": stamp(document.display_until),
        }
    )
