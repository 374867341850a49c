"""Buildium read strictly: every update is read-modify-write, every look-up exact, and a first
sync onto an account that already holds the records matches them instead of copying them.

Records are generated from the official OpenAPI document's GET messages with every field set,
so what Buildium holds and the hub does not manage is all there to be lost; the sandbox applies
PUT as the document says (an omitted field is gone) and filters by substring.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.buildium import BuildiumConnector, BuildiumSettings
from connectors.buildium.sandbox_data import MANAGERS
from connectors.buildium.sandbox_messages import MESSAGES, REPLACED_BY_PUT
from hub import errors
from hub.client.paging import OffsetLimit
from hub.client.retry import RetryPolicy
from hub.config import FlowSettings
from hub.connector import WriteAction
from hub.models import Address, Home, Location, LocationKind, Person, PersonRole, RoleKind
from hub.sandbox.options import SandboxOptions
from hub.state import StateStore
from hub.sync import run_flow
from hub.testing import FakeConnector
from mappings import buildium as m
from tests.connectors.buildium_openapi import spec, validate_all
from tests.connectors.conftest import RecordingBuildium

ADDRESS = Address(line1="77 New Rd", city="Austin", state="TX", postal_code="78702")
#: the GET message, the sandbox collection, the hub's resource name and the fields it owns
RESOURCES = {
    "association": ("AssociationMessage", "associations", {"Name", "Address"}),
    "association-unit": ("AssociationUnitMessage", "association-units", {"UnitNumber", "Address"}),
    "association-owner": (
        "AssociationOwnerMessage",
        "association-owners",
        {"FirstName", "LastName", "PrimaryAddress", "Email"},
    ),
}


@functools.cache
def _document() -> dict[str, Any]:
    import json

    path = Path(__file__).resolve().parent / "buildium-openapi.json"
    return json.loads(path.read_text())


def _schema(name: str) -> dict[str, Any]:
    return _document()["components"]["schemas"][name]  # type: ignore[no-any-return]


def _ref(prop: dict[str, Any]) -> str | None:
    ref = prop.get("$ref") or next((a["$ref"] for a in prop.get("allOf", []) if "$ref" in a), None)
    return ref.split("/")[-1] if ref else None


def _values(schema_name: str, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Every field of a message set, each to a value the document allows."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for name, prop in _schema(schema_name).get("properties", {}).items():
        fields[name] = _value(schema_name, name, prop, depth)
    return st.fixed_dictionaries(fields)


def _value(owner: str, name: str, prop: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if name == "Country":
        return st.just("UnitedStates")
    if name == "State":
        return st.sampled_from(["TX", "CA", "NY"])
    if name == "Type" and owner == "PhoneNumberMessage":
        return st.sampled_from(["Home", "Office", "Cell", "Fax"])
    if "enum" in prop:
        return st.sampled_from([v for v in prop["enum"] if v != "NotSet"] or prop["enum"])
    ref = _ref(prop)
    if ref is not None:
        return _values(ref, depth + 1)
    kind = prop.get("type")
    if kind == "array":
        item = prop["items"]
        inner = _ref(item)
        if inner == "PhoneNumberMessage":  # one number of each kind a PUT can hold
            return st.permutations(["Home", "Office", "Cell", "Fax"]).map(
                lambda kinds: [
                    {"Number": f"512-555-01{i}0", "Type": k} for i, k in enumerate(kinds)
                ]
            )
        if inner is not None:
            return st.lists(_values(inner, depth + 1), min_size=1, max_size=1)
        return st.lists(st.integers(1, 10**6), min_size=1, max_size=2)
    if kind == "integer":
        return st.integers(1, 5000)
    if kind == "number":
        return st.floats(0, 10**6, allow_nan=False).map(lambda x: round(x, 2))
    if kind == "boolean":
        return st.booleans()
    if prop.get("format") == "date":
        return st.dates().map(lambda d: d.isoformat())
    if prop.get("format") == "date-time":
        return st.just("2024-05-01T10:00:00Z")
    return st.text("abcdefghij XYZ-", min_size=1, max_size=12).map(str.strip).filter(bool)


def full_record(resource: str) -> st.SearchStrategy[dict[str, Any]]:
    """A record of the resource as Buildium's GET message has it, every field set."""
    message = RESOURCES[resource][0]
    base = _values(message)
    if resource == "association":
        # A PUT names a manager by id: one the account has
        return base.map(
            lambda r: {
                **r,
                "AssociationManager": MANAGERS[7],
                "OperatingBankAccountId": 1,
                "OperatingBankAccount": "Operating",  # Buildium names the account by its id
            }
        )
    if resource == "association-unit":
        return base.map(lambda r: {**r, "AssociationId": 1})
    return base.map(lambda r: {**r, "Email": "owner@example.com"})


