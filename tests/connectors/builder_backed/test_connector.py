"""The Builder Backed connector against the sandbox: reads, upserts, errors, scopes, updates."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from connectors.builder_backed import BuilderBackedSandbox
from hub import errors
from hub.connector import ReadEnd, ReadFailure, SourceRecord, WriteAction
from hub.models import (
    Address,
    Document,
    Home,
    HomeType,
    Location,
    LocationKind,
    Person,
    PersonRole,
)
from hub.sandbox.options import SandboxOptions
from tests.conftest import Sleeps
from tests.connectors.builder_backed.helpers import ADDRESS, HOOD, connector, stored_home


async def test_reads_every_entity(box: BuilderBackedSandbox) -> None:
    """Regions, locations, homes with homeowners, people and documents stream out."""
    async with connector(box, page_size=7) as warranty:
        await warranty.check()
        locations = [i async for i in warranty.read("location") if not isinstance(i, ReadEnd)]
        homes = [i async for i in warranty.read("home") if not isinstance(i, ReadEnd)]
        people = [i async for i in warranty.read("person") if not isinstance(i, ReadEnd)]
    assert all(isinstance(i, SourceRecord) for i in [*locations, *homes, *people])
    kinds = [i.record.kind for i in locations]  # type: ignore[union-attr]
    assert kinds.count(LocationKind.REGION) == 4 and kinds.count(LocationKind.NEIGHBORHOOD) == 2
    assert len(homes) == 30 and len(people) == 45
    home = homes[0].record
    assert isinstance(home, Home) and home.neighborhood_key == "bb-nh-000001"
    assert home.homeowners and home.homeowners[0].roles[0].home_key == home.key


async def test_writes_upsert_and_never_duplicate(box: BuilderBackedSandbox) -> None:
    """A create meeting 409 compares, then updates only when different."""
    address = Address(line1="9 Elm St", city="Austin", state="TX", postal_code="78701")
    division = Location(key="div", kind="division", name="Div", parent_name="Carolinas")
    community = Location(key="mc", kind="master_community", name="MC", parent_key="div")
    hood = Location(key="nh", kind="neighborhood", name="NH", parent_key="mc")
    owner = Person(
        key="p",
        first_name="Ada",
        last_name="Lee",
        emails=["ada@example.com"],
        roles=[PersonRole(kind="homeowner", home_key="home", homeowner_type="primary")],
    )
    home = Home(
        key="home",
        address=address,
        neighborhood_key="nh",
        model="Preston",
        closing_date=date(2025, 3, 1),
        details={"Lot": "4"},
        homeowners=[owner],
    )
    async with connector(box, details_keys=["Lot"]) as warranty:
        for record in (division, community, hood):
            assert (await warranty.write("location", record, None)).action is WriteAction.CREATED
        again = await warranty.write("location", hood, None)
        assert again.action is WriteAction.UNCHANGED
        renamed = await warranty.write("location", hood.model_copy(update={"name": "NH2"}), None)
        assert renamed.action is WriteAction.UPDATED
        assert (await warranty.write("home", home, None)).action is WriteAction.CREATED
        assert (await warranty.write("home", home, None)).action is WriteAction.UNCHANGED
        changed = home.model_copy(update={"model": "Laurel"})
        assert (await warranty.write("home", changed, "home")).action is WriteAction.UPDATED
        second = owner.model_copy(update={"key": "p2", "emails": ["bo@example.com"]})
        assert (await warranty.write("person", second, None)).action is WriteAction.CREATED
        assert (await warranty.write("person", second, None)).action is WriteAction.UNCHANGED
        assert await warranty.lookup("person", second) == "home/bo@example.com"
        assert await warranty.lookup("home", home) == "home"
    stored = box.collections["homes"]
    record = stored.get(box.created_ids["homes"]["home"]) or {}
    assert record["model"] == "Laurel" and len(record["homeowners"]) == 2
    assert record["homeDetails"] == {"Lot": "4"}


async def test_errors(box: BuilderBackedSandbox, sleeps: Sleeps) -> None:
    """Missing parents, values the vendor cannot hold, bad secrets and 5xx are typed errors."""
    address = Address(line1="9 Elm St", city="Austin", state="TX", postal_code="78701")
    async with connector(box, sleeps) as warranty:
        with pytest.raises(errors.MissingParent, match="Neighborhood with external ID 'zz'"):
            await warranty.write(
                "home", Home(key="x", address=address, neighborhood_key="zz"), None
            )
        condo = Home(
            key="c",
            address=address,
            neighborhood_key="bb-nh-000001",
            home_type=HomeType.CONDO_TOWNHOME,
        )
        with pytest.raises(errors.UnsupportedValue, match="condo_townhome"):
            await warranty.write("home", condo, None)
        with pytest.raises(errors.UnsupportedValue, match="regions"):
            await warranty.write("location", Location(key="r", kind="region", name="R"), None)
        box.faults.update({"error_rate": 1.0})
        with pytest.raises(errors.Unavailable):
            await warranty.check()
    async with connector(box, client_secret="bad-secret-value") as bad:
        box.faults.update({"error_rate": 0.0})
        with pytest.raises(errors.AuthFailed) as caught:
            await bad.check()
    assert "bad-secret-value" not in str(caught.value)
    async with connector(box, home_type_fallback="Multi Family") as warranty:
        assert (await warranty.write("home", condo, None)).action is WriteAction.CREATED


async def test_expired_token_mid_read_is_refreshed(box: BuilderBackedSandbox) -> None:
    """A token that expires between pages is replaced once and the read completes."""
    now = [0.0]
    box.clock = lambda: now[0]
    async with connector(box, page_size=10) as warranty:
        homes = []
        async for item in warranty.read("home"):
            if isinstance(item, ReadEnd):
                continue
            homes.append(item)
            if len(homes) == 10:
                box.tokens.clear()  # every issued token is now unknown: 401 on the next page
    assert len(homes) == 30 and warranty.auth.tokens_issued == 2


async def test_missing_scope_is_permission_denied(box: BuilderBackedSandbox) -> None:
    """A token without location.write cannot read locations: PermissionDenied naming it."""
    async with connector(box, scopes=["home.write"]) as warranty:
        with pytest.raises(errors.PermissionDenied, match=r"location\.write"):
            await warranty.check()


async def test_scopes_are_requested_per_need(box: BuilderBackedSandbox) -> None:
    """Locations, homes and documents are called with tokens carrying only their own scope."""
    doc = Document(
        key="d",
        home_key="bb-home-000001",
        category="Warranty",
        name="W",
        url="https://files.example.com/w.pdf",
    )
    async with connector(box) as warranty:
        await warranty.check()
        assert [i async for i in warranty.read("home") if not isinstance(i, ReadEnd)]
        await warranty.write("document", doc, None)
    granted = sorted(sorted(scopes) for scopes, _ in box.tokens.values())
    assert granted == [["document.write"], ["home.write"], ["location.write"]]


async def test_prepare_writes_fetches_the_entitys_token_ahead(box: BuilderBackedSandbox) -> None:
    """The token a flow's writes need is fetched before the first write, with that scope
    alone, and the write then uses it instead of asking again."""
    async with connector(box) as warranty:
        await warranty.prepare_writes("home")
        assert warranty.auth.tokens_issued == 1
        assert [grant[0] for grant in box.tokens.values()] == [frozenset({"home.write"})]
        home = Home(
            key="ahead",
            address=Address(line1="1 Elm St", city="Austin", state="TX", postal_code="78701"),
            neighborhood_key="bb-nh-000001",
        )
        assert (await warranty.write("home", home, None)).action is WriteAction.CREATED
        assert warranty.auth.tokens_issued == 1
        await warranty.prepare_writes("region-of-the-moon")  # nothing it writes: no request
        assert warranty.auth.tokens_issued == 1


async def test_prepare_writes_leaves_faults_to_the_first_write(box: BuilderBackedSandbox) -> None:
    """An unreachable token endpoint is left for the first write to meet and report; refused
    credentials are an AuthFailed (the engine only logs it)."""
    async with connector(box, token_url="http://127.0.0.1:9/oauth2/token") as unreachable:
        await unreachable.prepare_writes("home")
        assert unreachable.auth.tokens_issued == 0
    async with connector(box, client_secret="bad-secret-value") as refused:
        with pytest.raises(errors.AuthFailed):
            await refused.prepare_writes("location")


async def test_check_fails_with_the_guides_message_without_regions() -> None:
    """A working token on an account with no activated region is the guide's failure."""
    async with BuilderBackedSandbox(SandboxOptions(size=1, extra={"regions": []})) as empty:
        async with connector(empty) as warranty:
            with pytest.raises(errors.PermanentError, match="No regions found!"):
                await warranty.check()
        assert empty.by_status[200] == 2  # the token and the (empty) regions: both worked


