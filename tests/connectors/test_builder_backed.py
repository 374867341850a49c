"""Builder Backed: the sandbox's documented rules, and the connector against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import aiohttp
import pytest

from connectors.builder_backed import (
    BuilderBackedConnector,
    BuilderBackedSandbox,
    BuilderBackedSettings,
)
from hub import errors
from hub.client.retry import RetryPolicy
from hub.connector import ReadEnd, SourceRecord, WriteAction
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
from hub.sandbox.options import SandboxOptions
from tests.conftest import Sleeps

HOME = {
    "externalId": "h-1",
    "addressLine1": "1 Oak St",
    "city": "Austin",
    "state": "TX",
    "postalCode": "78701",
    "type": "Single Family",
    "neighborhoodExternalId": "bb-nh-000001",
}


@pytest.fixture
async def box() -> AsyncIterator[BuilderBackedSandbox]:
    """A Builder Backed account with 30 homes in their location chain."""
    async with BuilderBackedSandbox(SandboxOptions(size=30, seed=3)) as running:
        yield running


async def token(
    session: aiohttp.ClientSession,
    box: BuilderBackedSandbox,
    scope: str = "location.write home.write document.write",
) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": box.credentials["client_id"],
        "client_secret": box.credentials["client_secret"],
        "scope": scope,
    }
    async with session.post(box.base_url + "/oauth2/token", data=form) as resp:
        body = await resp.json()
        assert resp.status == 200 and body["token_type"] == "Bearer"
        return str(body["access_token"])


async def call(
    session: aiohttp.ClientSession,
    box: BuilderBackedSandbox,
    method: str,
    path: str,
    bearer: str | None,
    **kw: Any,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with session.request(method, box.base_url + path, headers=headers, **kw) as resp:
        return resp.status, await resp.json()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A raw HTTP client."""
    async with aiohttp.ClientSession() as client:
        yield client


def connector(
    box: BuilderBackedSandbox, sleeps: Sleeps | None = None, **overrides: Any
) -> BuilderBackedConnector:
    settings = BuilderBackedSettings.model_validate({**box.connector_table(), **overrides})
    return BuilderBackedConnector(
        settings, name="warranty", sleep=sleeps, retry=RetryPolicy(max_attempts=3)
    )


# -- the sandbox --------------------------------------------------------------------------------


