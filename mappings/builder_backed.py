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

from collections.abc import Mapping
from datetime import date, datetime, time
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
    default_home = payload.get("defaultHome")
    try:
        role = PersonRole(
            kind=RoleKind.HOMEOWNER,
            home_key=home_external_id,
            homeowner_type=rank,
            raw=str(raw_type) if raw_type and str(raw_type) not in HOMEOWNER_TYPES else None,
            default_home=default_home,
        )
        return Person(
            key=homeowner_key(home_external_id, email),
            prefix=_opt(payload, "prefix"),
            first_name=payload.get("firstName") or "",
            middle_name=_opt(payload, "middleName"),
            last_name=payload.get("lastName") or "",
            suffix=_opt(payload, "suffix"),
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
            "prefix": person.prefix,
            "firstName": person.first_name,
            "middleName": person.middle_name,
            "lastName": person.last_name,
            "suffix": person.suffix,
            "homeownerType": _HOMEOWNER_TYPE_NAMES[rank] if rank else None,
            "defaultHome": role.default_home if role else None,
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


def home_details(home: Home, details_keys: Mapping[str, str] | None) -> dict[str, Any]:
    """The ``homeDetails`` of a home: only the configured keys that have a value, renamed.

    ``details_keys`` maps a canonical name (a key of ``home.details``, or one of
    ``HOME_FIELDS``, whose raw text stands in for a count the source could not read) to the
    Builder Backed key it is sent as; a home's own detail wins over a field of the same name.
    """
    if not details_keys:
        return {}
    offered: dict[str, Any] = {
        # A count the source could not read as a number is still what it says (kept raw).
        "bedrooms": home.bedrooms if home.bedrooms is not None else home.bedrooms_raw,
        "bathrooms": home.bathrooms if home.bathrooms is not None else home.bathrooms_raw,
        "square_feet": home.square_feet,
        **home.details,
    }
    return {
        target: offered[name]
        for name, target in details_keys.items()
        if offered.get(name) is not None
    }


def from_home(
    home: Home,
    fallback_type: str | None = None,
    external_id: str | None = None,
    details_keys: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A Home as a create/update body; types Builder Backed cannot hold, and missing required
    fields, are reported before anything is sent. ``details_keys``: see :func:`home_details`."""
    vendor_type = _HOME_TYPE_NAMES.get(str(home.home_type)) or fallback_type
    if vendor_type is None:
        raise UnsupportedValue(
            f"{home.key}: home type {home.home_type.value!r} has no Builder Backed equivalent "
            "(only Single Family / Multi Family); set home_type_fallback to map it",
            vendor=VENDOR,
        )
    address = home.address
    required = {
        "addressLine1": address.line1,
        "city": address.city,
        "state": address.state,
        "postalCode": address.postal_code,
        "neighborhoodExternalId": home.neighborhood_key,
    }
    # externalId is always there, and type was settled above: the rest of the guide's list.
    missing = [name for name, value in required.items() if value in (None, "")]
    if missing:
        raise UnsupportedValue(
            f"{home.key}: Builder Backed requires {', '.join(map(repr, missing))} on a home,"
            " and this home has none",
            vendor=VENDOR,
        )
    # Field for field in this order (bench/run.py sends the same bytes; a test holds them
    # equal); one body per home written, so only what has a value is sent.
    body: dict[str, Any] = {
        "externalId": external_id or home.key,
        "addressLine1": address.line1,
        "city": address.city,
        "type": vendor_type,
        "neighborhoodExternalId": home.neighborhood_key,
        "marketHome": home.market_home,
    }
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
    details = home_details(home, details_keys)
    if details:
        body["homeDetails"] = details
    if home.homeowners:
        body["homeowners"] = [from_homeowner(p) for p in home.homeowners]
    return body


# -- documents ------------------------------------------------------------------------------


DISPLAY_FORMAT = "%Y-%m-%d %H:%M:%S"


def _display(value: Any) -> date | datetime | None:
    """The guide's "YYYY-MM-DD HH:MM:SS.SSS" with its time of day (a midnight is a day)."""
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value).replace(" ", "T", 1))
    return moment.date() if moment.time() == time() and moment.tzinfo is None else moment


def _stamp(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        return f"{value.isoformat()} 00:00:00.000"
    return f"{value.strftime(DISPLAY_FORMAT)}.{value.microsecond // 1000:03d}"


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
    return _drop_none(
        {
            "externalId": document.key,
            "category": document.category,
            "name": document.name,
            "url": document.url,
            "type": _DOCUMENT_TYPE_NAMES[document.storage],
            "shareable": document.shareable,
            "bucket": document.bucket,
            "displayStart": _stamp(document.display_from),
            "displayEnd": _stamp(document.display_until),
        }
    )
