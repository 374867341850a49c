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

from hub.errors import MappingError, UnsupportedValue
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
    "association_put",
    "email_matches",
    "from_address",
    "from_association",
    "from_association_owner",
    "from_association_unit",
    "from_rental_owner",
    "key",
    "name_matches",
    "occupies",
    "owner_put",
    "put_from_get",
    "rental_owner_put",
    "to_address",
    "to_association",
    "to_association_owner",
    "to_association_unit",
    "to_rental",
    "to_rental_owner",
    "to_rental_unit",
    "to_tenant",
    "unit_put",
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
#: a GET PhoneNumberMessage Type -> the PUT PhoneNumbersMessage field that holds it
PHONE_TYPE_FIELDS = {"Home": "Home", "Office": "Work", "Cell": "Mobile", "Fax": "Fax"}
#: Buildium accepts a state or province by name as well as by abbreviation
STATE_NAMES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI",
    "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND",
    "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "puerto rico": "PR",
    "guam": "GU", "american samoa": "AS", "virgin islands": "VI",
    "northern mariana islands": "MP",
    # Canada's provinces and territories
    "alberta": "AB", "british columbia": "BC", "manitoba": "MB", "new brunswick": "NB",
    "newfoundland and labrador": "NL", "nova scotia": "NS", "ontario": "ON",
    "prince edward island": "PE", "quebec": "QC", "saskatchewan": "SK",
    "northwest territories": "NT", "nunavut": "NU", "yukon": "YT",
}  # fmt: skip
#: the canonical code of a country Buildium names but the hub does not
UNKNOWN_COUNTRY = "ZZ"


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


def _unknown(table: Mapping[str, Any], value: Any) -> str | None:
    """A value outside an enum table, kept raw (None for known values and nulls)."""
    return str(value) if value is not None and value not in table else None


# -- addresses and phones ---------------------------------------------------------------------


def to_address(payload: Mapping[str, Any] | None) -> Address | None:
    """An AddressMessage as an Address (None when there is none)."""
    return _to_address(payload, "Address")


def _to_address(payload: Any, field: str) -> Address | None:
    fields = _address_fields(payload, field)
    return Address(**fields) if fields is not None else None


def _address_fields(payload: Any, field: str = "Address") -> dict[str, Any] | None:
    """An AddressMessage as Address fields, left for the record's own validation to check."""
    if payload is None:
        return None
    if not isinstance(payload, Mapping):
        raise MappingError(f"{field}: expected an object, got {_kind(payload)}", vendor=VENDOR)
    if not payload.get("AddressLine1"):
        return None
    country_raw = _clean(payload.get("Country"))
    kept_raw = None
    if country_raw is None:
        country = "US"  # Buildium's own default, for records saved before Country existed
    elif country_raw in COUNTRIES:
        country = COUNTRIES[country_raw]
    else:
        country, kept_raw = UNKNOWN_COUNTRY, country_raw
    get = payload.get
    state = _clean(get("State"))
    if state is not None:
        state = STATE_NAMES.get(" ".join(state.lower().split()), state)
    return {
        "line1": str(payload["AddressLine1"]),
        "line2": _clean(get("AddressLine2")),
        "line3": _clean(get("AddressLine3")),
        "city": _clean(get("City")) or "",
        "state": state,
        "postal_code": _clean(get("PostalCode")),
        "country": country,
        "country_raw": kept_raw,
    }


def from_address(address: Address) -> dict[str, Any]:
    """An Address as a SaveAddressMessage."""
    countries = {v: k for k, v in COUNTRIES.items()}
    country = address.country_raw or countries.get(address.country)
    if country is None:
        raise UnsupportedValue(
            f"Buildium has no country for the code {address.country!r}", vendor=VENDOR
        )
    body = {
        "AddressLine1": address.line1,
        "AddressLine2": address.line2,
        "AddressLine3": address.line3,
        "City": address.city,
        "State": address.state,
        "PostalCode": address.postal_code,
        "Country": country,
    }
    return {k: v for k, v in body.items() if v is not None}


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)