@pytest.mark.parametrize(
    ("address", "missing"),
    [
        ({"state": None}, "'state'"),
        ({"postal_code": None}, "'postalCode'"),
        ({"state": None, "postal_code": None}, "'state', 'postalCode'"),
    ],
)
async def test_a_home_without_required_fields_is_refused_before_sending(
    box: BuilderBackedSandbox, address: dict[str, Any], missing: str
) -> None:
    """The guide's required home fields are checked first: the error names the field and
    Builder Backed never sees the home."""
    home = Home(
        key="h-9",
        address=Address.model_validate({**ADDRESS.model_dump(), **address}),
        neighborhood_key=HOOD,
    )
    async with connector(box) as warranty:
        with pytest.raises(errors.UnsupportedValue, match=f"requires {missing}"):
            await warranty.write("home", home, None)
    assert not [p for p in box.by_path if p.startswith("POST /api/v2/homes")]


async def test_home_details_only_configured_keys_and_the_unit_and_size_are_carried() -> None:
    """homeDetails holds the configured keys only (renamed), with bedrooms, bathrooms and
    size when listed; a floor plan's price never reaches the builder's account; the unit is
    addressLine2."""
    allowed = ["Lot", "Bedrooms", "Bathrooms", "SquareFeet", "Price"]
    options = SandboxOptions(size=5, extra={"allowed_home_details": allowed})
    home = Home(
        key="h-9",
        address=ADDRESS.model_copy(update={"line2": "Unit 4B"}),
        neighborhood_key=HOOD,
        bedrooms=3,
        bathrooms=2.5,
        square_feet=1800,
        details={"Lot": "4", "price": 400000, "development_key": "propertybase:development:1"},
    )
    keys = {"Lot": "Lot", "bedrooms": "Bedrooms", "bathrooms": "Bathrooms"}
    async with BuilderBackedSandbox(options) as box:
        async with connector(box, details_keys={**keys, "square_feet": "SquareFeet"}) as w:
            assert (await w.write("home", home, None)).action is WriteAction.CREATED
        stored = stored_home(box, "h-9")
    assert stored["addressLine2"] == "Unit 4B"
    assert stored["homeDetails"] == {
        "Lot": "4",
        "Bedrooms": 3,
        "Bathrooms": 2.5,
        "SquareFeet": 1800,
    }