def hub_version(resource: str, record_id: int) -> Any:
    """A canonical record the hub writes over it: only hub-owned fields differ."""
    if resource == "association":
        return Location(key="k", kind=LocationKind.NEIGHBORHOOD, name="New Name", address=ADDRESS)
    if resource == "association-unit":
        return Home(key="k", name="U-9", address=ADDRESS, neighborhood_key="buildium:association:1")
    return Person(
        key="k",
        first_name="New",
        last_name="Owner",
        emails=["new.owner@example.com"],
        address=ADDRESS,
        roles=[PersonRole(kind=RoleKind.ASSOCIATION_OWNER, home_key="buildium:association-unit:1")],
    )


@pytest.mark.parametrize("resource", list(RESOURCES))
async def test_an_update_changes_only_hub_owned_fields(resource: str) -> None:
    """Property: for records with every GET field set, a hub update leaves every field the hub
    does not own exactly as it was (byte for byte), and every exchange validates."""
    spec()  # loaded before hypothesis times anything
    message, collection, owned = RESOURCES[resource]
    entity = {"association": "location", "association-unit": "home"}.get(resource, "person")

    async with RecordingBuildium(SandboxOptions(size=20, seed=3)) as box:
        settings_ = BuildiumSettings.model_validate(box.connector_table())
        async with BuildiumConnector(settings_, name="hoa") as hoa:

            @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
            @given(full_record(resource))
            def check(record: dict[str, Any]) -> None:
                before = {**record, "Id": 1}
                box.collections[collection].put(1, before)
                future = asyncio.run_coroutine_threadsafe(
                    hoa.write(entity, hub_version(resource, 1), "1"), loop
                )
                result = future.result(30)
                assert result.action is WriteAction.UPDATED
                after = box.collections[collection].get(1) or {}
                for field in _schema(message)["properties"]:
                    if field in owned or field == "AssociationName":
                        continue
                    if field == "PhoneNumbers":  # held by kind: their order is Buildium's
                        assert _by_number(after[field]) == _by_number(before[field])
                        continue
                    assert after.get(field) == before.get(field), field

            loop = asyncio.get_running_loop()
            # hypothesis drives its examples synchronously: from a worker thread, each
            # write is sent on this loop, which stays free to serve the sandbox
            await asyncio.to_thread(check)
        validate_all(box.exchanges)


