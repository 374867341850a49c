"""Buildium's PUT round-trip: an update that keeps every field the hub does not own."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.errors import UnsupportedValue
from hub.models import Home, Location, Person
from mappings.buildium.tables import PHONE_TYPE_FIELDS, VENDOR
from mappings.buildium.writes import (
    from_association,
    from_association_owner,
    from_association_unit,
    from_rental_owner,
    owner_contact,
)

__all__ = [
    "PUT_FIELDS",
    "association_put",
    "owner_put",
    "put_from_get",
    "rental_owner_put",
    "unit_put",
]

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
    owned.update(owner_contact(person))
    if "PhoneNumbers" in owned:
        # Buildium keeps a number of each kind: the kinds the person has no number of stay.
        kept = _phone_numbers("owner", current.get("PhoneNumbers")) or {}
        owned["PhoneNumbers"] = {**kept, **owned["PhoneNumbers"]}
    return owned
