"""RESO Data Dictionary payloads -> the canonical model. Pure functions, no I/O.

Keys are ``reso:<resource>:<key>`` with the resource's own key field (``ListingKey``,
``MemberKey``, ``OfficeKey``). A listing (``Property``) becomes a home: its address, its
structure (bedrooms, bathrooms, living area), and in its details what has no canonical field
(list price, year built, status, the listing agent and office). A ``Member`` becomes a person
with the ``agent`` role in their office; an ``Office`` an organization.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.sdk import (
    Address,
    Home,
    HomeType,
    MappingError,
    Organization,
    OrganizationKind,
    Person,
    PersonRole,
    Phone,
    RoleKind,
)

__all__ = ["key", "to_address", "to_home", "to_office", "to_person"]

VENDOR = "reso"
#: PropertySubType values -> the canonical home type (the rest are ``other``, kept raw)
HOME_TYPES = {
    "Single Family Residence": HomeType.SINGLE_FAMILY,
    "Duplex": HomeType.MULTI_FAMILY,
    "Triplex": HomeType.MULTI_FAMILY,
    "Quadruplex": HomeType.MULTI_FAMILY,
    "Condominium": HomeType.CONDO_TOWNHOME,
    "Townhouse": HomeType.CONDO_TOWNHOME,
}
#: listing fields kept in a home's details, under these names
DETAILS = {
    "ListingId": "listing_id",
    "ListPrice": "list_price",
    "YearBuilt": "year_built",
    "StandardStatus": "status",
    "ListAgentKey": "list_agent_key",
    "ListAgentFullName": "list_agent_name",
    "ListOfficeKey": "list_office_key",
}


def key(resource: str, value: Any) -> str:
    """The canonical key of a RESO record."""
    return f"{VENDOR}:{resource.lower()}:{value}"


def _key_of(payload: Mapping[str, Any], field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"missing or non-text {field}: {value!r:.40}", vendor=VENDOR)
    return value.strip()


def _text(payload: Mapping[str, Any], field: str) -> str | None:
    value = payload.get(field)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise MappingError(f"{field} is not text: {value!r:.40}", vendor=VENDOR)
    return str(value).strip() or None


def _number(payload: Mapping[str, Any], field: str) -> float | None:
    value = payload.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MappingError(f"{field} is not a number: {value!r:.40}", vendor=VENDOR)
    return float(value)


def to_address(payload: Mapping[str, Any], prefix: str = "") -> Address | None:
    """A listing's address (``UnparsedAddress``, else street number, name and suffix), or
    an office's (``OfficeAddress1``...); None when there is no street line."""
    if prefix:
        line1 = _text(payload, f"{prefix}Address1")
        line2 = _text(payload, f"{prefix}Address2")
    else:
        parts = [_text(payload, f) for f in ("StreetNumber", "StreetName", "StreetSuffix")]
        line1 = _text(payload, "UnparsedAddress") or " ".join(p for p in parts if p) or None
        line2 = _text(payload, "UnitNumber")
    if line1 is None:
        return None
    return Address(
        line1=line1,
        line2=line2,
        city=_text(payload, f"{prefix}City") or "",
        state=_text(payload, f"{prefix}StateOrProvince"),
        postal_code=_text(payload, f"{prefix}PostalCode"),
        country=_text(payload, f"{prefix}Country") or "US",
    )


def to_home(payload: Mapping[str, Any]) -> Home:
    """A ``Property`` (listing) as a Home."""
    listing = _key_of(payload, "ListingKey")
    address = to_address(payload)
    if address is None:
        raise MappingError(f"listing {listing} has no address", vendor=VENDOR, entity="home")
    sub_type = _text(payload, "PropertySubType")
    home_type = HOME_TYPES.get(sub_type or "", HomeType.OTHER if sub_type else None)
    bedrooms, bathrooms = (
        _number(payload, "BedroomsTotal"),
        _number(payload, "BathroomsTotalInteger"),
    )
    area = _number(payload, "LivingArea")
    details = {
        name: payload[field] for field, name in DETAILS.items() if payload.get(field) is not None
    }
    for name, value in details.items():
        if not isinstance(value, str | int | float | bool):
            raise MappingError(f"{name} is not a plain value: {value!r:.40}", vendor=VENDOR)
    return Home(
        key=key("property", listing),
        address=address,
        name=_text(payload, "ListingId"),
        home_type=home_type or HomeType.SINGLE_FAMILY,
        home_type_raw=sub_type if home_type is HomeType.OTHER else None,
        bedrooms=int(bedrooms) if bedrooms is not None else None,
        bathrooms=bathrooms,
        square_feet=int(area) if area is not None else None,
        details=details,
    )


def to_person(payload: Mapping[str, Any]) -> Person:
    """A ``Member`` as a Person with the agent role in their office."""
    member = _key_of(payload, "MemberKey")
    office = _text(payload, "OfficeKey")
    phone = _text(payload, "MemberDirectPhone") or _text(payload, "MemberMobilePhone")
    email = _text(payload, "MemberEmail")
    role = PersonRole(
        kind=RoleKind.AGENT, organization_key=key("office", office) if office else None
    )
    return Person(
        key=key("member", member),
        first_name=_text(payload, "MemberFirstName") or "",
        last_name=_text(payload, "MemberLastName") or "",
        emails=[email] if email else [],
        phones=[Phone(number=phone, kind="work")] if phone else [],
        roles=[role],
    )


def to_office(payload: Mapping[str, Any]) -> Organization:
    """An ``Office`` as an Organization."""
    office = _key_of(payload, "OfficeKey")
    return Organization(
        key=key("office", office),
        kind=OrganizationKind.OFFICE,
        name=_text(payload, "OfficeName") or f"Office {office}",
        email=_text(payload, "OfficeEmail"),
        phone=_text(payload, "OfficePhone"),
        address=to_address(payload, "Office"),
    )
