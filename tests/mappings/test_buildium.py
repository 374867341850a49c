"""Buildium mappings: table-driven payload cases, nulls, unknown enums and round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import MappingError, UnsupportedValue
from hub.models import Address, Home, HomeType, Location, Person, Phone
from mappings import buildium as m
from tests.mappings.strategies import addresses, emails, names, words

ADDRESS = {
    "AddressLine1": "1 Main St",
    "AddressLine2": "Apt 2",
    "City": "Austin",
    "State": "TX",
    "PostalCode": "78701",
    "Country": "UnitedStates",
}
UNIT = {
    "Id": 12,
    "AssociationId": 3,
    "AssociationName": "Oak HOA",
    "UnitNumber": "101",
    "Address": ADDRESS,
    "UnitBedrooms": "ThreeBed",
    "UnitBathrooms": "TwoPointFiveBath",
    "UnitSize": 1500,
}
OWNER = {
    "Id": 5,
    "FirstName": "Ada",
    "LastName": "Lee",
    "Email": "ada@example.com",
    "AlternateEmail": "ada2@example.com",
    "PhoneNumbers": [
        {"Number": "512-555-0100", "Type": "Cell"},
        {"Number": "512-555-0101", "Type": "Fax"},
    ],
    "PrimaryAddress": ADDRESS,
    "Comment": "note",
    "OwnershipAccounts": [{"Id": 1, "AssociationId": 3, "UnitId": 12}],
}


def test_association_unit_maps_every_field() -> None:
    """A unit keeps its number, rooms, size and association."""
    home = m.to_association_unit(UNIT)
    assert (home.key, home.neighborhood_key, home.name) == (
        "buildium:association-unit:12",
        "buildium:association:3",
        "101",
    )
    assert (home.bedrooms, home.bathrooms, home.square_feet) == (3, 2.5, 1500)
    assert home.address == Address(
        line1="1 Main St", line2="Apt 2", city="Austin", state="TX", postal_code="78701"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"UnitBedrooms": None, "UnitBathrooms": None, "UnitSize": None},
            {"bedrooms": None, "bathrooms": None, "square_feet": None},
        ),
        ({"UnitBedrooms": "TenBed"}, {"bedrooms": None}),
        (
            {"UnitBedrooms": "Studio", "UnitBathrooms": "FivePlusBath"},
            {"bedrooms": 0, "bathrooms": 5.5},
        ),
        ({"UnitNumber": None}, {"name": None}),
    ],
)
def test_nulls_and_unknown_enums(change: dict[str, Any], expected: dict[str, Any]) -> None:
    """Explicit nulls and unknown enum values map without crashing."""
    home = m.to_association_unit({**UNIT, **change})
    assert {k: getattr(home, k) for k in expected} == expected


@pytest.mark.parametrize(
    "payload",
    [
        {**UNIT, "Id": None},
        {**UNIT, "Address": None},
        {**UNIT, "Address": {**ADDRESS, "State": "ZZ"}},
    ],
)
def test_malformed_units_are_mapping_errors(payload: dict[str, Any]) -> None:
    """A unit without id or address, or with a bad state, raises MappingError."""
    with pytest.raises(MappingError):
        m.to_association_unit(payload)


def test_owner_maps_roles_phones_and_emails() -> None:
    """An association owner is a homeowner and association owner of each unit."""
    person = m.to_association_owner(OWNER)
    assert person.emails == ["ada@example.com", "ada2@example.com"]
    assert person.phones == [
        Phone(number="512-555-0100", kind="mobile"),
        Phone(number="512-555-0101", kind="fax"),
    ]
    assert {(r.kind, r.home_key) for r in person.roles} == {
        ("association_owner", "buildium:association-unit:12"),
        ("homeowner", "buildium:association-unit:12"),
    }
    assert person.full_name == "Ada Lee" and person.notes == "note"


@pytest.mark.parametrize(
    ("status", "homes"),
    [
        ("Active", {"buildium:association-unit:12"}),
        (None, {"buildium:association-unit:12"}),
        ("Past", set()),  # sold: no longer its homeowner
        ("Future", set()),  # not bought yet
    ],
)
def test_an_owner_is_a_homeowner_of_the_units_it_owns_now(
    status: str | None, homes: set[str]
) -> None:
    accounts = [{**account, "Status": status} for account in OWNER["OwnershipAccounts"]]
    person = m.to_association_owner({**OWNER, "OwnershipAccounts": accounts})
    assert {r.home_key for r in person.roles} == homes


def test_a_tenant_is_a_tenant_of_its_current_leases_only() -> None:
    leases = [
        {"Id": 1, "UnitId": 100003, "LeaseStatus": "Past"},
        {"Id": 2, "UnitId": 100004, "LeaseStatus": "Active"},
        {"Id": 3, "UnitId": 100005, "LeaseStatus": "Future"},
    ]
    tenant = m.to_tenant({"Id": 4, "FirstName": "T", "LastName": "U", "Leases": leases})
    assert [r.home_key for r in tenant.roles] == ["buildium:rental-unit:100004"]


@pytest.mark.parametrize(
    ("subtype", "expected", "raw"),
    [
        ("SingleFamily", HomeType.SINGLE_FAMILY, None),
        ("CondoTownhome", HomeType.CONDO_TOWNHOME, None),
        ("Office", HomeType.OTHER, "Office"),
        (None, HomeType.OTHER, None),
    ],
)
def test_rental_sub_types(subtype: str | None, expected: HomeType, raw: str | None) -> None:
    """Rental sub types translate through one table; the rest are other with the raw value."""
    home = m.to_rental({"Id": 100000, "Name": "Elm", "Address": ADDRESS, "RentalSubType": subtype})
    assert (home.home_type, home.home_type_raw) == (expected, raw)


def test_tenants_and_rental_owners_link_to_their_homes() -> None:
    """Tenants link through leases, rental owners through their properties."""
    tenant = m.to_tenant(
        {"Id": 4, "FirstName": "T", "LastName": "U", "Leases": [{"Id": 9, "UnitId": 100003}]}
    )
    assert tenant.roles[0].home_key == "buildium:rental-unit:100003"
    owner = m.to_rental_owner(
        {"Id": 2, "IsCompany": True, "CompanyName": "RO LLC", "PropertyIds": [100000, 100001]}
    )
    assert owner.is_company and owner.full_name == "RO LLC" and len(owner.roles) == 2


@pytest.mark.parametrize(
    ("bathrooms", "sent"),
    [
        (2.5, "TwoPointFiveBath"),
        (5.0, "FiveBath"),
        (5.5, "FivePlusBath"),
        (7.0, "FivePlusBath"),  # past five: the enum's last value
        (2.25, None),  # no value for it: left out, Buildium's own kept
        (0.5, None),
    ],
)
def test_bathrooms_go_out_as_the_enums_value_or_not_at_all(
    bathrooms: float, sent: str | None
) -> None:
    home = m.to_association_unit(UNIT).model_copy(update={"bathrooms": bathrooms})
    assert m.from_association_unit(home, 1).get("UnitBathrooms") == sent
    current = {**UNIT, "UnitBathrooms": "ThreeBath"}
    assert m.unit_put(current, home)["UnitBathrooms"] == (sent or "ThreeBath")


def test_writes_use_the_spec_messages() -> None:
    """Post bodies carry the spec's required fields; owners never get a welcome email."""
    hood = Location(key="k", kind="neighborhood", name="Oak", address=m.to_address(ADDRESS))
    body = m.from_association(hood, 1)
    assert set(body) >= {"Name", "Address", "OperatingBankAccountId"}
    current = {"Id": 3, "Name": "Old", "FiscalYearEndDay": 30, "FiscalYearEndMonth": 6}
    put = m.association_put({**current, "Address": ADDRESS, "OperatingBankAccountId": 2}, hood)
    assert (put["FiscalYearEndDay"], put["FiscalYearEndMonth"]) == (30, 6)
    assert put["OperatingBankAccountId"] == 2 and put["Name"] == "Oak"
    owner = m.from_association_owner(m.to_association_owner(OWNER), 12)
    assert owner["SendWelcomeEmail"] is False and owner["OwnershipAccountId"] == 12
    assert owner["PhoneNumbers"] == {"Mobile": "512-555-0100", "Fax": "512-555-0101"}