def _objects(value: Any, field: str) -> list[Mapping[str, Any]]:
    """A list of objects, or a MappingError naming the field that is not one."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{field}: expected a list, got {_kind(value)}", vendor=VENDOR)
    for item in value:
        if not isinstance(item, Mapping):
            raise MappingError(
                f"{field}: expected a list of objects, got {_kind(item)} in it", vendor=VENDOR
            )
    return value


def _phones(items: Any) -> list[Phone]:
    phones = []
    for item in _objects(items, "PhoneNumbers"):
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
        if str(exc).startswith(what):
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


def from_association(location: Location, bank_account_id: int) -> dict[str, Any]:
    """A neighborhood as an AssociationPostMessage (an update: :func:`association_put`)."""
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
                "bedrooms_raw": _unknown(BEDROOMS, payload.get("UnitBedrooms")),
                "bathrooms_raw": _unknown(BATHROOMS, payload.get("UnitBathrooms")),
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
            address=_to_address(payload.get(address_field), address_field),
            notes=_text(payload, "Comment"),
            roles=roles,
        ),
    )


def to_association_owner(payload: Mapping[str, Any]) -> Person:
    """An AssociationOwnerMessage as a homeowner of each unit it owns."""
    roles = []
    accounts = _wrap(
        "person",
        f"association-owner {_id(payload)}",
        lambda: _objects(payload.get("OwnershipAccounts"), "OwnershipAccounts"),
    )
    for account in accounts:
        unit = account.get("UnitId")
        home = key("association-unit", unit) if unit is not None else None
        roles.append(PersonRole(kind=RoleKind.ASSOCIATION_OWNER, home_key=home))
        roles.append(PersonRole(kind=RoleKind.HOMEOWNER, home_key=home))
    return _person("association-owner", payload, roles, "PrimaryAddress")


def from_association_owner(
    person: Person, ownership_account_id: int | None, owner_occupied: bool = False
) -> dict[str, Any]:
    """A person as an AssociationOwnerToExistingOwnershipAccountPostMessage (given the
    account) or the hub's fields of a Put message."""
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
            OwnershipAccountId=ownership_account_id,
            IsOwnerOccupied=owner_occupied,
            SendWelcomeEmail=False,
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
        for lease in _wrap(
            "person", f"tenant {_id(payload)}", lambda: _objects(payload.get("Leases"), "Leases")
        )
        if lease.get("UnitId") is not None
    ]
    return _person("tenant", payload, roles, "Address")


# -- updates: read-modify-write ---------------------------------------------------------------
#
# Buildium's PUT sets every field the request omits to null or empty (its document says so of
# each PUT). An update therefore starts from the record as Buildium gave it, its GET message
# translated field by field into the PUT message, and changes only the fields the hub owns.
# A PUT field that cannot be filled from the GET message would be erased: the update is
# refused, naming the field, so Buildium keeps what it holds.

ADDRESS_FIELDS = (
    "AddressLine1",
    "AddressLine2",
    "AddressLine3",
    "City",
    "State",
    "PostalCode",
    "Country",
)
CONTACT_FIELDS = ("Name", "RelationshipDescription", "Phone", "Email")


def _cannot(resource: str, field: str, why: str) -> UnsupportedValue:
    return UnsupportedValue(
        f"{resource}: {field} cannot be sent back as Buildium holds it ({why}); "
        "the update is refused so that Buildium keeps it",
        vendor=VENDOR,
    )