async def test_updates_keep_what_the_hub_does_not_manage(box: BuilderBackedSandbox) -> None:
    """A PUT may replace the whole record, so an update resends the vendor's homeowners,
    its other homeDetails keys and the location fields the hub leaves out."""
    ext = "bb-home-000003"
    before = stored_home(box, ext)
    assert before["homeowners"] and before["homeDetails"] == {"Lot": "4", "Block": "4"}
    async with connector(box, details_keys={"Lot": "Lot"}) as warranty:
        ours = [
            i.record
            async for i in warranty.read("home")
            if not isinstance(i, ReadEnd) and i.source_id == ext
        ]  # type: ignore[union-attr]
        assert isinstance(ours[0], Home)
        changed = Home.model_validate(
            {**ours[0].model_dump(), "model": "Aspen", "details": {"Lot": "5"}, "homeowners": []}
        )
        assert (await warranty.write("home", changed, ext)).action is WriteAction.UPDATED
        hood = Location(key=HOOD, kind="neighborhood", name="Renamed", parent_key="bb-mc-000001")
        assert (await warranty.write("location", hood, HOOD)).action is WriteAction.UPDATED
    after = stored_home(box, ext)
    assert after["model"] == "Aspen" and after["homeowners"] == before["homeowners"]
    assert after["homeDetails"] == {"Lot": "5", "Block": "4"}
    found = box._find("neighborhoods", HOOD)
    assert found is not None and found[1]["name"] == "Renamed"
    assert found[1]["abbreviatedName"] == "NH1" and found[1]["displayName"]


def answering(path: str, body: object) -> object:
    """A sandbox middleware answering GET ``path`` with ``body`` instead."""
    from aiohttp import web

    @web.middleware
    async def middleware(request: web.Request, handler: object) -> web.StreamResponse:
        if request.method == "GET" and request.path == path:
            return web.json_response(body)
        return await handler(request)  # type: ignore[operator,no-any-return]

    return middleware


async def test_regions_that_are_not_a_list_fail_the_read_not_read_as_none() -> None:
    """Read as none, the regions would count as a complete read of nothing."""
    box = BuilderBackedSandbox(SandboxOptions(size=3, seed=3))
    box.add_middleware(answering("/api/v2/locations/regions", {"content": "?"}))
    async with box, connector(box) as warranty:
        with pytest.raises(errors.ProtocolError, match="list of regions"):
            [i async for i in warranty.read("location", collections=["regions"])]


async def test_a_homes_malformed_documents_are_its_read_failure_the_rest_are_read() -> None:
    box = BuilderBackedSandbox(SandboxOptions(size=3, seed=3))
    box.add_middleware(
        answering("/api/v2/documents/externalHome/bb-home-000002", {"not": "a list"})
    )
    async with box, connector(box) as warranty:
        items = [i async for i in warranty.read("document")]
    failures = [i for i in items if isinstance(i, ReadFailure)]
    assert [f.source_id for f in failures] == ["bb-home-000002"]
    assert "malformed documents" in failures[0].reason
