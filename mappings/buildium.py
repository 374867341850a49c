"""Buildium payloads <-> the canonical model. Pure functions, no I/O.

Accepts omitted fields and explicit nulls alike (the spec marks nothing nullable; real
services send nulls). Keys are ``buildium:<collection>:<Id>``.

Deliberately not mapped, with the reason:

- association ``Reserve``, ``OperatingBankAccount(Id)``, ``FiscalYearEnd*``, ``TaxInformation``,
  ``AssociationManager``, ``YearBuilt``: accounting and staffing data no other vendor holds;
  writes send the required ``OperatingBankAccountId`` and fiscal year from connector settings.
- unit ``AssociationName``: derived by Buildium from ``AssociationId``.
- rental ``NumberUnits``, ``RentalManager``, ``Reserve``, ``OperatingBankAccountId``,
  ``MarketRent``, ``IsUnitListed``, ``IsUnitOccupied``, ``Description``: leasing and accounting
  data with no canonical home.
- owner ``AlternateEmail``/``AlternateAddress``, ``EmergencyContact``, ``Vehicles``,
  ``BoardMemberTerms``, ``TaxId``, ``DelinquencyStatus``, ``MailingPreference``,
  ``CreatedDateTime``, ``DateOfBirth``: personal or financial details the hub must not spread.
- tenant ``Leases`` beyond the unit they link to, ``SMSOptInStatus``: same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import structlog

from hub.errors import MappingError
from hub.models import (
    Address,
    Home,
    HomeType,
    Location,
    LocationKind,
    Person,
    PersonRole,
    Phone,
    RoleKind,
)

__all__ = [
    "BATHROOMS",
    "BEDROOMS",
    "COUNTRIES",
    "PHONE_TYPES",
    "SUBTYPES",
    "from_address",
    "from_association",
    "from_association_owner",
    "from_association_unit",
    "from_rental_owner",
    "key",
    "to_address",
    "to_association",
    "to_association_owner",
    "to_association_unit",
    "to_rental",
    "to_rental_owner",
    "to_rental_unit",
    "to_tenant",
]

log = structlog.get_logger("mappings.buildium")
T = TypeVar("T")
VENDOR = "buildium"

# -- enum tables ------------------------------------------------------------------------------

BEDROOMS: dict[str, int | None] = {
    "NotSet": None,
    "Studio": 0,
    "OneBed": 1,
    "TwoBed": 2,
    "ThreeBed": 3,
    "FourBed": 4,
    "FiveBed": 5,
    "SixBed": 6,
    "SevenBed": 7,
    "EightBed": 8,
    "NineBedPlus": 9,
}
BATHROOMS: dict[str, float | None] = {
    "NotSet": None,
    "OneBath": 1.0,
    "OnePointFiveBath": 1.5,
    "TwoBath": 2.0,
    "TwoPointFiveBath": 2.5,
    "ThreeBath": 3.0,
    "ThreePointFiveBath": 3.5,
    "FourBath": 4.0,
    "FourPointFiveBath": 4.5,
    "FiveBath": 5.0,
    "FivePlusBath": 5.5,
}
SUBTYPES: dict[str, HomeType] = {
    "SingleFamily": HomeType.SINGLE_FAMILY,
    "MultiFamily": HomeType.MULTI_FAMILY,
    "CondoTownhome": HomeType.CONDO_TOWNHOME,
}
COUNTRIES: dict[str, str] = {
    "UnitedStates": "US",
    "Canada": "CA",
    "Mexico": "MX",
    "PuertoRico": "PR",
    "UnitedKingdom": "GB",
}
PHONE_TYPES: dict[str, str] = {
    "Cell": "mobile",
    "Home": "home",
    "Office": "work",
    "Fax": "fax",
    "Personal": "mobile",
    "Other": "other",
    "NotSet": "other",
}
#: canonical phone kind -> PhoneNumbersMessage field for writes
PHONE_FIELDS = {"home": "Home", "work": "Work", "mobile": "Mobile", "fax": "Fax"}


def key(collection: str, record_id: Any) -> str:
    """The canonical key of a Buildium record."""
    return f"{VENDOR}:{collection}:{record_id}"


def _id(payload: Mapping[str, Any]) -> int:
    value = payload.get("Id")
    if not isinstance(value, int):
        raise MappingError(f"missing or non-integer Id: {value!r}", vendor=VENDOR)
    return value


def _text(payload: Mapping[str, Any] | None, name: str) -> str | None:
    return _clean((payload or {}).get(name))


def _clean(value: Any) -> str | None:
    """A vendor value as trimmed text; None for null and blank."""
    return str(value).strip() or None if value is not None else None


def _lookup(table: Mapping[str, Any], value: Any, what: str) -> Any:
    if value is None:
        return None
    if value in table:
        return table[value]
    log.warning("unknown enum value", vendor=VENDOR, field=what, value=value)
    return None


# -- addresses and phones ---------------------------------------------------------------------


def to_address(payload: Mapping[str, Any] | None) -> Address | None:
    """An AddressMessage as an Address (None when there is none)."""
    fields = _address_fields(payload)
    return Address(**fields) if fields is not None else None


def _address_fields(payload: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An AddressMessage as Address fields, left for the record's own validation to check."""
    if not payload or not payload.get("AddressLine1"):
        return None
    country_raw = payload.get("Country")
    country = COUNTRIES.get(str(country_raw), "US") if country_raw else "US"
    if country_raw and country_raw not in COUNTRIES:
        log.warning("unknown country", vendor=VENDOR, value=country_raw)
    get = payload.get
    return {
        "line1": str(payload["AddressLine1"]),
        "line2": _clean(get("AddressLine2")),
        "line3": _clean(get("AddressLine3")),
        "city": _clean(get("City")) or "",
        "state": _clean(get("State")),
        "postal_code": _clean(get("PostalCode")),
        "country": country,
    }


