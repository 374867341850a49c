"""RESO payloads to canonical records: a listing's address, structure and agent, a member,
an office; what cannot be mapped is a MappingError, never a wrong record."""

from __future__ import annotations

from typing import Any

import pytest
from prophub_reso.mapping import to_home, to_office, to_person

from hub.sdk import HomeType, MappingError, RoleKind

LISTING: dict[str, Any] = {
    "ListingKey": "L0000007",
    "ListingId": "MLS100007",
    "UnparsedAddress": "4521 Willow Ln",
    "UnitNumber": "B",
    "City": "Austin",
    "StateOrProvince": "TX",
    "PostalCode": "78704",
    "BedroomsTotal": 3,
    "BathroomsTotalInteger": 2,
    "LivingArea": 1850.5,
    "YearBuilt": 1998,
    "ListPrice": 525000,
    "PropertySubType": "Townhouse",
    "ListAgentKey": "M000002",
    "ListAgentFullName": "Ada Lee",
}


def test_a_listing_becomes_a_home_with_its_details() -> None:
    """Address, structure and type map to fields; price, year and agent go to details."""
    home = to_home(LISTING)
    assert home.key == "reso:property:L0000007" and home.name == "MLS100007"
    assert (home.address.line1, home.address.line2, home.address.state) == (
        "4521 Willow Ln",
        "B",
        "TX",
    )
    assert (home.bedrooms, home.bathrooms, home.square_feet) == (3, 2.0, 1850)
    assert home.home_type is HomeType.CONDO_TOWNHOME
    assert home.details == {
        "list_agent_key": "M000002",
        "list_agent_name": "Ada Lee",
        "list_price": 525000,
        "listing_id": "MLS100007",
        "year_built": 1998,
    }


def test_street_parts_stand_in_for_an_unparsed_address_and_odd_types_are_kept() -> None:
    """Without UnparsedAddress the street parts make the line; an unknown sub-type is other."""
    parts = {**LISTING, "StreetNumber": "12", "StreetName": "Oak", "StreetSuffix": "St"}
    del parts["UnparsedAddress"]
    home = to_home({**parts, "PropertySubType": "Cabin"})
    assert home.address.line1 == "12 Oak St"
    assert (home.home_type, home.home_type_raw) == (HomeType.OTHER, "Cabin")


@pytest.mark.parametrize(
    "change",
    [
        {"ListingKey": None},
        {"ListingKey": {"x": 1}},
        {"UnparsedAddress": None},
        {"BedroomsTotal": "three"},
        {"StateOrProvince": "XX"},
        {"ListAgentKey": ["M1"]},
    ],
)
def test_a_listing_that_cannot_be_mapped_is_refused(change: dict[str, Any]) -> None:
    """A missing key or address, a mistyped number or detail, a bad state: refused."""
    with pytest.raises((MappingError, ValueError)):
        to_home({**LISTING, **change})


def test_a_member_is_an_agent_of_their_office_and_an_office_an_organization() -> None:
    """MemberKey, names, email, phone and office; OfficeKey, name and address."""
    person = to_person(
        {
            "MemberKey": "M000002",
            "MemberFirstName": "Ada",
            "MemberLastName": "Lee",
            "MemberEmail": "ada@realty.example.com",
            "MemberMobilePhone": "512-555-0101",
            "OfficeKey": "O00001",
        }
    )
    assert (person.key, person.full_name, person.email) == (
        "reso:member:M000002",
        "Ada Lee",
        "ada@realty.example.com",
    )
    assert person.phones[0].number == "512-555-0101"
    assert person.roles[0].kind is RoleKind.AGENT
    assert person.roles[0].organization_key == "reso:office:O00001"
    office = to_office(
        {
            "OfficeKey": "O00001",
            "OfficeName": "Austin Realty",
            "OfficeAddress1": "1 Main St",
            "OfficeCity": "Austin",
            "OfficeStateOrProvince": "TX",
            "OfficePostalCode": "78701",
        }
    )
    assert office.name == "Austin Realty" and office.address is not None
    assert office.address.city == "Austin"