def _copy(resource: str, field: str, value: Any, names: tuple[str, ...]) -> Any:
    """A nested message (address, emergency contact) copied field by field."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _cannot(resource, field, "not an object")
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise _cannot(resource, f"{field}.{unknown[0]}", "the PUT message has no such field")
    body = {name: value[name] for name in names if value.get(name) is not None}
    return body or None


def _phone_numbers(resource: str, value: Any) -> dict[str, str] | None:
    """A GET message's PhoneNumbers list as the PUT message's PhoneNumbers object."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise _cannot(resource, "PhoneNumbers", "not a list")
    fields: dict[str, str] = {}
    for item in value:
        number = item.get("Number") if isinstance(item, Mapping) else None
        if not number:
            continue
        kind = item.get("Type")
        name = PHONE_TYPE_FIELDS.get(str(kind))
        if name is None:
            raise _cannot(resource, "PhoneNumbers", f"a {kind} number has no place in a PUT")
        if name in fields and fields[name] != number:
            raise _cannot(resource, "PhoneNumbers", f"two {name} numbers, a PUT holds one")
        fields[name] = str(number)
    return fields or None


def _manager_id(resource: str, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("Id"), int):
        raise _cannot(resource, "PropertyManagerId", "the association manager has no Id")
    return value["Id"]


def _missing(resource: str, field: str) -> Callable[[Mapping[str, Any]], Any]:
    def fail(current: Mapping[str, Any]) -> Any:
        raise _cannot(resource, field, "Buildium's GET message does not return it")

    return fail