def from_address(address: Address) -> dict[str, Any]:
    """An Address as a SaveAddressMessage."""
    countries = {v: k for k, v in COUNTRIES.items()}
    body = {
        "AddressLine1": address.line1,
        "AddressLine2": address.line2,
        "AddressLine3": address.line3,
        "City": address.city,
        "State": address.state,
        "PostalCode": address.postal_code,
        "Country": countries.get(address.country, "UnitedStates"),
    }
    return {k: v for k, v in body.items() if v is not None}


def _phones(items: Any) -> list[Phone]:
    phones = []
    for item in items or []:
        number = _text(item, "Number")
        if number:
            kind = PHONE_TYPES.get(str(item.get("Type")), "other")
            phones.append(Phone(number=number, kind=kind))
    return phones


def _phone_fields(phones: list[Phone]) -> dict[str, str] | None:
    fields: dict[str, str] = {}
    for phone in phones:
        name = PHONE_FIELDS.get(phone.kind)
        if name and name not in fields:
            fields[name] = phone.number
    return fields or None


def _emails(payload: Mapping[str, Any]) -> list[str]:
    return [e for e in (_text(payload, "Email"), _text(payload, "AlternateEmail")) if e]


def _wrap(entity: str, what: str, build: Callable[[], T]) -> T:
    try:
        return build()
    except ValueError as exc:
        if isinstance(exc, MappingError):
            raise
        raise MappingError(f"{what}: {exc}", vendor=VENDOR, entity=entity) from exc


# -- associations and units -------------------------------------------------------------------


def to_association(payload: Mapping[str, Any], parent_key: str | None = None) -> Location:
    """An AssociationMessage as a neighborhood."""
    record_id = _id(payload)
    return _wrap(
        "location",
        f"association {record_id}",
        lambda: Location(
            key=key("association", record_id),
            kind=LocationKind.NEIGHBORHOOD,
            name=_text(payload, "Name") or f"Association {record_id}",
            description=_text(payload, "Description"),
            parent_key=parent_key,
            active=payload.get("IsActive") is not False,
            address=to_address(payload.get("Address")),
        ),
    )


