"""Buildium: the sandbox against the official OpenAPI document, and the connector against it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from connectors.buildium import BuildiumConnector, BuildiumSandbox, BuildiumSettings
from hub import errors
from hub.client.retry import RetryPolicy
from hub.connector import ReadEnd, ReadFailure, SourceRecord, WriteAction
from hub.models import Address, Home, HomeType, Location, LocationKind, Person, PersonRole
from hub.sandbox.options import SandboxOptions
from tests.conftest import Sleeps
from tests.connectors.buildium_openapi import SHARED_SPEC, SPEC_PATH, validate_all
from tests.connectors.conftest import RecordingBuildium

ADDRESS = {
    "AddressLine1": "1 Main St",
    "City": "Austin",
    "State": "TX",
    "PostalCode": "78701",
    "Country": "UnitedStates",
}


@pytest.fixture
async def box() -> AsyncIterator[RecordingBuildium]:
    """A small recording Buildium sandbox."""
    async with RecordingBuildium(SandboxOptions(size=45, seed=5)) as running:
        yield running


@pytest.fixture
async def api(box: RecordingBuildium) -> AsyncIterator[aiohttp.ClientSession]:
    """A raw client with the sandbox's credentials."""
    headers = {
        "x-buildium-client-id": box.credentials["client_id"],
        "x-buildium-client-secret": box.credentials["client_secret"],
    }
    async with aiohttp.ClientSession(base_url=box.base_url, headers=headers) as session:
        yield session


async def call(
    api: aiohttp.ClientSession, method: str, path: str, **kw: Any
) -> tuple[int, Any, Any]:
    async with api.request(method, path, **kw) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


def connector(
    box: BuildiumSandbox, sleeps: Sleeps | None = None, **overrides: Any
) -> BuildiumConnector:
    settings = BuildiumSettings.model_validate({**box.connector_table(), **overrides})
    return BuildiumConnector(settings, name="hoa", sleep=sleeps, retry=RetryPolicy(max_attempts=3))


# -- the sandbox, validated against the document -----------------------------------------------

LISTS = [
    "/v1/associations",
    "/v1/associations/units",
    "/v1/associations/owners",
    "/v1/rentals",
    "/v1/rentals/units",
    "/v1/rentals/owners",
    "/v1/leases/tenants",
]
GETS = [
    "/v1/associations/1",
    "/v1/associations/units/2",
    "/v1/associations/owners/3",
    "/v1/rentals/100000",
    "/v1/rentals/units/100001",
    "/v1/rentals/owners/1",
    "/v1/leases/tenants/4",
]


async def test_every_read_operation_validates(
    box: RecordingBuildium, api: aiohttp.ClientSession
) -> None:
    """Each list (with X-Total-Count) and get answers as the document says."""
    for path in LISTS:
        status, body, headers = await call(api, "GET", path, params={"limit": 10})
        assert status == 200 and isinstance(body, list) and int(headers["X-Total-Count"]) > 0
    for path in GETS:
        status, body, _ = await call(api, "GET", path)
        assert status == 200 and body["Id"] == int(path.rsplit("/", 1)[1])
    assert validate_all(box.exchanges) == len(LISTS) + len(GETS)