units = st.builds(
    lambda address, number, beds, baths, size: Home(
        key="buildium:association-unit:1",
        name=number,
        address=address,
        home_type=HomeType.CONDO_TOWNHOME,
        bedrooms=beds,
        bathrooms=baths,
        square_feet=size,
        neighborhood_key="buildium:association:3",
    ),
    addresses,
    words,
    st.none() | st.integers(0, 9),
    st.none() | st.sampled_from([b for b in m.BATHROOMS.values() if b is not None]),
    st.none() | st.integers(1, 20000),
)


@given(units)
def test_unit_round_trip(home: Home) -> None:
    """canonical -> Buildium -> canonical keeps every field a unit can hold."""
    body = {**m.from_association_unit(home, 3), "Id": 1}
    assert m.to_association_unit(body) == home


owners = st.builds(
    lambda first, last, email, address: Person(
        key="buildium:association-owner:1",
        first_name=first,
        last_name=last,
        emails=[email],
        address=address,
        roles=[],
    ),
    names,
    names,
    emails,
    addresses,
)


@given(owners)
def test_owner_round_trip(person: Person) -> None:
    """Names, email and address survive canonical -> Buildium -> canonical."""
    body = {**m.from_association_owner(person, None), "Id": 1}
    body["PrimaryAddress"] = body["PrimaryAddress"]
    assert m.to_association_owner(body) == person