def _field(name: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda current: current.get(name)


def _put_rules(resource: str) -> dict[str, Callable[[Mapping[str, Any]], Any]]:
    """PUT message field -> how it is filled from the GET message, per resource."""
    same = _field

    def address(name: str) -> Callable[[Mapping[str, Any]], Any]:
        return lambda current: _copy(resource, name, current.get(name), ADDRESS_FIELDS)

    if resource == "association":
        return {
            "Name": same("Name"),
            "Description": same("Description"),
            "YearBuilt": same("YearBuilt"),
            "OperatingBankAccountId": same("OperatingBankAccountId"),
            "Reserve": same("Reserve"),
            "Address": address("Address"),
            "PropertyManagerId": lambda c: _manager_id(resource, c.get("AssociationManager")),
            "FiscalYearEndDay": same("FiscalYearEndDay"),
            "FiscalYearEndMonth": same("FiscalYearEndMonth"),
        }
    if resource == "association-unit":
        return {
            "UnitNumber": same("UnitNumber"),
            "UnitSize": same("UnitSize"),
            "Address": address("Address"),
            "UnitBedrooms": same("UnitBedrooms"),
            "UnitBathrooms": same("UnitBathrooms"),
        }
    common = {
        "FirstName": same("FirstName"),
        "LastName": same("LastName"),
        "Email": same("Email"),
        "AlternateEmail": same("AlternateEmail"),
        "PhoneNumbers": lambda c: _phone_numbers(resource, c.get("PhoneNumbers")),
        "Comment": same("Comment"),
    }
    if resource == "association-owner":
        return {
            **common,
            "PrimaryAddress": address("PrimaryAddress"),
            "AlternateAddress": address("AlternateAddress"),
            "EmergencyContact": lambda c: _copy(
                resource, "EmergencyContact", c.get("EmergencyContact"), CONTACT_FIELDS
            ),
            "MailingPreference": same("MailingPreference"),
            "TaxId": same("TaxId"),
        }
    if resource == "rental-owner":
        return {
            **common,
            "IsCompany": same("IsCompany"),
            "CompanyName": same("CompanyName"),
            "DateOfBirth": _missing(resource, "DateOfBirth"),
            "ManagementAgreementStartDate": same("ManagementAgreementStartDate"),
            "ManagementAgreementEndDate": same("ManagementAgreementEndDate"),
            "Address": address("Address"),
            "PropertyIds": same("PropertyIds"),
        }
    raise ValueError(f"no PUT message for {resource!r}")


#: the resources the hub updates, and their PUT messages' fields
PUT_FIELDS = {
    resource: tuple(_put_rules(resource))
    for resource in ("association", "association-unit", "association-owner", "rental-owner")
}


def put_from_get(resource: str, current: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT message that leaves a record as Buildium gave it (its GET message)."""
    body = {}
    for name, rule in _put_rules(resource).items():
        value = rule(current)
        if value is not None:
            body[name] = value
    return body


def _merge(resource: str, current: Mapping[str, Any], owned: Mapping[str, Any]) -> dict[str, Any]:
    """The current record's PUT message with the hub's own fields changed (a None drops a
    field the hub owns and the source no longer has)."""
    body = put_from_get(resource, current)
    for name, value in owned.items():
        if name not in PUT_FIELDS[resource]:
            raise ValueError(f"{name} is not a field of the {resource} PUT message")
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def association_put(current: Mapping[str, Any], location: Location) -> dict[str, Any]:
    """An association's PUT message: Buildium's record with the neighborhood's name,
    address and (where the source has one) description."""
    post = from_association(location, 0)
    owned = {"Name": post["Name"], "Address": post["Address"]}
    if location.description:
        owned["Description"] = location.description
    return _merge("association", current, owned)


def unit_put(current: Mapping[str, Any], home: Home) -> dict[str, Any]:
    """A unit's PUT message: Buildium's record with the home's number and address, and its
    size, bedrooms and bathrooms where the source has them."""
    post = from_association_unit(home, None)
    owned = {k: post[k] for k in ("UnitNumber", "Address", *_UNIT_FACTS) if k in post}
    return _merge("association-unit", current, owned)


_UNIT_FACTS = ("UnitSize", "UnitBedrooms", "UnitBathrooms")


def owner_put(current: Mapping[str, Any], person: Person) -> dict[str, Any]:
    """An association owner's PUT message: Buildium's record with the person's name,
    primary address, emails and phones (by kind, others kept) and notes."""
    post = from_association_owner(person, None)
    owned = _person_owned(current, person, post, "PrimaryAddress")
    return _merge("association-owner", current, owned)


def rental_owner_put(
    current: Mapping[str, Any], person: Person, property_ids: list[int]
) -> dict[str, Any]:
    """A rental owner's PUT message, refused while Buildium cannot give back DateOfBirth."""
    post = from_rental_owner(person, property_ids or list(current.get("PropertyIds") or []))
    owned = _person_owned(current, person, post, "Address")
    owned.update({k: post[k] for k in ("IsCompany", "CompanyName", "PropertyIds") if k in post})
    return _merge("rental-owner", current, owned)


def _person_owned(
    current: Mapping[str, Any], person: Person, post: Mapping[str, Any], address: str
) -> dict[str, Any]:
    owned = {k: post[k] for k in ("FirstName", "LastName", address) if k in post}
    if person.emails:
        owned["Email"] = person.emails[0]
    if len(person.emails) > 1:
        owned["AlternateEmail"] = person.emails[1]
    phones = _phone_fields(person.phones)
    if phones:
        kept = _phone_numbers("owner", current.get("PhoneNumbers")) or {}
        owned["PhoneNumbers"] = {**kept, **phones}
    if person.notes:
        owned["Comment"] = person.notes
    return owned


def occupies(person: Person, unit: Mapping[str, Any]) -> bool:
    """Whether a homeowner lives in the unit: their mailing address is the unit's."""
    home = to_address(unit.get("Address")) if isinstance(unit.get("Address"), Mapping) else None
    mine = person.address
    if home is None or mine is None:
        return False

    def same(a: str | None, b: str | None) -> bool:
        return " ".join((a or "").lower().split()) == " ".join((b or "").lower().split())

    return (
        same(mine.line1, home.line1)
        and same(mine.line2, home.line2)
        and same((mine.postal_code or "")[:5], (home.postal_code or "")[:5])
    )


# -- exact matching of look-up candidates -----------------------------------------------------
#
# Buildium's name and email filters match records that *contain* the value: every candidate
# is checked here, and only an exact match counts.


def email_matches(payload: Mapping[str, Any], email: str) -> bool:
    """Whether a record's email is this one (case-insensitive, around whitespace)."""
    mine = str(payload.get("Email") or "").strip().lower()
    return bool(mine) and mine == email.strip().lower()


def name_matches(value: Any, name: str) -> bool:
    """Whether a name is this one after trimming (and inner runs of spaces made one)."""
    return isinstance(value, str) and " ".join(value.split()) == " ".join(name.split())