WRITES = [
    (
        "POST",
        "/v1/associations",
        {"Name": "Oak HOA", "Address": ADDRESS, "OperatingBankAccountId": 1},
        201,
    ),
    (
        "PUT",
        "/v1/associations/1",
        {
            "Name": "Oak HOA 2",
            "Address": ADDRESS,
            "OperatingBankAccountId": 1,
            "FiscalYearEndDay": 31,
            "FiscalYearEndMonth": 12,
        },
        200,
    ),
    (
        "POST",
        "/v1/associations/units",
        {"AssociationId": 1, "UnitNumber": "9", "Address": ADDRESS, "UnitBedrooms": "TwoBed"},
        201,
    ),
    ("PUT", "/v1/associations/units/1", {"UnitNumber": "9A", "Address": ADDRESS}, 200),
    (
        "POST",
        "/v1/associations/owners",
        {
            "FirstName": "A",
            "LastName": "B",
            "PrimaryAddress": ADDRESS,
            "IsOwnerOccupied": True,
            "OwnershipAccountId": 200_002,
            "SendWelcomeEmail": False,
        },
        201,
    ),
    (
        "PUT",
        "/v1/associations/owners/2",
        {"FirstName": "A", "LastName": "C", "PrimaryAddress": ADDRESS},
        200,
    ),
    (
        "POST",
        "/v1/rentals",
        {
            "Name": "Elm Apts",
            "Address": ADDRESS,
            "OperatingBankAccountId": 2,
            "RentalSubType": "MultiFamily",
        },
        201,
    ),
    (
        "PUT",
        "/v1/rentals/100000",
        {
            "Name": "Elm Apts 2",
            "Address": ADDRESS,
            "OperatingBankAccountId": 2,
            "RentalSubType": "MultiFamily",
        },
        200,
    ),
    (
        "POST",
        "/v1/rentals/units",
        {"PropertyId": 100000, "UnitNumber": "21", "Address": ADDRESS},
        201,
    ),
    ("PUT", "/v1/rentals/units/100001", {"UnitNumber": "21B", "Address": ADDRESS}, 200),
    (
        "POST",
        "/v1/rentals/owners",
        {
            "IsCompany": False,
            "FirstName": "R",
            "LastName": "O",
            "Address": ADDRESS,
            "PropertyIds": [100000],
        },
        201,
    ),
    (
        "PUT",
        "/v1/rentals/owners/1",
        {"IsCompany": True, "CompanyName": "RO LLC", "Address": ADDRESS, "PropertyIds": [100000]},
        200,
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES]
)
async def test_every_write_operation_validates(
    box: RecordingBuildium,
    api: aiohttp.ClientSession,
    method: str,
    path: str,
    body: dict[str, Any],
    expected: int,
) -> None:
    """Creates answer 201 and updates 200, both shaped as the document says."""
    status, answer, _ = await call(api, method, path, json=body)
    assert status == expected, answer
    validate_all(box.exchanges)


# (method, path, request options, status, whether the request itself breaks the document)
ERRORS = [
    ("GET", "/v1/associations", {"params": {"limit": "0"}}, 400, False),
    ("GET", "/v1/associations/units", {"params": {"limit": "1001"}}, 400, False),
    ("GET", "/v1/associations/owners", {"params": {"lastupdatedfrom": "yesterday"}}, 400, True),
    ("GET", "/v1/associations/999999", {}, 404, False),
    ("GET", "/v1/rentals/units/5", {}, 404, False),
    (
        "POST",
        "/v1/associations",
        {"data": "Name=x", "headers": {"Content-Type": "text/plain"}},
        415,
        True,
    ),
    ("POST", "/v1/associations", {"json": {"Name": "x"}}, 422, True),
    (
        "POST",
        "/v1/associations/units",
        {
            "json": {
                "AssociationId": 1,
                "UnitNumber": "1",
                "Address": ADDRESS,
                "UnitBedrooms": "TenBed",
            }
        },
        422,
        True,
    ),
    ("PUT", "/v1/associations/owners/1", {"json": {"FirstName": "A"}}, 422, True),
    (
        "POST",
        "/v1/associations/units",
        {"json": {"AssociationId": 999, "UnitNumber": "1", "Address": ADDRESS}},
        404,
        False,
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "kw", "expected", "invalid"),
    ERRORS,
    ids=[f"{e[0]} {e[1]} {e[3]}" for e in ERRORS],
)
async def test_error_cases_validate(
    box: RecordingBuildium,
    api: aiohttp.ClientSession,
    method: str,
    path: str,
    kw: dict[str, Any],
    expected: int,
    invalid: bool,
) -> None:
    """Bad parameters, unknown ids, wrong content type and invalid input answer as documented."""
    status, body, _ = await call(api, method, path, **kw)
    assert status == expected
    assert set(body) == {"UserMessage", "ErrorCode", "Errors"}
    if expected == 422:
        assert body["Errors"] and all({"Key", "Value"} == set(e) for e in body["Errors"])
    validate_all(box.exchanges, invalid_request=invalid)