async def test_auth_rules(box: BuilderBackedSandbox, session: aiohttp.ClientSession) -> None:
    """No token or a bad one is 401; a token without the scope is 403 naming the scope."""
    assert await call(session, box, "GET", "/api/v2/locations/regions", None) == (
        401,
        {
            "status": 401,
            "error": "Unauthorized",
            "message": "Invalid or missing authentication token",
        },
    )
    homes_only = await token(session, box, "home.write")
    status, body = await call(session, box, "GET", "/api/v2/locations/regions", homes_only)
    assert status == 403 and body["message"] == "Token does not have required scope: location.write"
    status, body = await call(session, box, "POST", "/api/v2/documents", homes_only, json={})
    assert status == 403 and body["message"].endswith("document.write")
    form = {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
    async with session.post(box.base_url + "/oauth2/token", data=form) as resp:
        assert resp.status == 401


async def test_tokens_expire(box: BuilderBackedSandbox, session: aiohttp.ClientSession) -> None:
    """A token stops working after its lifetime (on the sandbox's clock)."""
    now = [0.0]
    box.clock = lambda: now[0]
    bearer = await token(session, box)
    assert (await call(session, box, "GET", "/api/v2/locations/regions", bearer))[0] == 200
    now[0] = box.token_lifetime + 1
    assert (await call(session, box, "GET", "/api/v2/locations/regions", bearer))[0] == 401


async def test_location_rules(box: BuilderBackedSandbox, session: aiohttp.ClientSession) -> None:
    """Region names match exactly; unknown parents are 404; reused externalIds are 409."""
    bearer = await token(session, box)
    base = "/api/v2/locations"
    division = {"externalId": "D1", "name": "D1", "regionName": "Central Texas"}
    assert (await call(session, box, "POST", f"{base}/divisions", bearer, json=division))[0] == 200
    status, body = await call(session, box, "POST", f"{base}/divisions", bearer, json=division)
    assert status == 409 and "already exists" in body["message"]
    wrong_case = {**division, "externalId": "D2", "regionName": "central texas"}
    status, body = await call(session, box, "POST", f"{base}/divisions", bearer, json=wrong_case)
    assert (status, body["message"]) == (404, "Region 'central texas' not found")
    orphan = {"externalId": "M1", "name": "M1", "divisionExternalId": "nope"}
    status, body = await call(
        session, box, "POST", f"{base}/master-communities", bearer, json=orphan
    )
    assert (status, body["message"]) == (404, "Division with external ID 'nope' not found")
    missing = {"externalId": "N1", "masterCommunityExternalId": "bb-mc-000001"}
    status, body = await call(session, box, "POST", f"{base}/neighborhoods", bearer, json=missing)
    assert (status, body["message"]) == (400, "Field 'name' is required")
    status, body = await call(
        session,
        box,
        "PUT",
        f"{base}/divisions",
        bearer,
        json={**division, "displayName": "Div One"},
    )
    assert status == 200 and body["displayName"] == "Div One"
    status, body = await call(session, box, "GET", f"{base}/divisions/D1", bearer)
    assert status == 200 and body["displayName"] == "Div One"


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"type": "single family"}, 400, "Invalid value for 'type' field"),
        ({"state": "Texas"}, 400, "Field 'state' must be a 2-letter code"),
        ({"addressLine1": None}, 400, "Field 'addressLine1' is required"),
        ({"homeDetails": {"Colour": "red"}}, 400, "homeDetails key 'Colour' is not configured"),
        (
            {"homeowners": [{"email": "bad", "firstName": "A", "lastName": "B"}]},
            400,
            "Email address is invalid",
        ),
        (
            {"homeowners": [{"email": "a@example.com", "firstName": "A"}]},
            400,
            "Field 'homeowners.lastName' is required",
        ),
        ({"neighborhoodExternalId": "nope"}, 404, "Neighborhood with external ID 'nope' not found"),
    ],
)
async def test_home_validation(
    box: BuilderBackedSandbox,
    session: aiohttp.ClientSession,
    change: dict[str, Any],
    status: int,
    message: str,
) -> None:
    """Home creation enforces the guide's fields, enums, homeowners and the location chain."""
    bearer = await token(session, box)
    body = {k: v for k, v in {**HOME, **change}.items() if v is not None}
    answer = await call(session, box, "POST", "/api/v2/homes", bearer, json=body)
    assert answer == (status, {"status": status, "error": answer[1]["error"], "message": message})


async def test_home_lifecycle(box: BuilderBackedSandbox, session: aiohttp.ClientSession) -> None:
    """A home is created with homeowners and the full chain, replaced by a PUT (what it leaves
    out is gone), and gains homeowners (an array; a repeat is 409)."""
    bearer = await token(session, box)
    owner = {
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lee",
        "homeownerType": "PRIMARY",
    }
    status, home = await call(
        session,
        box,
        "POST",
        "/api/v2/homes",
        bearer,
        json={**HOME, "homeowners": [owner], "homeDetails": {"Lot": "7"}},
    )
    assert status == 200 and home["homeowners"][0]["fullName"] == "Ada Lee"
    assert {"neighborhood", "masterCommunity", "division", "region"} <= set(home)
    assert (await call(session, box, "POST", "/api/v2/homes", bearer, json=HOME))[0] == 409
    status, replaced = await call(
        session, box, "PUT", "/api/v2/homes", bearer, json={**HOME, "model": "Preston"}
    )
    assert status == 200 and replaced["homeowners"] == [] and replaced["homeDetails"] == {}
    status, _ = await call(
        session, box, "PUT", "/api/v2/homes", bearer, json={**HOME, "homeowners": [owner]}
    )
    assert status == 200
    extra = {
        "email": "bo@example.com",
        "firstName": "Bo",
        "lastName": "Lee",
        "homeownerType": "SECONDARY",
    }
    status, owners = await call(
        session, box, "POST", "/api/v2/homes/h-1/users", bearer, json=[extra]
    )
    assert status == 200 and len(owners) == 2
    assert (await call(session, box, "POST", "/api/v2/homes/h-1/users", bearer, json=[extra]))[
        0
    ] == 409
    assert (await call(session, box, "POST", "/api/v2/homes/h-1/users", bearer, json=extra))[
        0
    ] == 400
    status, fetched = await call(session, box, "GET", "/api/v2/homes/h-1", bearer)
    assert "model" not in fetched and len(fetched["homeowners"]) == 2


