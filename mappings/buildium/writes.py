"""Canonical records as Buildium's POST messages (an update's PUT: ``updates``)."""

from __future__ import annotations

from typing import Any

from hub.errors import MappingError
from hub.models import (
    Home,
    Location,
    Person,
)
from mappings.buildium.tables import BATHROOMS, BEDROOMS, VENDOR
from mappings.buildium.values import (
    from_address,
    phone_fields,
)

__all__ = [
    "from_association",
    "from_association_owner",
    "from_association_unit",
    "from_rental_owner",
]


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


def from_association_unit(home: Home, association_id: int | None) -> dict[str, Any]:
    """A home as an AssociationUnitsPostMessage (``association_id`` None: a PutMessage)."""
    bedrooms = {v: k for k, v in BEDROOMS.items() if v is not None}
    bathrooms: dict[float, str] = {v: k for k, v in BATHROOMS.items() if v is not None}
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
        # "FivePlusBath" is any count past five; a count the enum has no value for (2.25)
        # is left out rather than sent as "NotSet", which would wipe Buildium's own.
        count = min(home.bathrooms, 5.5) if home.bathrooms > 5 else home.bathrooms
        if count in bathrooms:
            body["UnitBathrooms"] = bathrooms[count]
    return body


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
    body.update(owner_contact(person))
    if ownership_account_id is not None:
        body.update(
            OwnershipAccountId=ownership_account_id,
            IsOwnerOccupied=owner_occupied,
            SendWelcomeEmail=False,
        )
    return body


def owner_contact(person: Person) -> dict[str, Any]:
    """An association owner's contact fields: two emails, phones by kind, and notes."""
    body: dict[str, Any] = {}
    if person.emails:
        body["Email"] = person.emails[0]
    if len(person.emails) > 1:
        body["AlternateEmail"] = person.emails[1]
    phones = phone_fields(person.phones)
    if phones:
        body["PhoneNumbers"] = phones
    if person.notes:
        body["Comment"] = person.notes
    return body


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
    phones = phone_fields(person.phones)
    if phones:
        body["PhoneNumbers"] = phones
    return body
