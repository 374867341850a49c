"""The Builder Backed sandbox's documented rules: auth, locations, homes, documents, paging."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from connectors.builder_backed import BuilderBackedSandbox
from hub.sandbox.options import SandboxOptions
from tests.connectors.builder_backed.helpers import HOME, call, token


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