async def test_documents_and_their_delete_forms(
    box: BuilderBackedSandbox, session: aiohttp.ClientSession
) -> None:
    """Documents are validated, listed per home and deleted in each of the four ways."""
    bearer = await token(session, box)
    home = "bb-home-000001"
    docs = [
        {
            "externalId": f"d{i}",
            "category": ("Warranty", "Manual")[i % 2],
            "name": f"Doc {i}",
            "url": f"https://files.example.com/{i}.pdf",
            "type": "EXTERNAL_URL",
            "shareable": True,
            "displayStart": "2025-01-01 00:00:00.000",
        }
        for i in range(5)
    ]
    status, made = await call(
        session,
        box,
        "POST",
        "/api/v2/documents",
        bearer,
        json={"externalHomeId": home, "documents": docs},
    )
    assert status == 200 and all(isinstance(d["id"], int) for d in made)
    bad = {"externalHomeId": home, "documents": [{**docs[0], "type": "AWS"}]}
    status, body = await call(session, box, "POST", "/api/v2/documents", bearer, json=bad)
    assert status == 400 and "bucket" in body["message"]
    path = f"/api/v2/documents/externalHome/{home}"
    assert (await call(session, box, "DELETE", "/api/v2/documents/d0", bearer))[1] == {"deleted": 1}
    assert (await call(session, box, "DELETE", f"{path}/name/Doc 1", bearer))[1] == {"deleted": 1}
    assert (await call(session, box, "DELETE", f"{path}/category/Warranty", bearer))[1] == {
        "deleted": 2
    }
    status, left = await call(session, box, "GET", path, bearer)
    assert [d["externalId"] for d in left] == ["d3"]
    assert (await call(session, box, "DELETE", path, bearer))[1] == {"deleted": 1}


async def test_paged_lists_and_updated_since(
    box: BuilderBackedSandbox, session: aiohttp.ClientSession
) -> None:
    """Lists page by page/pageSize with totals; out-of-range page sizes are 400."""
    bearer = await token(session, box)
    status, page = await call(session, box, "GET", "/api/v2/homes?page=2&pageSize=20", bearer)
    assert status == 200 and page["totalElements"] == 30 and len(page["content"]) == 10
    assert (await call(session, box, "GET", "/api/v2/homes?pageSize=501", bearer))[0] == 400
    status, page = await call(
        session, box, "GET", "/api/v2/homes?updatedSince=2030-01-01T00:00:00Z", bearer
    )
    assert page["totalElements"] == 0


async def test_empty_account_and_a_million_homes() -> None:
    """size 0 is an account with regions only; a million homes cost no memory."""
    async with BuilderBackedSandbox(SandboxOptions(size=0)) as empty:
        assert all(c.count() == 0 for c in empty.collections.values())
    async with BuilderBackedSandbox(SandboxOptions(size=1_000_000)) as big:
        assert big.collections["homes"].count() == 1_000_000
        assert big.collections["neighborhoods"].count() == 40_000
        assert all(not c.changed for c in big.collections.values())


