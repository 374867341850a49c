"""The Buildium connector against the recording sandbox: reads, writes, look-ups, errors."""

from __future__ import annotations

import pytest

from hub import errors
from hub.connector import ReadEnd, ReadFailure, SourceRecord, WriteAction
from hub.models import Address, Home, HomeType, Location, LocationKind, Person, PersonRole
from hub.sandbox.options import SandboxOptions
from tests.conftest import Sleeps
from tests.connectors.buildium.helpers import connector
from tests.connectors.buildium_openapi import validate_all
from tests.connectors.conftest import RecordingBuildium


async def test_reads_every_entity_and_validates_its_requests(box: RecordingBuildium) -> None:
    """Locations, homes and people stream out as canonical records; every request validates."""
    async with connector(box, page_size=7) as hoa:
        await hoa.check()
        found = {
            entity: [i async for i in hoa.read(entity) if not isinstance(i, ReadEnd)]
            for entity in ("location", "home", "person")
        }
    assert len(found["location"]) == 3
    assert len(found["home"]) == 90  # 45 association units and 45 rental units
    assert len(found["person"]) == 45 + 3 + 45
    assert all(isinstance(i, SourceRecord) for items in found.values() for i in items)
    unit = found["home"][0].record
    assert isinstance(unit, Home) and unit.neighborhood_key == "buildium:association:1"
    assert unit.home_type is HomeType.CONDO_TOWNHOME
    owner = found["person"][0].record
    assert isinstance(owner, Person) and {r.kind for r in owner.roles} == {
        "association_owner",
        "homeowner",
    }
    assert validate_all(box.exchanges) > 20


async def test_writes_create_update_and_lookup(box: RecordingBuildium) -> None:
    """Associations, units and owners are created, left alone when equal, updated when not."""
    address = Address(line1="5 Elm St", city="Austin", state="TX", postal_code="78702")
    hood = Location(key="k1", kind=LocationKind.NEIGHBORHOOD, name="Elm HOA", address=address)
    async with connector(box) as hoa:
        made = await hoa.write("location", hood, None)
        same = await hoa.write("location", hood, made.ref)
        changed = await hoa.write(
            "location", hood.model_copy(update={"description": "d"}), made.ref
        )
        assert (made.action, same.action, changed.action) == (
            WriteAction.CREATED,
            WriteAction.UNCHANGED,
            WriteAction.UPDATED,
        )
        assert await hoa.lookup("location", hood) == made.ref
        home = Home(
            key="h",
            name="12",
            address=address,
            neighborhood_key=made.ref,
            bedrooms=3,
            bathrooms=2.5,
            square_feet=1500,
        )
        unit = await hoa.write("home", home, None)
        assert await hoa.lookup("home", home) == unit.ref
        # the unit is sold: Buildium opens its ownership account, which the owner joins
        box.collections["ownership-accounts"].create(
            lambda i: {
                "Id": i,
                "AssociationId": int(made.ref),
                "UnitId": int(unit.ref),
                "Status": "Active",
                "DateOfPurchase": "2024-01-01",
                "AssociationOwnerIds": [],
            }
        )
        person = Person(
            key="p",
            first_name="Ada",
            last_name="Lee",
            emails=["ada@example.com"],
            address=address,
            roles=[PersonRole(kind="homeowner", home_key=unit.ref)],
        )
        owner = await hoa.write("person", person, None)
        assert await hoa.lookup("person", person) == owner.ref
        renamed = await hoa.write(
            "person", person.model_copy(update={"last_name": "Li"}), owner.ref
        )
        assert renamed.action is WriteAction.UPDATED
    stored = box.collections["association-units"].get(int(unit.ref)) or {}
    assert stored["UnitBedrooms"] == "ThreeBed" and stored["UnitBathrooms"] == "TwoPointFiveBath"
    validate_all(box.exchanges)


async def test_a_unit_without_its_association_is_a_missing_parent(box: RecordingBuildium) -> None:
    """Writing a unit whose association is unknown raises MissingParent."""
    address = Address(line1="5 Elm St", city="Austin", state="TX", postal_code="78702")
    async with connector(box) as hoa:
        with pytest.raises(errors.MissingParent):
            await hoa.write(
                "home",
                Home(key="h", address=address, neighborhood_key="buildium:association:999"),
                None,
            )
        with pytest.raises(errors.MissingParent):
            await hoa.write("home", Home(key="h", address=address), None)


