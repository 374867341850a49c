"""Builder Backed: the sandbox's documented rules, and the connector against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import aiohttp
import pytest

from connectors.builder_backed import (
    BuilderBackedConnector,
    BuilderBackedSandbox,
    BuilderBackedSettings,
)
from hub import errors
from hub.connector import SourceRecord, WriteAction
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
from hub.retry import RetryPolicy
from hub.sandbox import SandboxOptions
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
    """A home is created with homeowners and the full chain, updated, and gains homeowners."""
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
    status, _ = await call(
        session, box, "PUT", "/api/v2/homes", bearer, json={**HOME, "model": "Preston"}
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
    status, fetched = await call(session, box, "GET", "/api/v2/homes/h-1", bearer)
    assert fetched["model"] == "Preston" and len(fetched["homeowners"]) == 2


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
        locations = [i async for i in warranty.read("location")]
        homes = [i async for i in warranty.read("home")]
        people = [i async for i in warranty.read("person")]
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
    async with connector(box) as warranty:
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
        found = [i async for i in warranty.read("document")]
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
        assert [i async for i in warranty.read("home")]
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
