"""Buildium's GET messages as canonical records: associations, units, rentals and people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import MappingError
from hub.models import (
    Home,
    HomeType,
    Location,
    LocationKind,
    Person,
    PersonRole,
    RoleKind,
)
from mappings.buildium.tables import BATHROOMS, BEDROOMS, SUBTYPES, VENDOR
from mappings.buildium.values import (
    address_at,
    address_fields,
    emails_of,
    enum_value,
    id_of,
    key,
    log,
    objects_at,
    phones_of,
    raw_unknown,
    text_of,
    to_address,
    wrapped,
)

__all__ = [
    "to_association",
    "to_association_owner",
    "to_association_unit",
    "to_rental",
    "to_rental_owner",
    "to_rental_unit",
    "to_tenant",
]


def to_association(payload: Mapping[str, Any], parent_key: str | None = None) -> Location:
    """An AssociationMessage as a neighborhood."""
    record_id = id_of(payload)
    return wrapped(
        "location",
        f"association {record_id}",
        lambda: Location(
            key=key("association", record_id),
            kind=LocationKind.NEIGHBORHOOD,
            name=text_of(payload, "Name") or f"Association {record_id}",
            description=text_of(payload, "Description"),
            parent_key=parent_key,
            active=payload.get("IsActive") is not False,
            address=to_address(payload.get("Address")),
        ),
    )


def _home(
    collection: str,
    payload: Mapping[str, Any],
    neighborhood: str | None,
    home_type: HomeType,
    raw: str | None,
) -> Home:
    record_id = id_of(payload)
    what = f"{collection} {record_id}"
    try:  # one record, one try: any ValueError is this record's (as wrapped says it)
        address = address_fields(payload.get("Address"))
        if address is None:
            raise MappingError(f"{what}: no address", vendor=VENDOR, entity="home")
        return Home.model_validate(
            {
                "key": key(collection, record_id),
                "address": address,  # validated with the home: one pass, not two
                "name": text_of(payload, "UnitNumber"),
                "home_type": home_type,
                "home_type_raw": raw,
                "bedrooms": enum_value(BEDROOMS, payload.get("UnitBedrooms"), "UnitBedrooms"),
                "bathrooms": enum_value(BATHROOMS, payload.get("UnitBathrooms"), "UnitBathrooms"),
                "bedrooms_raw": raw_unknown(BEDROOMS, payload.get("UnitBedrooms")),
                "bathrooms_raw": raw_unknown(BATHROOMS, payload.get("UnitBathrooms")),
                "square_feet": payload.get("UnitSize") or None,
                "neighborhood_key": neighborhood,
            }
        )
    except ValueError as exc:
        if str(exc).startswith(what):
            raise
        raise MappingError(f"{what}: {exc}", vendor=VENDOR, entity="home") from exc


def to_association_unit(payload: Mapping[str, Any]) -> Home:
    """An AssociationUnitMessage as a home in its association's neighborhood."""
    association = payload.get("AssociationId")
    hood = key("association", association) if association is not None else None
    return _home("association-unit", payload, hood, HomeType.CONDO_TOWNHOME, None)


def to_rental(payload: Mapping[str, Any]) -> Home:
    """A RentalMessage (a whole property) as a home."""
    raw = payload.get("RentalSubType")
    home_type = SUBTYPES.get(str(raw)) if raw else HomeType.OTHER
    if home_type is None:
        log.warning("unknown rental sub type", vendor=VENDOR, value=raw)
        home_type = HomeType.OTHER
    home = _home(
        "rental",
        {**payload, "UnitNumber": payload.get("Name")},
        None,
        home_type,
        str(raw) if home_type is HomeType.OTHER and raw else None,
    )
    return home


def to_rental_unit(payload: Mapping[str, Any]) -> Home:
    """A RentalUnitMessage as a home (multi-family: a unit of a property)."""
    return _home("rental-unit", payload, None, HomeType.MULTI_FAMILY, None)


def _person(
    collection: str, payload: Mapping[str, Any], roles: list[PersonRole], address_field: str
) -> Person:
    record_id = id_of(payload)
    return wrapped(
        "person",
        f"{collection} {record_id}",
        lambda: Person(
            key=key(collection, record_id),
            first_name=text_of(payload, "FirstName") or "",
            last_name=text_of(payload, "LastName") or "",
            company_name=text_of(payload, "CompanyName"),
            is_company=bool(payload.get("IsCompany")),
            emails=emails_of(payload),
            phones=phones_of(payload.get("PhoneNumbers")),
            address=address_at(payload.get(address_field), address_field),
            notes=text_of(payload, "Comment"),
            roles=roles,
        ),
    )


def _current(status: Any) -> bool:
    """Whether an ownership account or lease is in force now: ``Active`` (the documents
    list ``Past`` and ``Future`` too; a message without a status is taken as it stands)."""
    return status in (None, "Active")


def to_association_owner(payload: Mapping[str, Any]) -> Person:
    """An AssociationOwnerMessage as a homeowner of each unit it owns now (an account
    ``Past`` is a unit sold, ``Future`` one not yet bought)."""
    roles = []
    accounts = wrapped(
        "person",
        f"association-owner {id_of(payload)}",
        lambda: objects_at(payload.get("OwnershipAccounts"), "OwnershipAccounts"),
    )
    for account in accounts:
        if not _current(account.get("Status")):
            continue
        unit = account.get("UnitId")
        home = key("association-unit", unit) if unit is not None else None
        roles.append(PersonRole(kind=RoleKind.ASSOCIATION_OWNER, home_key=home))
        roles.append(PersonRole(kind=RoleKind.HOMEOWNER, home_key=home))
    return _person("association-owner", payload, roles, "PrimaryAddress")


def to_rental_owner(payload: Mapping[str, Any]) -> Person:
    """A RentalOwnerMessage as a rental owner of its properties."""
    roles = [
        PersonRole(kind=RoleKind.RENTAL_OWNER, home_key=key("rental", p))
        for p in payload.get("PropertyIds") or []
    ]
    return _person("rental-owner", payload, roles, "Address")


def to_tenant(payload: Mapping[str, Any]) -> Person:
    """A TenantMessage as a tenant of the units its current leases name (Buildium lists
    its leases "regardless of status": a past lease is a unit moved out of)."""
    roles = [
        PersonRole(kind=RoleKind.TENANT, home_key=key("rental-unit", lease["UnitId"]))
        for lease in wrapped(
            "person",
            f"tenant {id_of(payload)}",
            lambda: objects_at(payload.get("Leases"), "Leases"),
        )
        if lease.get("UnitId") is not None and _current(lease.get("LeaseStatus"))
    ]
    return _person("tenant", payload, roles, "Address")