def _by_number(phones: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted((p["Number"], p["Type"]) for p in phones)


@pytest.mark.parametrize(
    ("collection", "message"),
    [
        ("associations", "AssociationMessage"),
        ("association-units", "AssociationUnitMessage"),
        ("association-owners", "AssociationOwnerMessage"),
        ("rental-owners", "RentalOwnerMessage"),
    ],
)
async def test_seeded_records_carry_every_field_of_their_get_message(
    collection: str, message: str
) -> None:
    """What Buildium holds and the hub does not manage is there to be lost in every record
    the hub may update, so the tests would see it go."""
    async with RecordingBuildium(SandboxOptions(size=20, seed=3)) as box:
        record = box.collections[collection].get(1) or {}
    assert set(_schema(message)["properties"]) <= set(record)


def test_the_sandbox_knows_the_documents_request_messages() -> None:
    """The fields the sandbox accepts per request are exactly the document's messages."""
    document = _document()
    paths = {
        "associations": ("/v1/associations", "{associationId}"),
        "association-units": ("/v1/associations/units", "{unitId}"),
        "association-owners": ("/v1/associations/owners", "{ownerId}"),
        "rental-owners": ("/v1/rentals/owners", "{rentalOwnerId}"),
        "ownership-accounts": ("/v1/associations/ownershipaccounts", "{ownershipAccountId}"),
    }
    for (collection, method), fields in MESSAGES.items():
        path, var = paths[collection]
        operation = document["paths"][path if method == "POST" else f"{path}/{var}"]
        body = next(iter(operation[method.lower()]["requestBody"]["content"].values()))["schema"]
        name = _ref(body)
        assert name is not None
        assert set(fields) == set(_schema(name)["properties"]), (collection, method)
        if method == "PUT":  # and what a PUT replaces is what its message can say
            assert set(REPLACED_BY_PUT.get(collection, ())) - {
                "AssociationManager",
                "OperatingBankAccount",
            } <= set(fields)


# -- the sandbox takes the strictest reading ------------------------------------------------------


@pytest.fixture
async def box() -> AsyncIterator[RecordingBuildium]:
    async with RecordingBuildium(SandboxOptions(size=40, seed=11)) as running:
        yield running


def connector(box: RecordingBuildium) -> BuildiumConnector:
    table = box.connector_table()
    return BuildiumConnector(
        BuildiumSettings.model_validate(table), name="hoa", retry=RetryPolicy(max_attempts=2)
    )


async def test_a_put_nulls_what_it_omits(box: RecordingBuildium) -> None:
    """The sandbox applies a PUT as a full replacement, as the document says it is."""
    import aiohttp

    headers = {
        "x-buildium-client-id": box.credentials["client_id"],
        "x-buildium-client-secret": box.credentials["client_secret"],
    }
    before = box.collections["associations"].get(1) or {}
    assert before.get("YearBuilt") and before.get("Reserve")
    body = {
        "Name": "Bare",
        "Address": before["Address"],
        "OperatingBankAccountId": 1,
        "FiscalYearEndDay": 31,
        "FiscalYearEndMonth": 12,
    }
    async with aiohttp.ClientSession(base_url=box.base_url, headers=headers) as api:
        async with api.put("/v1/associations/1", json=body) as resp:
            assert resp.status == 200
        async with api.put("/v1/associations/1", json={**body, "Colour": "red"}) as resp:
            assert resp.status == 422  # a field the message does not define
    after = box.collections["associations"].get(1) or {}
    assert "YearBuilt" not in after and "Reserve" not in after and "AssociationManager" not in after


async def test_association_and_owner_filters_match_by_substring(box: RecordingBuildium) -> None:
    """``email`` and ``name`` keep records that contain the value, as documented."""
    owners = box.collections["association-owners"]
    owners.put(2, {**(owners.get(2) or {}), "Email": "ajo@x.com"})
    owners.put(3, {**(owners.get(3) or {}), "Email": "jo@x.com"})
    async with connector(box) as hoa:
        pages = [
            p
            async for p in hoa.client.paginate(
                "/v1/associations/owners",
                OffsetLimit(limit=100),
                params={"email": "jo@x.com"},
            )
        ]
    assert sorted(r["Id"] for p in pages for r in p) == [2, 3]


# -- look-ups never settle on a record that merely resembles the wanted one ----------------------


def owner(email: str) -> Person:
    return Person(
        key="crm:1",
        first_name="Jo",
        last_name="Park",
        emails=[email],
        address=ADDRESS,
        roles=[PersonRole(kind=RoleKind.ASSOCIATION_OWNER, home_key="buildium:association-unit:5")],
    )


@pytest.mark.parametrize(
    ("decoys", "wanted", "expected"),
    [
        ({2: "ajo@x.com", 3: "jo@x.com.au"}, "jo@x.com", None),  # contain it: no match
        ({2: "ajo@x.com", 3: " JO@X.com"}, "jo@x.com", "3/200003"),  # its id and account
        ({2: "jo@x.com", 3: "Jo@X.com"}, "jo@x.com", "ambiguous"),  # two exact: no guess
    ],
)
async def test_owner_lookup_by_email_is_exact(
    box: RecordingBuildium, decoys: dict[int, str], wanted: str, expected: str | None
) -> None:
    """Decoys that contain the email never match; two exact matches are an ambiguity."""
    owners = box.collections["association-owners"]
    for record_id, email in decoys.items():
        owners.put(record_id, {**(owners.get(record_id) or {}), "Email": email})
    async with connector(box) as hoa:
        if expected == "ambiguous":
            with pytest.raises(errors.AmbiguousMatch) as caught:
                await hoa.lookup("person", owner(wanted))
            assert set(caught.value.candidates) == {"2", "3"}
            return
        assert await hoa.lookup("person", owner(wanted)) == expected
    validate_all(box.exchanges)


async def test_association_and_unit_lookups_are_exact(box: RecordingBuildium) -> None:
    """An association by its trimmed name, a unit by its association and exact number."""
    associations = box.collections["associations"]
    name = (associations.get(1) or {})["Name"]
    associations.put(2, {**(associations.get(2) or {}), "Name": f"{name} II"})
    hood = Location(key="k", kind=LocationKind.NEIGHBORHOOD, name=f"  {name} ", address=ADDRESS)
    units = box.collections["association-units"]
    units.put(2, {**(units.get(2) or {}), "AssociationId": 1, "UnitNumber": "1010"})
    unit = Home(
        key="k",
        name=(units.get(1) or {})["UnitNumber"],
        address=ADDRESS,
        neighborhood_key="buildium:association:1",
    )
    decoy = Home(key="k", name="101", address=ADDRESS, neighborhood_key="buildium:association:1")
    async with connector(box) as hoa:
        assert await hoa.lookup("location", hood) == "1"
        assert await hoa.lookup("home", unit) == "1"
        assert await hoa.lookup("home", decoy) is None
        associations.put(3, {**(associations.get(1) or {}), "Id": 3, "Name": name})
        with pytest.raises(errors.AmbiguousMatch):
            await hoa.lookup("location", hood)


# -- a first sync onto an account that already holds the records --------------------------------


async def test_first_sync_matches_existing_associations(
    box: RecordingBuildium, tmp_path: Path
) -> None:
    """Ten associations the account already holds are matched and updated, never copied;
    a dry run says how many would be matched, created and left ambiguous."""
    existing = [box.collections["associations"].get(i) or {} for i in (1, 2)]
    source = FakeConnector(name="crm")
    for i, record in enumerate(existing):
        address = m.to_address(record["Address"])
        source.put(
            "location",
            Location(key=f"crm:{i}", kind="neighborhood", name=record["Name"], address=address),
        )
    source.put(
        "location",
        Location(key="crm:new", kind="neighborhood", name="Brand New HOA", address=ADDRESS),
    )
    flow = FlowSettings(name="crm-to-hoa", source="crm", target="hoa", entity="location")
    held = len(list(box.collections["associations"].ids()))
    async with StateStore.open(f"sqlite:///{tmp_path / 's.db'}") as store, connector(box) as hoa:
        planned = await run_flow(flow, source, hoa, store, dry_run=True)
        assert (planned.matched, planned.created, planned.ambiguous) == (2, 1, 0)
        report = await run_flow(flow, source, hoa, store)
        again = await run_flow(flow, source, hoa, store)
    assert report.matched == 2 and report.created == 1 and report.failed == 0
    assert len(list(box.collections["associations"].ids())) == held + 1
    assert again.created == 0 and again.updated == 0
    kept = box.collections["associations"].get(1) or {}
    assert kept.get("YearBuilt") == existing[0].get("YearBuilt")  # matched, and nothing erased
    validate_all(box.exchanges)


async def test_match_on_none_turns_matching_off_and_a_bad_key_is_a_config_error(
    box: RecordingBuildium, tmp_path: Path
) -> None:
    """``match_on`` picks the natural key per flow; one the target lacks is refused."""
    source = FakeConnector(name="crm")
    source.put("location", Location(key="crm:0", kind="neighborhood", name="X", address=ADDRESS))
    bad = FlowSettings(
        name="f", source="crm", target="hoa", entity="location", options={"match_on": ["email"]}
    )
    async with StateStore.open(f"sqlite:///{tmp_path / 's.db'}") as store, connector(box) as hoa:
        with pytest.raises(errors.ConfigError, match="match_on"):
            await run_flow(bad, source, hoa, store)


async def test_owners_join_their_units_real_ownership_account(box: RecordingBuildium) -> None:
    """A new owner is posted to the unit's ownership account (not the unit's id), owner
    occupied when their address is the unit's; a unit without an account is refused."""
    units = box.collections["association-units"]
    unit = units.get(5) or {}
    lives_there = owner("new@x.com").model_copy(
        update={"address": m.to_address(unit["Address"]), "emails": ["new@x.com"]}
    )
    away = owner("away@x.com")
    async with connector(box) as hoa:
        made = await hoa.write("person", lives_there, None)
        other = await hoa.write("person", away, None)
        box.collections["ownership-accounts"].delete(200_005)
        with pytest.raises(errors.UnsupportedValue, match="no active ownership account"):
            await hoa.write("person", owner("third@x.com"), None)
    owner_id, _, account_id = made.ref.partition("/")
    assert account_id == "200005"  # the cross-reference keeps the owner's account
    created = box.collections["association-owners"].get(int(owner_id)) or {}
    assert created["OwnershipAccounts"][0]["Id"] == 200_005
    assert created["OwnershipAccounts"][0]["UnitId"] == 5
    assert created["OccupiesUnit"] is True
    away_owner = box.collections["association-owners"].get(int(other.ref.partition("/")[0]))
    assert (away_owner or {})["OccupiesUnit"] is False
    async with connector(box) as hoa:  # found again by email: the same chain
        assert await hoa.lookup("person", lives_there) == made.ref
    validate_all(box.exchanges)