@pytest.mark.parametrize(
    ("state", "country", "expected_state", "expected_country", "raw"),
    [
        ("TX", "UnitedStates", "TX", "US", None),
        ("Texas", "UnitedStates", "TX", "US", None),
        ("  new   york ", "UnitedStates", "NY", "US", None),
        ("british columbia", "Canada", "BC", "CA", None),
        ("Ontario", "Canada", "ON", "CA", None),
        ("Bavaria", "Germany", "BAVARIA", "ZZ", "Germany"),
        (None, None, None, "US", None),
    ],
)
def test_states_by_name_and_unknown_countries(
    state: str | None,
    country: str | None,
    expected_state: str | None,
    expected_country: str,
    raw: str | None,
) -> None:
    """A state or province by name maps to its code; an unknown country is kept raw."""
    payload = {"AddressLine1": "1 Main St", "City": "X", "State": state, "Country": country}
    address = m.to_address(payload)
    assert address is not None
    assert (address.state, address.country, address.country_raw) == (
        expected_state,
        expected_country,
        raw,
    )
    if raw is not None:  # and it goes back to Buildium as it came
        assert m.from_address(address)["Country"] == raw


def test_an_unknown_country_code_is_refused_not_made_american() -> None:
    """A canonical country Buildium's mapping does not know is an error, not UnitedStates."""
    with pytest.raises(UnsupportedValue):
        m.from_address(Address(line1="1 Rue", city="Paris", country="FR"))


def test_unknown_bedroom_and_bathroom_values_are_kept_raw() -> None:
    """Enum values outside the tables survive as raw text beside a None number."""
    home = m.to_association_unit({**UNIT, "UnitBedrooms": "TenBed", "UnitBathrooms": "Spa"})
    assert (home.bedrooms, home.bedrooms_raw) == (None, "TenBed")
    assert (home.bathrooms, home.bathrooms_raw) == (None, "Spa")
    known = m.to_association_unit(UNIT)
    assert known.bedrooms_raw is None and known.bathrooms_raw is None


FULL_OWNER = {
    **OWNER,
    "PrimaryAddress": ADDRESS,
    "AlternateAddress": {**ADDRESS, "AddressLine1": "9 Elm St"},
    "EmergencyContact": {
        "Name": "Bo",
        "RelationshipDescription": "Son",
        "Phone": "1",
        "Email": "b@x.io",
    },
    "MailingPreference": "AlternateAddress",
    "TaxId": "123-45-6789",
    "Comment": "Keep",
    "PhoneNumbers": [{"Number": "512-555-0100", "Type": "Cell"}, {"Number": "5", "Type": "Office"}],
}


