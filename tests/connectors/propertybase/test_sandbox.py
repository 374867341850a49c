"""The Propertybase GO sandbox's documented rules: envelope, keys, JSON, nesting, filters."""

from __future__ import annotations

import pytest

from connectors.propertybase import PropertybaseSandbox
from hub.sandbox.options import SandboxOptions
from tests.connectors.propertybase.helpers import call, count_records, seed_records


async def test_every_answer_is_an_envelope(box: PropertybaseSandbox) -> None:
    """Success carries data (list or object); the HTTP status never appears in the body."""
    status, body = await call(box, "GET", "/api/v2/leads?per_page=5")
    assert status == 200 and body["status"] == "success" and len(body["data"]) == 5
    status, body = await call(box, "GET", "/api/v2/offices/1")
    assert status == 200 and body["data"]["id"] == 1 and "status_code" not in body
    status, body = await call(box, "GET", "/api/v2/leads/999")
    assert status == 404 and body["status"] == "failure" and body["errors"]
    assert "data" not in body


async def test_bad_key_and_missing_permission_are_unauthorized() -> None:
    """A wrong key, or a key without the permission, is 401 with an unauthorized envelope."""
    options = SandboxOptions(size=5, extra={"permissions": {"offices": ["read"]}})
    async with PropertybaseSandbox(options) as box:
        status, body = await call(box, "GET", "/api/v2/leads", key="nope")
        assert (status, body["status"]) == (401, "unauthorized")
        status, body = await call(box, "POST", "/api/v2/offices", json={"name": "X"})
        assert status == 401 and body["errors"] == [
            "API Key does not have permissions to create or update offices"
        ]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_every_call_must_say_json(box: PropertybaseSandbox, content_type: str | None) -> None:
    """The overview asks each call for ``Content-Type: application/json``: reads too."""
    for method, path in [("GET", "/api/v2/leads"), ("GET", "/api/v2/leads/1")]:
        status, body = await call(box, method, path, content_type=content_type)
        assert status == 415 and body["status"] == "failure"
        assert body["errors"] == ["Requests must be JSON (Content-Type: application/json)"]
    status, _ = await call(
        box, "GET", "/api/v2/developments/1/addresses", content_type=content_type
    )
    assert status == 415


async def test_unknown_fields_and_repeated_creates_are_refused(box: PropertybaseSandbox) -> None:
    """Fields the sandbox does not know are 422, not dropped; a repeated create is 409."""
    lead = {"first_name": "A", "last_name": "B", "email": "Rep.Eat@example.com"}
    status, body = await call(box, "POST", "/api/v2/leads", json={**lead, "favourite": "x"})
    assert status == 422 and body["errors"] == ["unknown attribute 'favourite'"]
    status, body = await call(box, "PATCH", "/api/v2/leads/1", json={"dont_send_email": True})
    assert status == 422 and body["errors"] == ["unknown attribute 'dont_send_email'"]
    assert (await call(box, "POST", "/api/v2/leads", json=lead))[0] == 201
    again = {**lead, "email": "rep.eat@EXAMPLE.com"}
    status, body = await call(box, "POST", "/api/v2/leads", json=again)
    assert status == 409 and body["status"] == "failure"
    inline = {"name": "Inline", "addresses": [{"street": "1 Main St"}]}
    status, body = await call(box, "POST", "/api/v2/developments", json=inline)
    assert status == 422 and body["errors"] == ["unknown attribute 'addresses'"]
    name = (await call(box, "GET", "/api/v2/developments/1"))[1]["data"]["name"]
    assert (await call(box, "POST", "/api/v2/developments", json={"name": name}))[0] == 409


async def test_development_addresses_and_floor_plans_are_nested(box: PropertybaseSandbox) -> None:
    """A development's addresses and floor plans live at their own endpoints, not inline."""
    _, body = await call(box, "GET", "/api/v2/developments/1")
    assert "addresses" not in body["data"] and "floor_plans" not in body["data"]
    _, body = await call(box, "GET", "/api/v2/developments/1/addresses")
    assert [a["id"] for a in body["data"]] == [1] and body["data"][0]["street"]
    _, body = await call(box, "GET", "/api/v2/developments/1/floor_plans?per_page=2&page=2")
    assert [p["name"] for p in body["data"]] == ["The Aspen"]
    new = {"street": "9 New St", "city": "Austin", "state": "TX", "zip": "78701"}
    status, body = await call(box, "POST", "/api/v2/developments/1/addresses", json=new)
    assert status == 201 and body["data"]["id"] == 2
    status, body = await call(
        box, "PATCH", "/api/v2/developments/1/addresses/2", json={"city": "Round Rock"}
    )
    assert status == 200 and body["data"] == {**new, "id": 2, "city": "Round Rock"}
    assert (await call(box, "DELETE", "/api/v2/developments/1/floor_plans/3"))[0] == 200
    _, body = await call(box, "GET", "/api/v2/developments/1/floor_plans")
    assert [p["id"] for p in body["data"]] == [1, 2]
    assert (await call(box, "GET", "/api/v2/developments/999/addresses"))[0] == 404
    assert (await call(box, "GET", "/api/v2/developments/1/addresses/7"))[0] == 404