# -- the connector ----------------------------------------------------------------------------


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


async def test_documents_write_lookup_and_delete(box: BuilderBackedSandbox) -> None:
    """A document is attached, found, replaced when it changes, and deleted."""
    doc = Document(
        key="doc-1",
        home_key="bb-home-000002",
        category="Warranty",
        name="W",
        url="https://files.example.com/w.pdf",
        storage=DocumentStorage.EXTERNAL_URL,
        shareable=True,
        display_from=date(2025, 1, 1),
    )
    async with connector(box) as warranty:
        assert (await warranty.write("document", doc, None)).action is WriteAction.CREATED
        assert (await warranty.write("document", doc, None)).action is WriteAction.UNCHANGED
        moved = doc.model_copy(update={"name": "Warranty 2025"})
        assert (await warranty.write("document", moved, "doc-1")).action is WriteAction.UPDATED
        assert await warranty.lookup("document", doc) == "doc-1"
        found = [i async for i in warranty.read("document") if not isinstance(i, ReadEnd)]
        await warranty.delete("document", "doc-1")
        assert await warranty.lookup("document", doc) is None
        with pytest.raises(errors.UnsupportedValue):
            await warranty.delete("home", "bb-home-000001")
    assert [i.record.name for i in found] == ["Warranty 2025"]  # type: ignore[union-attr]


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


# -- issue 23: nothing wiped, misdirected or lost ---------------------------------------------

ADDRESS = Address(line1="9 Elm St", city="Austin", state="TX", postal_code="78701")
HOOD = "bb-nh-000001"


def _owner(email: str, **extra: Any) -> Person:
    return Person(
        key=f"p-{email}",
        first_name="Ann",
        last_name="Lee",
        emails=[email],
        roles=[PersonRole(kind="homeowner", home_key="bb-home-000001", **extra)],
    )


def _stored_home(box: BuilderBackedSandbox, ext: str) -> dict[str, Any]:
    found = box._find("homes", ext)
    assert found is not None
    return found[1]


def _set_owners(box: BuilderBackedSandbox, ext: str, owners: list[dict[str, Any]]) -> None:
    """Change a home's homeowners at the vendor, as someone else might."""
    found = box._find("homes", ext)
    assert found is not None
    box.collections["homes"].put(found[0], {**found[1], "homeowners": owners})


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
        stored = _stored_home(box, "h-9")
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
    before = _stored_home(box, ext)
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
    after = _stored_home(box, ext)
    assert after["model"] == "Aspen" and after["homeowners"] == before["homeowners"]
    assert after["homeDetails"] == {"Lot": "5", "Block": "4"}
    found = box._find("neighborhoods", HOOD)
    assert found is not None and found[1]["name"] == "Renamed"
    assert found[1]["abbreviatedName"] == "NH1" and found[1]["displayName"]


async def test_homeowners_keep_prefix_suffix_and_default_home(box: BuilderBackedSandbox) -> None:
    """prefix, suffix and defaultHome reach Builder Backed and come back."""
    person = _owner("dr.ann@example.com", homeowner_type="secondary", default_home=True)
    person = person.model_copy(update={"prefix": "Dr.", "suffix": "Jr."})
    async with connector(box) as warranty:
        assert (await warranty.write("person", person, None)).action is WriteAction.CREATED
        people = [i.record async for i in warranty.read("person") if not isinstance(i, ReadEnd)]  # type: ignore[union-attr]
    added = _stored_home(box, "bb-home-000001")["homeowners"][-1]
    assert added == {
        "email": "dr.ann@example.com",
        "prefix": "Dr.",
        "firstName": "Ann",
        "lastName": "Lee",
        "suffix": "Jr.",
        "homeownerType": "SECONDARY",
        "defaultHome": True,
    }
    back = [p for p in people if isinstance(p, Person) and p.emails == ["dr.ann@example.com"]]
    assert (back[0].prefix, back[0].suffix, back[0].roles[0].default_home) == ("Dr.", "Jr.", True)