async def test_errors_are_typed_with_the_vendor_messages(
    box: RecordingBuildium, sleeps: Sleeps
) -> None:
    """401, 404 and 422 raise their classes; the secret never shows; 5xx is retried then fails."""
    async with connector(box, client_secret="not-the-secret") as bad:
        with pytest.raises(errors.AuthFailed) as caught:
            await bad.check()
    assert "not-the-secret" not in str(caught.value) and "HTTP 401" in str(caught.value)
    address = Address(line1="5 Elm St", city="Austin", state="TX", postal_code="78702")
    async with connector(box, sleeps) as hoa:
        with pytest.raises(errors.NotFound):
            await hoa.write(
                "location",
                Location(key="x", kind="neighborhood", name="N", address=address),
                "999999",
            )
        box.faults.update({"error_rate": 1.0})
        with pytest.raises(errors.Unavailable):
            await hoa.check()
    assert len(sleeps.delays) == 2


async def test_invalid_input_names_the_fields(box: RecordingBuildium) -> None:
    """A 422 becomes InvalidRecord carrying Buildium's field messages."""
    async with connector(box) as hoa:
        with pytest.raises(errors.InvalidRecord) as caught:
            await hoa.client.request("POST", "/v1/associations", json={"Name": "x"}, create=True)
    assert any(m.startswith("Address:") for m in caught.value.messages)
    assert any(m.startswith("OperatingBankAccountId:") for m in caught.value.messages)


async def test_nulls_unknown_enums_and_broken_records(box: RecordingBuildium) -> None:
    """Explicit nulls map, unknown enums fall back, an unmappable record is a ReadFailure."""
    units = box.collections["association-units"]
    units.put(
        1, {**(units.get(1) or {}), "UnitSize": None, "UnitBedrooms": None, "UnitNumber": None}
    )
    units.put(2, {**(units.get(2) or {}), "UnitBedrooms": "TenBed"})
    units.put(3, {"Id": 3, "AssociationId": 1, "UnitNumber": "x"})
    async with connector(box) as hoa:
        items = [
            i
            async for i in hoa.read("home", collections=["association-units"])
            if not isinstance(i, ReadEnd)
        ]
    first, second, third = items[:3]
    assert isinstance(first, SourceRecord) and isinstance(first.record, Home)
    assert first.record.bedrooms is None and first.record.square_feet is None
    assert isinstance(second, SourceRecord) and second.record.bedrooms is None  # type: ignore[union-attr]
    assert isinstance(third, ReadFailure) and "no address" in third.reason
    assert len(items) == 45


async def test_total_changing_mid_read_repeats_and_skips_nothing(box: RecordingBuildium) -> None:
    """Records deleted or added while paging neither repeat nor stall the read."""
    units = box.collections["association-units"]
    async with connector(box, page_size=10) as hoa:
        seen = []
        async for item in hoa.read("home", collections=["association-units"]):
            if isinstance(item, ReadEnd):
                continue
            seen.append(item.record.key)  # type: ignore[union-attr]
            if len(seen) == 5:
                units.delete(2)  # the next page starts one record later than planned
                units.create(lambda i: {**(units.get(1) or {}), "Id": i})
    assert len(seen) == len(set(seen))
    assert "buildium:association-unit:46" in seen


async def test_a_read_only_key_is_forbidden_to_write() -> None:
    """Writes with a key lacking write permission answer 403, as the document allows."""
    async with RecordingBuildium(SandboxOptions(size=5, extra={"read_only": True})) as box:
        async with connector(box) as hoa:
            address = Address(line1="5 Elm St", city="Austin", state="TX", postal_code="78702")
            with pytest.raises(errors.PermissionDenied):
                await hoa.write(
                    "location",
                    Location(key="x", kind="neighborhood", name="N", address=address),
                    None,
                )
            assert len([i async for i in hoa.read("location") if isinstance(i, SourceRecord)]) == 1
        assert box.by_status[403] == 1
        validate_all(box.exchanges)
