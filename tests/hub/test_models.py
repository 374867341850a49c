"""Canonical model validation, hashing, name splitting and JSON Schema export."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from hub.models import (
    ENTITIES,
    Address,
    Document,
    DocumentStorage,
    Home,
    HomeType,
    Location,
    LocationKind,
    Person,
    PersonRole,
    RoleKind,
    entity_of,
    json_schema,
    record_hash,
    serialised,
    split_full_name,
)

ADDRESS = {"line1": "1 Oak St", "city": "Austin", "state": "tx", "postal_code": "78701"}


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"state": "TX", "postal_code": "78701"}, True),
        ({"state": "tx", "postal_code": "78701-1234"}, True),
        ({"state": "XX"}, False),
        ({"postal_code": "7870"}, False),
        ({"postal_code": "78701-12"}, False),
        ({"country": "CA", "state": "ON", "postal_code": "K1A 0B1"}, True),
    ],
)
def test_address_validates_us_state_and_zip(fields: dict[str, str], ok: bool) -> None:
    """US addresses need a real state code and a ZIP or ZIP+4; other countries are free-form."""
    if ok:
        assert Address(line1="1 Oak St", city="Austin", **fields).country in {"US", "CA"}
    else:
        with pytest.raises(ValidationError):
            Address(line1="1 Oak St", city="Austin", **fields)


def test_address_upper_cases_state_and_defaults_country() -> None:
    """State codes are normalised to upper case and the country defaults to US."""
    address = Address(**ADDRESS)
    assert (address.state, address.country) == ("TX", "US")


def test_person_full_name_is_derived_from_parts() -> None:
    """The full name joins first, middle and last names and is serialised."""
    person = Person(key="p1", first_name="Ada", middle_name="B", last_name="Lovelace")
    assert person.full_name == "Ada B Lovelace"
    assert person.model_dump()["full_name"] == "Ada B Lovelace"


def test_company_person_uses_company_name() -> None:
    """A company without name parts is named by its company name."""
    person = Person(key="c1", company_name="Acme LLC", is_company=True)
    assert person.full_name == "Acme LLC"


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@b.com"])
def test_person_rejects_invalid_email(email: str) -> None:
    """Emails are validated."""
    with pytest.raises(ValidationError):
        Person(key="p", first_name="A", emails=[email])


def test_person_needs_a_name() -> None:
    """A person with no name at all is rejected."""
    with pytest.raises(ValidationError, match="needs a first name"):
        Person(key="p")


def test_unknown_fields_are_rejected() -> None:
    """Canonical records forbid unknown fields so typos are caught."""
    with pytest.raises(ValidationError):
        Home(key="h", address=Address(**ADDRESS), colour="red")  # type: ignore[call-arg]


def test_region_cannot_have_parent() -> None:
    """The top of the hierarchy has no parent."""
    with pytest.raises(ValidationError):
        Location(key="r", kind=LocationKind.REGION, name="West", parent_key="x")


def test_document_rules() -> None:
    """AWS documents need a bucket and the display window must be ordered."""
    base = {"key": "d", "home_key": "h", "category": "Warranty", "name": "W", "url": "u"}
    with pytest.raises(ValidationError, match="bucket"):
        Document(**base, storage=DocumentStorage.AWS)
    with pytest.raises(ValidationError, match="display_until"):
        Document(**base, display_from=date(2025, 2, 1), display_until=date(2025, 1, 1))


def test_record_hash_is_stable_and_content_sensitive() -> None:
    """Equal content hashes equally; any change alters the hash."""
    home = Home(key="h", address=Address(**ADDRESS), home_type=HomeType.CONDO_TOWNHOME)
    same = Home.model_validate(home.model_dump())
    assert record_hash(home) == record_hash(same)
    changed = home.model_copy(update={"model": "Preston"})
    assert record_hash(home) != record_hash(changed)


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("Mary Ann Smith", ("Mary Ann", "Smith")),
        ("Martin Luther King Jr.", ("Martin Luther", "King Jr.")),
        ("Cher", ("Cher", "")),
        ("  ", ("", "")),
    ],
)
def test_split_full_name(full: str, parts: tuple[str, str]) -> None:
    """Vendor full names split predictably: last word (with a suffix) is the last name."""
    assert split_full_name(full) == parts


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_every_entity_exports_a_json_schema(entity: str) -> None:
    """Each canonical entity has a JSON Schema with its key required."""
    schema = json_schema(entity)
    assert schema["type"] == "object"
    assert "key" in schema["required"]


def test_unknown_entity_names_the_known_ones() -> None:
    """Asking for an unknown entity lists the valid names."""
    with pytest.raises(KeyError, match="location"):
        entity_of("house")


def test_roles_link_people_to_homes() -> None:
    """A homeowner role carries the home key and rank."""
    role = PersonRole(kind=RoleKind.HOMEOWNER, home_key="h1", homeowner_type="primary")
    person = Person(key="p", first_name="A", roles=[role])
    assert person.roles[0].homeowner_type == "primary"


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_serialised_records_validate_again(entity: str) -> None:
    """What a record serialises to (derived fields included) validates back to it."""
    samples = {
        "location": Location(key="l", kind="neighborhood", name="N", parent_key="m"),
        "home": Home(
            key="h",
            address=Address(**ADDRESS),
            homeowners=[Person(key="p", first_name="A", last_name="B", emails=["a@example.com"])],
        ),
        "person": Person(key="p", first_name="A", last_name="B"),
        "document": Document(key="d", home_key="h", category="W", name="W", url="u"),
        "organization": entity_of("organization")(key="o", kind="office", name="O"),
    }
    record = samples[entity]
    assert type(record).model_validate(record.model_dump(mode="json")) == record
    assert type(record).model_validate_json(record.model_dump_json()) == record
    # The snapshot's one serialisation gives the JSON and the hash a write compares with.
    body, digest = serialised(record)
    assert body == record.model_dump_json()
    assert digest == record_hash(record)