async def test_a_known_homeowner_is_never_posted_again(box: BuilderBackedSandbox) -> None:
    """A homeowner already on the home, or known to the cross-reference, is never re-POSTed:
    a change is sent with the home, and one removed at the vendor is reported, not re-added."""
    person = _owner("ann@example.com")
    async with connector(box) as warranty:
        made = await warranty.write("person", person, None)
        assert made.action is WriteAction.CREATED
        box.by_path.clear()
        renamed = person.model_copy(update={"last_name": "Li"})
        assert (await warranty.write("person", renamed, None)).action is WriteAction.UPDATED
        assert (await warranty.write("person", renamed, made.ref)).action is WriteAction.UNCHANGED
        assert not [p for p in box.by_path if p.startswith("POST")]
        home = _stored_home(box, "bb-home-000001")
        assert [o["lastName"] for o in home["homeowners"] if o["email"] == "ann@example.com"] == [
            "Li"
        ]
        kept = [o for o in home["homeowners"] if o["email"] != "ann@example.com"]
        _set_owners(box, "bb-home-000001", kept)
        with pytest.raises(errors.PermanentError, match="no longer on home"):
            await warranty.write("person", renamed, made.ref)
        assert not [p for p in box.by_path if p.startswith("POST")]
    async with connector(box, homeowner_update="refuse") as strict:
        added = await strict.write("person", _owner("bo@example.com"), None)
        assert added.action is WriteAction.CREATED
        with pytest.raises(errors.UnsupportedValue, match="documents no homeowner update"):
            changed = _owner("bo@example.com").model_copy(update={"first_name": "Bob"})
            await strict.write("person", changed, added.ref)


async def test_trusting_a_409_on_repeats_saves_the_read(box: BuilderBackedSandbox) -> None:
    """With homeowner_repeat = "conflict" a new homeowner is one POST and a repeat's 409
    resolves to them; a homeowner the cross-reference knows is still never POSTed."""
    person = _owner("ann@example.com")
    async with connector(box, homeowner_repeat="conflict") as warranty:
        await warranty.prepare_writes("person")  # the token, fetched ahead as in a flow run
        box.by_path.clear()
        made = await warranty.write("person", person, None)
        assert made.action is WriteAction.CREATED
        assert box.by_path == {"POST /api/v2/homes/bb-home-000001/users": 1}
        box.by_path.clear()
        assert (await warranty.write("person", person, None)).action is WriteAction.UNCHANGED
        assert box.by_status[409] == 1
        box.by_path.clear()
        assert (await warranty.write("person", person, made.ref)).action is WriteAction.UNCHANGED
        assert box.by_path == {"GET /api/v2/homes/bb-home-000001": 1}


async def test_homeowner_path_and_body_are_settings(box: BuilderBackedSandbox) -> None:
    """The homeowner endpoint's path and body shape (not in the guide) come from settings."""
    async with connector(box, homeowners_body="object") as warranty:
        with pytest.raises(errors.InvalidRecord, match="array of homeowners"):
            await warranty.write("person", _owner("cy@example.com"), None)
    path = "/api/v2/homes/{externalHomeId}/homeowners"
    async with connector(box, homeowners_path=path) as warranty:
        with pytest.raises(errors.NotFound):
            await warranty.write("person", _owner("cy@example.com"), None)
    assert box.by_path["POST /api/v2/homes/bb-home-000001/homeowners"] == 1


