"""Builder Backed mappings: table-driven payload cases and canonical round trips."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import MappingError, UnsupportedValue
from hub.models import (
    Address,
    Document,
    DocumentStorage,
    Home,
    HomeType,
    Location,
    LocationKind,
    Person,
    PersonRole,
)
from mappings import builder_backed as m
from tests.mappings.strategies import addresses, emails, names, words

HOME: dict[str, Any] = {
    "id": 7,
    "externalId": "H-1",
    "addressLine1": "1 Oak St",
    "addressLine2": "Unit 2",
    "city": "Austin",
    "state": "TX",
    "postalCode": "78701",
    "type": "Single Family",
    "neighborhoodExternalId": "NH-1",
    "marketHome": True,
    "jobId": "J1",
    "productCollection": "Designer",
    "model": "Preston",
    "closingDate": "2025-03-01",
    "scheduledClosingDate": "2025-02-15T00:00:00Z",
    "homeDetails": {"Lot": "4"},
    "homeowners": [
        {
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": "Lee",
            "homeownerType": "PRIMARY",
            "fullName": "Ada Lee",
        }
    ],
}


@pytest.mark.parametrize(
    ("payload", "kind", "expected"),
    [
        (
            {"id": 3, "name": "Central Texas", "active": True},
            LocationKind.REGION,
            {"key": "builder_backed:region:3", "name": "Central Texas"},
        ),
        (
            {"externalId": "D1", "name": "D", "regionName": "West", "abbreviatedName": "D"},
            LocationKind.DIVISION,
            {"key": "D1", "parent_name": "West", "abbreviation": "D"},
        ),
        (
            {"externalId": "M1", "name": "M", "divisionExternalId": "D1"},
            LocationKind.MASTER_COMMUNITY,
            {"key": "M1", "parent_key": "D1"},
        ),
        (
            {"externalId": "N1", "name": "N", "masterCommunityExternalId": "M1", "active": False},
            LocationKind.NEIGHBORHOOD,
            {"key": "N1", "parent_key": "M1", "active": False},
        ),
    ],
)
def test_to_location(payload: dict[str, Any], kind: LocationKind, expected: dict[str, Any]) -> None:
    """Each level maps with its parent reference."""
    location = m.to_location(payload, kind)
    assert location.kind is kind
    assert {k: getattr(location, k) for k in expected} == expected


def test_to_home_maps_every_documented_field() -> None:
    """A full home payload keeps every field the guide documents."""
    home = m.to_home(HOME)
    assert (home.key, home.neighborhood_key, home.home_type) == (
        "H-1",
        "NH-1",
        HomeType.SINGLE_FAMILY,
    )
    assert (home.address.line2, home.market_home, home.job_id, home.model) == (
        "Unit 2",
        True,
        "J1",
        "Preston",
    )
    assert home.closing_date == date(2025, 3, 1) and home.scheduled_closing_date == date(
        2025, 2, 15
    )
    assert home.details == {"Lot": "4"}
    owner = home.homeowners[0]
    assert owner.key == "builder_backed:homeowner:H-1:ada@example.com"
    assert owner.roles == [PersonRole(kind="homeowner", home_key="H-1", homeowner_type="primary")]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"externalId": None}, MappingError),
        ({"state": "Texas"}, MappingError),
        ({"homeowners": [{"firstName": "A"}]}, MappingError),
    ],
)
def test_malformed_payloads_are_mapping_errors(
    change: dict[str, Any], error: type[Exception]
) -> None:
    """Missing or invalid fields raise MappingError, never a half-mapped record."""
    with pytest.raises(error):
        m.to_home({**HOME, **change})


def test_unknown_values_are_kept_as_other() -> None:
    """An unknown home or homeowner type maps to other with the raw value kept."""
    home = m.to_home(
        {
            **HOME,
            "type": "Townhome",
            "homeowners": [{**HOME["homeowners"][0], "homeownerType": "CO_BUYER"}],
        }
    )
    assert (home.home_type, home.home_type_raw) == (HomeType.OTHER, "Townhome")
    role = home.homeowners[0].roles[0]
    assert (role.homeowner_type, role.raw) == ("other", "CO_BUYER")


@pytest.mark.parametrize(
    ("home_type", "fallback", "expected"),
    [
        (HomeType.SINGLE_FAMILY, None, "Single Family"),
        (HomeType.MULTI_FAMILY, None, "Multi Family"),
        (HomeType.CONDO_TOWNHOME, "Multi Family", "Multi Family"),
        (HomeType.OTHER, None, UnsupportedValue),
    ],
)
def test_home_types(home_type: HomeType, fallback: str | None, expected: Any) -> None:
    """Only Single Family / Multi Family exist; others need a configured fallback."""
    home = m.to_home(HOME).model_copy(update={"home_type": home_type})
    if isinstance(expected, type):
        with pytest.raises(expected):
            m.from_home(home, fallback)
    else:
        assert m.from_home(home, fallback)["type"] == expected


def test_documents_round_trip_with_the_guides_display_format() -> None:
    """Documents map both ways; the display window uses YYYY-MM-DD HH:MM:SS.SSS."""
    doc = Document(
        key="d1",
        home_key="H-1",
        category="Warranty",
        name="W",
        url="https://x/w",
        storage=DocumentStorage.AWS,
        bucket="b",
        shareable=True,
        display_from=date(2025, 1, 1),
        display_until=date(2026, 1, 1),
    )
    body = m.from_document(doc)
    assert body["displayStart"] == "2025-01-01 00:00:00.000" and body["type"] == "AWS"
    assert m.to_document({**body, "id": 9}, "H-1") == doc
    with pytest.raises(MappingError):
        m.to_document({**body, "type": "FTP"}, "H-1")


@pytest.mark.parametrize(
    ("display", "canonical"),
    [
        ("2025-01-01 00:00:00.000", date(2025, 1, 1)),
        ("2025-01-01 08:30:00.000", datetime(2025, 1, 1, 8, 30)),
        ("2025-06-30 23:59:59.250", datetime(2025, 6, 30, 23, 59, 59, 250000)),
    ],
)
def test_display_window_keeps_its_time_of_day(display: str, canonical: date) -> None:
    """displayStart/displayEnd keep their time of day both ways (a midnight is a day)."""
    payload = {"externalId": "d1", "category": "C", "name": "N", "url": "u", "type": "AWS"}
    payload["bucket"] = "b"
    doc = m.to_document({**payload, "displayStart": display, "displayEnd": display}, "H-1")
    assert doc.display_from == canonical and doc.display_until == canonical
    body = m.from_document(doc)
    assert body["displayStart"] == body["displayEnd"] == display


@pytest.mark.parametrize(
    ("address", "change", "missing"),
    [
        ({"state": None}, {}, "'state'"),
        ({"postal_code": None}, {}, "'postalCode'"),
        ({"state": None, "postal_code": None}, {}, "'state', 'postalCode'"),
        ({"city": ""}, {}, "'city'"),
        ({}, {"neighborhood_key": None}, "'neighborhoodExternalId'"),
    ],
)
def test_missing_required_home_fields_are_named_before_sending(
    address: dict[str, Any], change: dict[str, Any], missing: str
) -> None:
    """A home without a field the guide requires is refused, naming the field."""
    home = m.to_home(HOME)
    broken = Home.model_validate(
        {**home.model_dump(), **change, "address": {**home.address.model_dump(), **address}}
    )
    with pytest.raises(UnsupportedValue, match=f"requires {missing} on a home"):
        m.from_home(broken)


@pytest.mark.parametrize(
    ("details_keys", "expected"),
    [
        (None, None),
        ({}, None),
        ({"Lot": "Lot"}, {"Lot": "4"}),
        ({"Lot": "LotNumber"}, {"LotNumber": "4"}),
        ({"Lot": "Lot", "price": "Price"}, {"Lot": "4", "Price": 400000}),
        ({"Elevation": "Elevation"}, None),
        (
            {"bedrooms": "Bedrooms", "bathrooms": "Bathrooms", "square_feet": "SquareFeet"},
            {"Bedrooms": 3, "Bathrooms": 2.5, "SquareFeet": 1800},
        ),
        ({"bedrooms": "Beds", "Lot": "Lot"}, {"Beds": 3, "Lot": "4"}),
    ],
)
def test_home_details_carry_only_configured_keys(
    details_keys: dict[str, str] | None, expected: dict[str, Any] | None
) -> None:
    """homeDetails holds only the configured keys (renamed); a floor plan's price and other
    unconfigured details never leave, and size fields go only when listed."""
    home = Home.model_validate(
        {
            **m.to_home(HOME).model_dump(),
            "details": {"Lot": "4", "development_key": "d", "price": 400000},
            "bedrooms": 3,
            "bathrooms": 2.5,
            "square_feet": 1800,
        }
    )
    assert m.from_home(home, details_keys=details_keys).get("homeDetails") == expected


def test_unreadable_counts_go_as_the_source_wrote_them() -> None:
    """A bedroom or bathroom count kept raw (not a number) is sent as written when listed."""
    home = Home(
        key="H-2",
        address=m.to_home(HOME).address,
        neighborhood_key="NH-1",
        bedrooms_raw="3 + den",
        bathrooms=2.0,
    )
    keys = {"bedrooms": "Bedrooms", "bathrooms": "Bathrooms", "square_feet": "SquareFeet"}
    assert m.from_home(home, details_keys=keys)["homeDetails"] == {
        "Bedrooms": "3 + den",
        "Bathrooms": 2.0,
    }


def test_unit_number_is_address_line_2() -> None:
    """A unit (address line 2) goes to addressLine2."""
    home = Home(
        key="H-2",
        address=Address(
            line1="1 Oak St", line2="Unit 4B", city="Austin", state="TX", postal_code="78701"
        ),
        neighborhood_key="NH-1",
    )
    assert m.from_home(home)["addressLine2"] == "Unit 4B"


def test_homeowners_keep_prefix_suffix_and_default_home() -> None:
    """prefix, suffix and defaultHome survive both ways (defaultHome on the homeowner role)."""
    payload = {
        "email": "ada@example.com",
        "prefix": "Dr.",
        "firstName": "Ada",
        "middleName": "B",
        "lastName": "Lee",
        "suffix": "Jr.",
        "homeownerType": "SECONDARY",
        "defaultHome": False,
    }
    person = m.to_homeowner({**payload, "fullName": "Dr. Ada B Lee Jr."}, "H-1")
    assert (person.prefix, person.suffix, person.roles[0].default_home) == ("Dr.", "Jr.", False)
    assert m.from_homeowner(person, "H-1") == payload
    bare = {"email": "bo@example.com", "firstName": "Bo", "lastName": "Lee"}
    assert m.from_homeowner(m.to_homeowner(bare, "H-1")) == bare


def test_regions_cannot_be_written() -> None:
    """Regions are activated by Builder Backed staff."""
    with pytest.raises(UnsupportedValue):
        m.from_location(Location(key="r", kind="region", name="R"))


homeowners = st.builds(
    lambda first, last, email, rank, prefix, suffix, default: Person(
        key=m.homeowner_key("H-1", email),
        prefix=prefix,
        first_name=first,
        last_name=last,
        suffix=suffix,
        emails=[email],
        roles=[
            PersonRole(kind="homeowner", home_key="H-1", homeowner_type=rank, default_home=default)
        ],
    ),
    names,
    names,
    emails,
    st.sampled_from(["primary", "secondary", "other"]),
    st.none() | st.sampled_from(["Mr.", "Ms.", "Dr."]),
    st.none() | st.sampled_from(["Jr.", "Sr.", "III"]),
    st.none() | st.booleans(),
)
homes = st.builds(
    lambda address, home_type, model, market, closing, details, owners: Home(
        key="H-1",
        address=address,
        home_type=home_type,
        model=model,
        market_home=market,
        closing_date=closing,
        details=details,
        neighborhood_key="NH-1",
        homeowners=owners,
    ),
    addresses,
    st.sampled_from([HomeType.SINGLE_FAMILY, HomeType.MULTI_FAMILY]),
    st.none() | words,
    st.booleans(),
    st.none() | st.dates(date(2000, 1, 1), date(2040, 1, 1)),
    st.dictionaries(st.sampled_from(["Lot", "Block"]), words, max_size=2),
    st.lists(homeowners, max_size=2, unique_by=lambda p: p.emails[0]),
)


@given(homes)
def test_home_round_trip_keeps_what_builder_backed_holds(home: Home) -> None:
    """canonical -> Builder Backed -> canonical keeps every field the vendor can hold."""
    details_keys = {"Lot": "Lot", "Block": "Block"}
    assert m.to_home(m.from_home(home, details_keys=details_keys)) == home


@given(st.sampled_from([LocationKind.MASTER_COMMUNITY, LocationKind.NEIGHBORHOOD]), words, words)
def test_location_round_trip(kind: LocationKind, name: str, display: str) -> None:
    """Locations survive the round trip with their parent."""
    location = Location(key="L1", kind=kind, name=name, display_name=display, parent_key="P1")
    assert m.to_location(m.from_location(location), kind) == location