async def test_validation_and_unique_office_names(box: PropertybaseSandbox) -> None:
    """Missing fields and a taken office name are failure envelopes naming the problem."""
    status, body = await call(box, "POST", "/api/v2/leads", json={"first_name": "A"})
    assert status == 422 and "email can't be blank" in body["errors"]
    taken = (await call(box, "GET", "/api/v2/offices/1"))[1]["data"]["name"]
    status, body = await call(box, "POST", "/api/v2/offices", json={"name": taken})
    assert status == 422 and body == {
        "status": "failure",
        "message": "Office not created",
        "errors": ["Office name must be unique"],
    }


async def test_filters_paging_patch_put_and_delete(box: PropertybaseSandbox) -> None:
    """Email and active filters, page/per_page, PATCH and PUT updates, DELETE."""
    lead = (await call(box, "GET", "/api/v2/leads/3"))[1]["data"]
    _, body = await call(box, "GET", "/api/v2/leads", params={"email": lead["email"]})
    assert [x["id"] for x in body["data"]] == [3]
    _, body = await call(box, "GET", "/api/v2/leads?page=3&per_page=15")
    assert len(body["data"]) == 10
    assert (await call(box, "GET", "/api/v2/leads?per_page=101"))[0] == 400
    assert (await call(box, "PATCH", "/api/v2/agents/1", json={"active": False}))[0] == 200
    _status, body = await call(box, "GET", "/api/v2/agents?active_status=inactive")
    assert [a["id"] for a in body["data"]] == [1]
    assert (await call(box, "PUT", "/api/v2/leads/3", json={"notes": "x"}))[1]["data"][
        "notes"
    ] == "x"
    assert (await call(box, "DELETE", "/api/v2/leads/3"))[0] == 200
    assert (await call(box, "GET", "/api/v2/leads/3"))[0] == 404


async def test_email_filter_matches_loosely_and_unknown_filters_are_ignored(
    box: PropertybaseSandbox,
) -> None:
    """The email filter returns near misses too; an undocumented filter returns everything."""
    leads = box.collections["leads"]
    near = leads.create(lambda i: {"id": i, "first_name": "J", "email": "joann@example.com"})
    exact = leads.create(lambda i: {"id": i, "first_name": "A", "email": "ann@example.com"})
    _, body = await call(box, "GET", "/api/v2/leads", params={"email": "ANN@example.com"})
    assert [x["id"] for x in body["data"]] == [near["id"], exact["id"]]
    seed_records(box, "developments", "name", ["Elm Park"])
    name = (await call(box, "GET", "/api/v2/developments/1"))[1]["data"]["name"]
    _, body = await call(box, "GET", "/api/v2/developments", params={"name": name})
    assert len(body["data"]) == count_records(box, "developments") == 2


async def test_lead_side_effect_flags_are_recorded(box: PropertybaseSandbox) -> None:
    """Creating a lead records whether emails and follow-up tasks were triggered."""
    await call(
        box,
        "POST",
        "/api/v2/leads",
        json={"first_name": "A", "last_name": "B", "email": "ab@example.com"},
    )
    await call(
        box,
        "POST",
        "/api/v2/leads",
        json={
            "first_name": "C",
            "last_name": "D",
            "email": "cd@example.com",
            "dont_send_email": True,
            "no_followup_task": True,
        },
    )
    first, second = box.side_effects.page(0, 10)[0]
    assert first["emails_sent"] and first["followup_task"]
    assert not second["emails_sent"] and not second["followup_task"]


async def test_a_million_leads_cost_no_memory() -> None:
    """A sandbox of a million leads starts at once and stores nothing."""
    async with PropertybaseSandbox(SandboxOptions(size=1_000_000)) as big:
        status, body = await call(big, "GET", "/api/v2/leads?page=10000&per_page=100")
        assert status == 200 and body["data"][-1]["id"] == 1_000_000
        assert all(not c.changed for c in big.collections.values())