@pytest.mark.parametrize(
    ("decoys", "outcome"),
    [
        (["joann@example.com", "ann@example.com.au", "ann+x@example.com"], "created"),
        (["joann@example.com", "ann@example.com"], "updated"),
        (["ann@example.com", "ANN@Example.com"], "ambiguous"),
        (["ann@example.com", " ann@example.com "], "ambiguous"),
        (["ann@example.com", "ann@example.com"], "ambiguous"),
    ],
    ids=["contains-only", "contains-and-wanted", "case", "whitespace", "duplicate"],
)
async def test_homeowner_match_never_lands_on_a_decoy(
    box: BuilderBackedSandbox, decoys: list[str], outcome: str
) -> None:
    """A homeowner's match on its home is its one exact email (case and blanks aside):
    look-alikes are never written, and several exact matches are an ambiguity."""
    owners = [
        {"email": e, "firstName": "Decoy", "lastName": str(n), "homeownerType": "OTHER"}
        for n, e in enumerate(decoys)
    ]
    _set_owners(box, "bb-home-000001", owners)
    untouched = [o for o in owners if outcome == "ambiguous" or o["email"] != "ann@example.com"]
    person = _owner("ann@example.com")
    async with connector(box) as warranty:
        if outcome == "ambiguous":
            with pytest.raises(errors.AmbiguousMatch, match="ambiguous match") as caught:
                await warranty.write("person", person, None)
            assert len(caught.value.candidates) == 2
        else:
            assert (await warranty.write("person", person, None)).action == outcome
    owners = _stored_home(box, "bb-home-000001")["homeowners"]
    assert [o for o in owners if o in untouched] == untouched
    if outcome != "ambiguous":
        assert [o["firstName"] for o in owners if o["email"] == "ann@example.com"] == ["Ann"]


async def test_every_documented_document_delete_form(box: BuilderBackedSandbox) -> None:
    """One document, a home's documents of a category, of a name, and all of them."""
    docs = [
        ("d1", "Warranty", "HVAC / Furnace"),
        ("d2", "Warranty", "Roof"),
        ("d3", "Manual", "Roof"),
        ("d4", "Home", "Floor Plan"),
        ("d5", "Home", "Survey"),
    ]
    async with connector(box) as warranty:
        for key, category, name in docs:
            doc = Document(
                key=key,
                home_key="bb-home-000002",
                category=category,
                name=name,
                url=f"https://files.example.com/{key}.pdf",
            )
            await warranty.write("document", doc, None)

        def left() -> list[str]:
            return [d["externalId"] for d in box.documents["bb-home-000002"]]

        await warranty.delete("document", "d1")
        assert left() == ["d2", "d3", "d4", "d5"]
        await warranty.delete_documents("bb-home-000002", name="Roof")
        assert left() == ["d4", "d5"]
        await warranty.delete_documents("bb-home-000002", category="Home")
        assert left() == []
        await warranty.write("document", doc, None)
        await warranty.delete_documents("bb-home-000002")
        assert left() == []
        with pytest.raises(errors.UnsupportedValue, match="not both"):
            await warranty.delete_documents("bb-home-000002", category="Home", name="Survey")


async def test_document_display_window_keeps_its_time_of_day(box: BuilderBackedSandbox) -> None:
    """displayStart and displayEnd reach Builder Backed with their time of day."""
    doc = Document(
        key="d-time",
        home_key="bb-home-000002",
        category="Warranty",
        name="W",
        url="https://files.example.com/w.pdf",
        display_from=datetime(2025, 1, 1, 8, 30),
        display_until=date(2035, 1, 1),
    )
    async with connector(box) as warranty:
        await warranty.write("document", doc, None)
        assert (await warranty.write("document", doc, None)).action is WriteAction.UNCHANGED
        found = [i.record async for i in warranty.read("document") if not isinstance(i, ReadEnd)]  # type: ignore[union-attr]
    stored = box.documents["bb-home-000002"][0]
    assert (stored["displayStart"], stored["displayEnd"]) == (
        "2025-01-01 08:30:00.000",
        "2035-01-01 00:00:00.000",
    )
    assert found == [doc]
