"""Propertybase GO mappings: table-driven payload cases and round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import MappingError
from hub.models import Address, Location, Person, Phone
from mappings import propertybase as m
from tests.mappings.strategies import addresses, emails, names, words

ADDRESS = {"street": "1 Main St", "city": "Austin", "state": "TX", "zip": "78701", "country": "US"}


@pytest.mark.parametrize(
    ("mapper", "payload", "expected"),
    [
        (
            m.to_office,
            {"id": 1, "name": "Austin", "email": "a@example.com", "address": ADDRESS},
            {"key": "propertybase:office:1", "kind": "office", "name": "Austin"},
        ),
        (
            m.to_team,
            {"id": 2, "name": "Team A", "team_office_id": 1, "active": False},
            {"key": "propertybase:team:2", "parent_key": "propertybase:office:1", "active": False},
        ),
        (
            m.to_agent,
            {
                "id": 3,
                "first_name": "A",
                "last_name": "B",
                "email": "ab@example.com",
                "office_id": 1,
                "phone": "512-555-0100",
            },
            {"key": "propertybase:agent:3", "phones": [Phone(number="512-555-0100", kind="work")]},
        ),
        (
            m.to_lead,
            {"id": 4, "first_name": "L", "last_name": None, "email": None},
            {"key": "propertybase:lead:4", "emails": [], "last_name": ""},
        ),
        (
            m.to_development,
            {"id": 5, "name": "Estates", "status": "selling"},
            {"key": "propertybase:development:5", "kind": "master_community", "address": None},
        ),
    ],
)
def test_payloads_map(mapper: Any, payload: dict[str, Any], expected: dict[str, Any]) -> None:
    """Each resource maps to its canonical record (nulls accepted)."""
    record = mapper(payload)
    assert {k: getattr(record, k) for k in expected} == expected


def test_agent_role_links_office() -> None:
    """Agents and employees are linked to their office."""
    agent = m.to_agent({"id": 3, "first_name": "A", "last_name": "B", "office_id": 9})
    assert agent.roles[0].organization_key == "propertybase:office:9"


def test_development_address_is_its_first_nested_address() -> None:
    """A development's address comes from its nested addresses, not from its own body."""
    second = {**ADDRESS, "street": "2 Side St"}
    location = m.to_development({"id": 5, "name": "Estates"}, [ADDRESS, second])
    assert location.address is not None and location.address.line1 == "1 Main St"
    inline = m.to_development({"id": 5, "name": "Estates", "addresses": [ADDRESS]})
    assert inline.address is None


def test_development_body_leaves_address_to_the_nested_resource() -> None:
    """A development body carries name and description only; never addresses or plans."""
    location = m.to_development({"id": 5, "name": "Estates", "description": "New"}, [ADDRESS])
    assert m.from_development(location) == {"name": "Estates", "description": "New"}
    assert m.from_address(location.address) == ADDRESS  # type: ignore[arg-type]


def test_floor_plans_are_home_models() -> None:
    """A development's nested floor plans become homes named by their model."""
    plan = {
        "id": 1,
        "name": "The Preston",
        "bedrooms": 3,
        "bathrooms": 2.5,
        "square_feet": 1800,
        "price": 400000,
    }
    plans = m.to_floor_plans({"id": 5, "name": "Estates"}, [ADDRESS], [plan])
    assert plans[0].model == "The Preston" and plans[0].details["price"] == 400000
    assert (plans[0].bedrooms, plans[0].bathrooms, plans[0].square_feet) == (3, 2.5, 1800)
    assert m.to_floor_plans({"id": 6, "name": "No address"}, [], []) == []
    with pytest.raises(MappingError, match="1 floor plan"):  # never dropped without a word
        m.to_floor_plans({"id": 6, "name": "No address"}, [], [plan])
    with pytest.raises(MappingError, match="floor plan 1"):
        m.to_floor_plans({"id": 5, "name": "E"}, [ADDRESS], [{**plan, "bedrooms": -1}])