@pytest.mark.parametrize(
    ("resource", "current", "field"),
    [
        (
            "association-owner",
            {**FULL_OWNER, "PhoneNumbers": [{"Number": "1", "Type": "Personal"}]},
            "PhoneNumbers",
        ),
        (
            "association-owner",
            {
                **FULL_OWNER,
                "PhoneNumbers": [{"Number": "1", "Type": "Cell"}, {"Number": "2", "Type": "Cell"}],
            },
            "PhoneNumbers",
        ),
        (
            "association-owner",
            {**FULL_OWNER, "EmergencyContact": {"Name": "x", "Pager": "1"}},
            "EmergencyContact.Pager",
        ),
        (
            "association",
            {"Id": 1, "AssociationManager": {"FirstName": "No id"}},
            "PropertyManagerId",
        ),
        ("rental-owner", {"Id": 1, "IsCompany": False, "PropertyIds": [1]}, "DateOfBirth"),
    ],
)
def test_an_update_that_would_erase_a_field_is_refused_naming_it(
    resource: str, current: dict[str, Any], field: str
) -> None:
    """A PUT field the GET message cannot fill refuses the update; the error names it."""
    with pytest.raises(UnsupportedValue, match=field.replace(".", r"\.")):
        m.put_from_get(resource, current)


def test_owner_update_keeps_every_field_the_hub_does_not_own() -> None:
    """Only names, primary address, emails, phones by kind and notes change."""
    person = m.to_association_owner({**FULL_OWNER, "FirstName": "Ada B."})
    put = m.owner_put(FULL_OWNER, person)
    assert put["FirstName"] == "Ada B."
    for kept in ("AlternateAddress", "EmergencyContact", "MailingPreference", "TaxId", "Comment"):
        assert put[kept] == m.put_from_get("association-owner", FULL_OWNER)[kept]
    assert put["PhoneNumbers"] == {"Mobile": "512-555-0100", "Work": "5"}


def test_unit_update_keeps_facts_the_source_lacks() -> None:
    """Size, bedrooms and bathrooms stay as Buildium holds them when the source has none."""
    bare = Home(key="k", name="101", address=m.to_address(ADDRESS))  # type: ignore[arg-type]
    put = m.unit_put(UNIT, bare)
    assert (put["UnitSize"], put["UnitBedrooms"], put["UnitBathrooms"]) == (
        1500,
        "ThreeBed",
        "TwoPointFiveBath",
    )


@pytest.mark.parametrize(
    ("candidate", "wanted", "matches"),
    [
        ("jo@x.com", "jo@x.com", True),
        ("JO@X.com ", "jo@x.com", True),
        ("ajo@x.com", "jo@x.com", False),
        ("jo@x.com.au", "jo@x.com", False),
        (None, "jo@x.com", False),
        ("", "", False),
    ],
)
def test_email_matches_exactly(candidate: str | None, wanted: str, matches: bool) -> None:
    """Case and surrounding space aside, only the same address matches."""
    assert m.email_matches({"Email": candidate}, wanted) is matches


@pytest.mark.parametrize(
    ("candidate", "wanted", "matches"),
    [
        ("Oak HOA", "Oak HOA", True),
        ("  Oak   HOA ", "Oak HOA", True),
        ("Oak HOA II", "Oak HOA", False),
        ("oak hoa", "Oak HOA", False),
        (None, "Oak HOA", False),
    ],
)
def test_names_match_after_trimming_only(candidate: str | None, wanted: str, matches: bool) -> None:
    """Names compare after trimming; a longer name or another case is another record."""
    assert m.name_matches(candidate, wanted) is matches


@pytest.mark.parametrize(
    ("mapper", "payload", "named"),
    [
        (m.to_association, {"Id": 3, "Name": "x", "Address": "nowhere"}, "association 3: Address"),
        (m.to_association_unit, {"Id": 1, "Address": ["1 A St"]}, "association-unit 1: Address"),
        (
            m.to_association_owner,
            {"Id": 4, "FirstName": "A", "PhoneNumbers": ["5"]},
            "association-owner 4: PhoneNumbers",
        ),
        (
            m.to_association_owner,
            {"Id": 5, "FirstName": "A", "OwnershipAccounts": "x"},
            "association-owner 5: OwnershipAccounts",
        ),
        (m.to_tenant, {"Id": 6, "FirstName": "T", "Leases": [1]}, "tenant 6: Leases"),
        (
            m.to_association_owner,
            {"Id": 7, "FirstName": "A", "PrimaryAddress": 12},
            "association-owner 7: PrimaryAddress",
        ),
    ],
)
def test_a_field_of_the_wrong_shape_is_named(
    mapper: Any, payload: dict[str, Any], named: str
) -> None:
    """A malformed record's error names the record and the field, not a Python attribute."""
    with pytest.raises(MappingError) as caught:
        mapper(payload)
    assert str(caught.value).startswith(named) and "attribute" not in str(caught.value)