async def test_missing_or_wrong_credentials_are_401(box: RecordingBuildium) -> None:
    """Both headers are required and must match."""
    async with aiohttp.ClientSession(base_url=box.base_url) as session:
        for headers in (
            {},
            {"x-buildium-client-id": box.credentials["client_id"]},
            {
                "x-buildium-client-id": box.credentials["client_id"],
                "x-buildium-client-secret": "wrong",
            },
        ):
            async with session.get("/v1/associations", headers=headers) as resp:
                assert resp.status == 401
                assert (await resp.json())["ErrorCode"] == "Unauthorized"
    # No header at all breaks the document's security; one header satisfies it (the document
    # lists the two schemes as alternatives), yet Buildium needs both, as the sandbox does.
    validate_all(box.exchanges[:1], invalid_request=True)
    validate_all(box.exchanges[1:])


async def test_paging_filters_and_incremental(
    box: RecordingBuildium, api: aiohttp.ClientSession
) -> None:
    """offset/limit page in id order; associationids and lastupdatedfrom filter."""
    _, first, headers = await call(
        api, "GET", "/v1/associations/units", params={"offset": "40", "limit": "10"}
    )
    assert [u["Id"] for u in first] == [41, 42, 43, 44, 45] and headers["X-Total-Count"] == "45"
    _, units, headers = await call(
        api, "GET", "/v1/associations/units", params={"associationids": "2"}
    )
    assert {u["AssociationId"] for u in units} == {2} and headers["X-Total-Count"] == "20"
    since = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    box.collections["association-units"].put(7, box.collections["association-units"].get(7) or {})
    _, changed, headers = await call(
        api, "GET", "/v1/associations/units", params={"lastupdatedfrom": since}
    )
    assert [u["Id"] for u in changed] == [7] and headers["X-Total-Count"] == "1"
    _, desc, _ = await call(api, "GET", "/v1/associations", params={"orderby": "id desc"})
    assert [a["Id"] for a in desc] == [3, 2, 1]
    validate_all(box.exchanges)


async def test_a_million_records_cost_no_memory() -> None:
    """A sandbox of a million units starts at once and serves a deep page from derived data."""
    async with BuildiumSandbox(SandboxOptions(size=1_000_000)) as big:
        headers = {
            "x-buildium-client-id": big.credentials["client_id"],
            "x-buildium-client-secret": big.credentials["client_secret"],
        }
        query = {"offset": "999000", "limit": "1000"}
        async with (
            aiohttp.ClientSession(base_url=big.base_url, headers=headers) as session,
            session.get("/v1/associations/units", params=query) as resp,
        ):
            units = await resp.json()
            assert resp.headers["X-Total-Count"] == "1000000"
        assert len(units) == 1000 and units[-1]["Id"] == 1_000_000
        assert all(not c.changed for c in big.collections.values())


# -- the connector -----------------------------------------------------------------------------


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


async def test_truncated_reads_are_retried(box: RecordingBuildium, sleeps: Sleeps) -> None:
    """A page cut short is fetched again and the read completes."""
    box.faults.update({"truncate_rate": 1.0})
    async with connector(box, sleeps) as hoa:
        reader = hoa.read("location")
        box.faults.update({"truncate_rate": 0.0})
        items = [i async for i in reader if not isinstance(i, ReadEnd)]
    assert len(items) == 3


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


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="no vendor references beside the checkout")
def test_the_contract_copy_is_buildiums_document() -> None:
    """The OpenAPI document the tests validate against is the vendor reference, unchanged."""
    assert SPEC_PATH.read_bytes() == SHARED_SPEC.read_bytes()