def from_association(
    location: Location, bank_account_id: int, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A neighborhood as an AssociationPostMessage (or PutMessage when ``current`` is given)."""
    if location.address is None:
        raise MappingError(
            f"{location.key}: a Buildium association needs an address",
            vendor=VENDOR,
            entity="location",
        )
    body: dict[str, Any] = {
        "Name": location.name,
        "Address": from_address(location.address),
        "OperatingBankAccountId": bank_account_id,
    }
    if location.description:
        body["Description"] = location.description
    if current is not None:
        body["FiscalYearEndDay"] = current.get("FiscalYearEndDay") or 31
        body["FiscalYearEndMonth"] = current.get("FiscalYearEndMonth") or 12
        body["OperatingBankAccountId"] = current.get("OperatingBankAccountId") or bank_account_id
    return body


def _home(
    collection: str,
    payload: Mapping[str, Any],
    neighborhood: str | None,
    home_type: HomeType,
    raw: str | None,
) -> Home:
    record_id = _id(payload)
    what = f"{collection} {record_id}"
    try:  # one record, one try: any ValueError is this record's (as _wrap says it)
        address = _address_fields(payload.get("Address"))
        if address is None:
            raise MappingError(f"{what}: no address", vendor=VENDOR, entity="home")
        return Home.model_validate(
            {
                "key": key(collection, record_id),
                "address": address,  # validated with the home: one pass, not two
                "name": _text(payload, "UnitNumber"),
                "home_type": home_type,
                "home_type_raw": raw,
                "bedrooms": _lookup(BEDROOMS, payload.get("UnitBedrooms"), "UnitBedrooms"),
                "bathrooms": _lookup(BATHROOMS, payload.get("UnitBathrooms"), "UnitBathrooms"),
                "square_feet": payload.get("UnitSize") or None,
                "neighborhood_key": neighborhood,
            }
        )
    except MappingError:
        raise
    except ValueError as exc:
        raise MappingError(f"{what}: {exc}", vendor=VENDOR, entity="home") from exc


def to_association_unit(payload: Mapping[str, Any]) -> Home:
    """An AssociationUnitMessage as a home in its association's neighborhood."""
    association = payload.get("AssociationId")
    hood = key("association", association) if association is not None else None
    return _home("association-unit", payload, hood, HomeType.CONDO_TOWNHOME, None)


def from_association_unit(home: Home, association_id: int | None) -> dict[str, Any]:
    """A home as an AssociationUnitsPostMessage (``association_id`` None: a PutMessage)."""
    bedrooms = {v: k for k, v in BEDROOMS.items() if v is not None}
    bathrooms = {v: k for k, v in BATHROOMS.items() if v is not None}
    body: dict[str, Any] = {
        "UnitNumber": home.name or home.address.line2 or home.key,
        "Address": from_address(home.address),
    }
    if association_id is not None:
        body["AssociationId"] = association_id
    if home.square_feet is not None:
        body["UnitSize"] = home.square_feet
    if home.bedrooms is not None:
        body["UnitBedrooms"] = bedrooms.get(min(home.bedrooms, 9), "NotSet")
    if home.bathrooms is not None:
        body["UnitBathrooms"] = bathrooms.get(home.bathrooms, "NotSet")
    return body


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


# -- people ------------------------------------------------------------------------------------


def _person(
    collection: str, payload: Mapping[str, Any], roles: list[PersonRole], address_field: str
) -> Person:
    record_id = _id(payload)
    return _wrap(
        "person",
        f"{collection} {record_id}",
        lambda: Person(
            key=key(collection, record_id),
            first_name=_text(payload, "FirstName") or "",
            last_name=_text(payload, "LastName") or "",
            company_name=_text(payload, "CompanyName"),
            is_company=bool(payload.get("IsCompany")),
            emails=_emails(payload),
            phones=_phones(payload.get("PhoneNumbers")),
            address=to_address(payload.get(address_field)),
            notes=_text(payload, "Comment"),
            roles=roles,
        ),
    )


def to_association_owner(payload: Mapping[str, Any]) -> Person:
    """An AssociationOwnerMessage as a homeowner of each unit it owns."""
    roles = []
    for account in payload.get("OwnershipAccounts") or []:
        unit = account.get("UnitId")
        home = key("association-unit", unit) if unit is not None else None
        roles.append(PersonRole(kind=RoleKind.ASSOCIATION_OWNER, home_key=home))
        roles.append(PersonRole(kind=RoleKind.HOMEOWNER, home_key=home))
    return _person("association-owner", payload, roles, "PrimaryAddress")


def from_association_owner(person: Person, ownership_account_id: int | None) -> dict[str, Any]:
    """A person as an AssociationOwner Post (with the account) or Put message."""
    if person.address is None:
        raise MappingError(
            f"{person.key}: a Buildium owner needs a primary address",
            vendor=VENDOR,
            entity="person",
        )
    body: dict[str, Any] = {
        "FirstName": person.first_name or person.company_name or "",
        "LastName": person.last_name or "-",
        "PrimaryAddress": from_address(person.address),
    }
    if person.emails:
        body["Email"] = person.emails[0]
    if len(person.emails) > 1:
        body["AlternateEmail"] = person.emails[1]
    phones = _phone_fields(person.phones)
    if phones:
        body["PhoneNumbers"] = phones
    if person.notes:
        body["Comment"] = person.notes
    if ownership_account_id is not None:
        body.update(
            OwnershipAccountId=ownership_account_id, IsOwnerOccupied=False, SendWelcomeEmail=False
        )
    return body


def to_rental_owner(payload: Mapping[str, Any]) -> Person:
    """A RentalOwnerMessage as a rental owner of its properties."""
    roles = [
        PersonRole(kind=RoleKind.RENTAL_OWNER, home_key=key("rental", p))
        for p in payload.get("PropertyIds") or []
    ]
    return _person("rental-owner", payload, roles, "Address")


def from_rental_owner(person: Person, property_ids: list[int]) -> dict[str, Any]:
    """A person as a RentalOwnerPostMessage / PutMessage."""
    if person.address is None:
        raise MappingError(
            f"{person.key}: a Buildium rental owner needs an address",
            vendor=VENDOR,
            entity="person",
        )
    body: dict[str, Any] = {
        "IsCompany": person.is_company,
        "PropertyIds": property_ids,
        "Address": from_address(person.address),
    }
    for name, value in (
        ("FirstName", person.first_name),
        ("LastName", person.last_name),
        ("CompanyName", person.company_name),
        ("Email", person.emails[0] if person.emails else None),
        ("Comment", person.notes),
    ):
        if value:
            body[name] = value
    phones = _phone_fields(person.phones)
    if phones:
        body["PhoneNumbers"] = phones
    return body


def to_tenant(payload: Mapping[str, Any]) -> Person:
    """A TenantMessage as a tenant of the units its leases name."""
    roles = [
        PersonRole(kind=RoleKind.TENANT, home_key=key("rental-unit", lease["UnitId"]))
        for lease in payload.get("Leases") or []
        if lease.get("UnitId") is not None
    ]
    return _person("tenant", payload, roles, "Address")