@pytest.mark.parametrize(
    ("found", "wanted", "matches"),
    [
        ("ann@example.com", "ann@example.com", True),
        ("Ann@Example.COM", "ann@example.com", True),
        (" ann@example.com ", "ann@example.com", True),
        ("joann@example.com", "ann@example.com", False),
        ("ann@example.com.au", "ann@example.com", False),
        ("ann+x@example.com", "ann@example.com", False),
        (None, "ann@example.com", False),
        ("", "ann@example.com", False),
    ],
)
def test_lead_matches_exactly(found: str | None, wanted: str, matches: bool) -> None:
    """A lead matches an email only as a whole, ignoring case and surrounding blanks."""
    assert m.lead_matches({"id": 1, "email": found}, wanted) is matches


@pytest.mark.parametrize(
    ("found", "wanted", "matches"),
    [
        ("Oak Estates", "Oak Estates", True),
        ("  Oak Estates ", "Oak Estates", True),
        ("Oak Estates", " Oak Estates", True),
        ("oak estates", "Oak Estates", False),
        ("Oak Estates II", "Oak Estates", False),
        ("Royal Oak Estates", "Oak Estates", False),
        ("Oak  Estates", "Oak Estates", False),
        (None, "Oak Estates", False),
    ],
)
def test_development_matches_exactly(found: str | None, wanted: str, matches: bool) -> None:
    """A development matches a name only when equal once trimmed (case counts)."""
    assert m.development_matches({"id": 1, "name": found}, wanted) is matches


@pytest.mark.parametrize(
    "payload", [{"id": "x"}, {"id": 1, "email": "bad", "first_name": "A"}, {"id": 2}]
)
def test_malformed_leads_are_mapping_errors(payload: dict[str, Any]) -> None:
    """A lead with a bad id, a bad email or no name raises MappingError."""
    with pytest.raises(MappingError):
        m.to_lead(payload)


def test_lead_body_carries_flags_and_needs_an_email() -> None:
    """Creation flags ride along; a lead without email cannot be written."""
    person = Person(key="p", first_name="A", last_name="B", emails=["ab@example.com"])
    body = m.from_lead(person, {"dont_send_email": True})
    assert body["dont_send_email"] is True and body["email"] == "ab@example.com"
    with pytest.raises(MappingError):
        m.from_lead(Person(key="p", first_name="A"))


leads = st.builds(
    lambda first, last, email, address, notes: Person(
        key="propertybase:lead:1",
        first_name=first,
        last_name=last,
        emails=[email],
        address=address,
        notes=notes,
        roles=[{"kind": "lead"}],
    ),
    names,
    names,
    emails,
    st.none() | addresses,
    st.none() | words,
)


@given(leads)
def test_lead_round_trip(person: Person) -> None:
    """canonical -> Propertybase -> canonical keeps every field a lead can hold."""
    assert m.to_lead({**m.from_lead(person), "id": 1}) == person


@given(words, st.none() | words, addresses)
def test_development_round_trip(name: str, description: str | None, address: Any) -> None:
    """Master communities survive the round trip through developments."""
    location = Location(
        key="propertybase:development:1",
        kind="master_community",
        name=name,
        description=description,
        address=address,
    )
    nested = [m.from_address(address)]
    assert m.to_development({**m.from_development(location), "id": 1}, nested) == location


@pytest.mark.parametrize(
    ("address", "sent"),
    [
        (
            Address(line1="1 Main St", line2="Apt 2", city="Austin", state="TX"),
            {"street": "1 Main St, Apt 2", "city": "Austin", "state": "TX", "country": "US"},
        ),
        (
            Address(line1="1 Main St", city="Austin", country="ZZ", country_raw="Nowhereland"),
            {"street": "1 Main St", "city": "Austin", "country": "Nowhereland"},
        ),
        (
            Address(line1="1 Main St", city="Austin", country="ZZ"),
            {"street": "1 Main St", "city": "Austin"},
        ),
    ],
)
def test_an_address_goes_out_whole(address: Address, sent: dict[str, Any]) -> None:
    """Every street line (an apartment number is not lost), and a country the hub has no
    code for as its source named it, never "ZZ"."""
    assert m.from_address(address) == sent
