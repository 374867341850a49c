"""The connector never sends a message Buildium's document refuses, and finds a rental owner by
email whatever name Buildium holds for it."""

from __future__ import annotations

import pytest

from hub import errors
from hub.models import Address, Home, Location, LocationKind, Person, PersonRole, Phone
from tests.connectors.buildium.helpers import connector
from tests.connectors.buildium_openapi import validate_all
from tests.connectors.conftest import RecordingBuildium

ADDRESS = Address(line1="5 Elm St", city="Austin", state="TX", postal_code="78702")


def writes(box: RecordingBuildium) -> list[str]:
    """The POSTs and PUTs the sandbox served."""
    return [f"{e.method} {e.path_qs}" for e in box.exchanges if e.method in ("POST", "PUT")]


async def test_a_rental_owner_of_no_buildium_rental_is_a_missing_parent_unsent(
    box: RecordingBuildium,
) -> None:
    """Homes that are not Buildium rentals fail the record with the reason, and no
    ``PropertyIds: []`` goes out; the error parks the dead letter for a later run."""
    person = Person(
        key="p",
        first_name="Rae",
        last_name="Ola",
        address=ADDRESS,
        roles=[PersonRole(kind="rental_owner", home_key="other:homes:7")],
    )
    async with connector(box) as hoa:
        with pytest.raises(errors.MissingParent) as caught:
            await hoa.write("person", person, None)
    assert "rental property" in str(caught.value) and "p" in caught.value.messages
    assert caught.value.category == errors.PARKED
    assert writes(box) == []


async def test_a_phone_number_buildium_refuses_is_left_out_and_the_rest_written(
    box: RecordingBuildium,
) -> None:
    """A 3-character number is not sent; the person, and a valid number of the same kind
    after it, are."""
    person = Person(
        key="p",
        first_name="Rae",
        last_name="Ola",
        emails=["rae@example.com"],
        phones=[Phone(number="123", kind="mobile"), Phone(number="512-555-0199", kind="mobile")],
        address=ADDRESS,
        roles=[PersonRole(kind="rental_owner", home_key="buildium:rental:100000")],
    )
    async with connector(box) as hoa:
        made = await hoa.write("person", person, None)
    stored = box.collections["rental-owners"].get(int(made.ref)) or {}
    assert stored["PhoneNumbers"] == [{"Number": "512-555-0199", "Type": "Cell"}]
    assert stored["FirstName"] == "Rae"
    validate_all(box.exchanges)


async def test_a_unit_number_too_long_for_buildium_is_refused_unsent(
    box: RecordingBuildium,
) -> None:
    """A 45-character unit number fails the record with Buildium's rule, before any POST."""
    home = Home(key="h", name="U" * 45, address=ADDRESS, neighborhood_key="1")
    async with connector(box) as hoa:
        with pytest.raises(errors.UnsupportedValue) as caught:
            await hoa.write("home", home, None)
    assert any(m.startswith("UnitNumber:") for m in caught.value.messages)
    assert writes(box) == []


async def test_an_address_buildium_refuses_is_refused_unsent(box: RecordingBuildium) -> None:
    """A country Buildium's enum lacks, kept raw from another vendor, is not sent."""
    address = ADDRESS.model_copy(update={"country": "ZZ", "country_raw": "Nowhere", "state": None})
    hood = Location(key="k", kind=LocationKind.NEIGHBORHOOD, name="Elm", address=address)
    async with connector(box) as hoa:
        with pytest.raises(errors.UnsupportedValue) as caught:
            await hoa.write("location", hood, None)
    assert any(m.startswith("Address.Country:") for m in caught.value.messages)
    assert writes(box) == []


async def test_a_rental_owner_with_the_same_email_and_another_name_is_matched(
    box: RecordingBuildium,
) -> None:
    """Buildium's owner 3 has the hub person's email under another name: the look-up finds
    it, so the engine updates it rather than creating a duplicate."""
    owners = box.collections["rental-owners"]
    owners.put(3, {**(owners.get(3) or {}), "FirstName": "Robin", "LastName": "Hale-Smith"})
    email = (owners.get(3) or {})["Email"]
    person = Person(
        key="p",
        first_name="Rob",
        last_name="Smith",
        emails=[email],
        address=ADDRESS,
        roles=[PersonRole(kind="rental_owner", home_key="buildium:rental:100002")],
    )
    async with connector(box, page_size=10) as hoa:
        assert await hoa.lookup("person", person, by="email") == "3"
    assert writes(box) == []
    validate_all(box.exchanges)
