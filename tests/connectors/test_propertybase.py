"""Propertybase GO: envelopes, permissions and lead side effects, sandbox and connector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import aiohttp
import pytest

from connectors.propertybase import (
    PropertybaseConnector,
    PropertybaseSandbox,
    PropertybaseSettings,
)
from connectors.propertybase.connector import decode_envelope
from hub import errors
from hub.client.response import Response
from hub.client.retry import RetryPolicy
from hub.connector import ReadFailure, SourceRecord, WriteAction
from hub.models import Location, Organization, Person
from hub.sandbox.options import SandboxOptions
from tests.conftest import Sleeps

ADDRESS = {"line1": "1 Main St", "city": "Austin", "state": "TX", "postal_code": "78701"}


@pytest.fixture
async def box() -> AsyncIterator[PropertybaseSandbox]:
    """A CRM with 40 leads and the rest in proportion."""
    async with PropertybaseSandbox(SandboxOptions(size=40, seed=9)) as running:
        yield running


async def call(
    box: PropertybaseSandbox,
    method: str,
    path: str,
    key: str | None = None,
    content_type: str | None = "application/json",
    **kw: Any,
) -> tuple[int, dict[str, Any]]:
    headers = {"X-BL-API-Key": key or box.credentials["api_key"]}
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, box.base_url + path, headers=headers, **kw) as resp,
    ):
        return resp.status, await resp.json()


def connector(
    box: PropertybaseSandbox, sleeps: Sleeps | None = None, **overrides: Any
) -> PropertybaseConnector:
    settings = PropertybaseSettings.model_validate({**box.connector_table(), **overrides})
    return PropertybaseConnector(
        settings, name="crm", sleep=sleeps, retry=RetryPolicy(max_attempts=3)
    )


# -- the sandbox --------------------------------------------------------------------------------


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
    _seed(box, "developments", "name", ["Elm Park"])
    name = (await call(box, "GET", "/api/v2/developments/1"))[1]["data"]["name"]
    _, body = await call(box, "GET", "/api/v2/developments", params={"name": name})
    assert len(body["data"]) == _count(box, "developments") == 2


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


# -- envelope decoding (sans-I/O) --------------------------------------------------------------


def answer(status: int, body: bytes) -> Response:
    return Response(
        status, {"Content-Type": "application/json"}, body, "POST", "/api/v2/leads", "propertybase"
    )


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"status":"success","message":"ok","data":[{"id":1}]}', [{"id": 1}]),
        (200, b'{"status":"success","message":"ok","data":{"id":1}}', {"id": 1}),
        (
            200,
            b'{"status":"failure","message":"Lead not created","errors":["locked"]}',
            errors.InvalidRecord,
        ),
        (
            200,
            b'{"status":"unauthorized","message":"no","errors":["API Key does not have '
            b'permissions to create leads"]}',
            errors.PermissionDenied,
        ),
        (200, b'{"status":"unauthorized","message":"no","errors":["bad key"]}', errors.AuthFailed),
        (200, b'{"data":[]}', errors.ProtocolError),
        (200, b'{"status":"success","message":"ok"}', errors.ProtocolError),
        (200, b"[1,2]", errors.ProtocolError),
        (200, b'{"status":"success","data":[', errors.ProtocolError),
        (200, b"<html>oops</html>", errors.ProtocolError),
    ],
)
def test_decode_envelope(status: int, body: bytes, expected: Any) -> None:
    """Envelopes decode to data, or to the error their status word means, whatever HTTP said."""
    if isinstance(expected, type):
        with pytest.raises(expected):
            decode_envelope(answer(status, body))
    else:
        assert decode_envelope(answer(status, body)) == expected


# -- the connector ----------------------------------------------------------------------------


async def test_reads_every_entity(box: PropertybaseSandbox) -> None:
    """Offices, teams, agents, employees, leads, developments and floor plans stream out."""
    async with connector(box, page_size=7) as crm:
        await crm.check()
        found = {
            e: [i async for i in crm.read(e)]
            for e in ("organization", "person", "location", "home")
        }
    assert all(isinstance(i, SourceRecord) for items in found.values() for i in items)
    orgs = [i.record for i in found["organization"]]  # type: ignore[union-attr]
    assert {o.kind for o in orgs if isinstance(o, Organization)} == {"office", "team"}
    assert len(found["person"]) == 10 + 3 + 40
    assert isinstance(found["location"][0].record, Location)  # type: ignore[union-attr]
    assert len(found["home"]) == 3 and found["home"][0].record.model == "The Preston"  # type: ignore[union-attr]


async def test_lead_writes_never_duplicate_or_spam(box: PropertybaseSandbox) -> None:
    """A lead is looked up by email first, created without side effects, then patched."""
    person = Person(key="p", first_name="Ada", last_name="Lee", emails=["ada.lee@example.org"])
    async with connector(box) as crm:
        made = await crm.write("person", person, None)
        again = await crm.write("person", person, None)
        patched = await crm.write("person", person.model_copy(update={"last_name": "Li"}), made.ref)
        assert (made.action, again.action, patched.action) == (
            WriteAction.CREATED,
            WriteAction.UNCHANGED,
            WriteAction.UPDATED,
        )
        assert again.ref == made.ref and await crm.lookup("person", person) == made.ref
        await crm.delete("person", made.ref)
        assert await crm.lookup("person", person) is None
    effects = box.side_effects.page(0, 10)[0]
    assert len(effects) == 1 and effects[0]["dont_send_email"] and effects[0]["no_followup_task"]
    assert effects[0]["no_assignment_emails"] and not effects[0]["emails_sent"]


def _seed(box: PropertybaseSandbox, resource: str, field: str, values: list[str]) -> list[int]:
    """Records put straight into the sandbox (as another client might have made them)."""
    collection = box.collections[resource]
    made = []
    extra = {"first_name": "Decoy", "last_name": "X"} if resource == "leads" else {}

    def record(i: int, value: str) -> dict[str, Any]:
        return {"id": i, field: value, **extra}

    for value in values:
        made.append(collection.create(partial(record, value=value))["id"])
    return made


def _count(box: PropertybaseSandbox, resource: str) -> int:
    return sum(1 for _ in box.collections[resource].ids())


def _snapshot(box: PropertybaseSandbox, resource: str, ids: list[int]) -> list[Any]:
    collection = box.collections[resource]
    return [(collection.get(i), collection.updated_at(i)) for i in ids]


LEAD_EMAIL = "ann@example.com"


@pytest.mark.parametrize(
    ("decoys", "with_wanted", "outcome"),
    [
        (["joann@example.com", "ann@example.com.au", "ann+x@example.com"], False, "created"),
        (["joann@example.com", "ann@example.com.au"], True, "updated"),
        (["ANN@Example.com"], True, "ambiguous"),
        ([" ann@example.com "], True, "ambiguous"),
        ([LEAD_EMAIL], True, "ambiguous"),
    ],
    ids=["contains-only", "contains-and-wanted", "case", "whitespace", "duplicate"],
)
async def test_lead_match_never_lands_on_a_decoy(
    box: PropertybaseSandbox, decoys: list[str], with_wanted: bool, outcome: str
) -> None:
    """A lead's match is its one exact email: look-alikes are never written, several exact
    matches are an ambiguity naming every candidate, and nothing is written then."""
    decoy_ids = _seed(box, "leads", "email", decoys)
    wanted = _seed(box, "leads", "email", [LEAD_EMAIL]) if with_wanted else []
    before = _snapshot(box, "leads", decoy_ids)
    total = _count(box, "leads")
    person = Person(key="p", first_name="Ann", last_name="Lee", emails=[LEAD_EMAIL])
    async with connector(box) as crm:
        if outcome == "ambiguous":
            with pytest.raises(errors.AmbiguousMatch, match="ambiguous match") as caught:
                await crm.write("person", person, None)
            assert sorted(caught.value.candidates) == sorted(map(str, decoy_ids + wanted))
            assert box.collections["leads"].get(wanted[0])["last_name"] == "X"  # type: ignore[index]
        else:
            result = await crm.write("person", person, None)
            assert result.action == outcome
            if wanted:
                assert result.ref == str(wanted[0])
            else:
                assert result.ref not in {str(i) for i in decoy_ids}
    assert _snapshot(box, "leads", decoy_ids) == before
    assert _count(box, "leads") == total + (outcome == "created")


DEVELOPMENT = "Oak Estates"


@pytest.mark.parametrize(
    ("decoys", "with_wanted", "outcome"),
    [
        (["Oak Estates II", "Royal Oak Estates", "oak estates"], False, "created"),
        (["Oak Estates II", "oak estates", "OAK ESTATES"], True, "updated"),
        ([" Oak Estates  "], True, "ambiguous"),
        ([DEVELOPMENT], True, "ambiguous"),
    ],
    ids=["contains-and-case-only", "contains-case-and-wanted", "whitespace", "duplicate"],
)
async def test_development_match_never_lands_on_a_decoy(
    box: PropertybaseSandbox, decoys: list[str], with_wanted: bool, outcome: str
) -> None:
    """A development's match is its one exact name once trimmed, found although the vendor
    ignores the name filter; look-alikes are never written."""
    decoy_ids = _seed(box, "developments", "name", decoys)
    wanted = _seed(box, "developments", "name", [DEVELOPMENT]) if with_wanted else []
    before = _snapshot(box, "developments", decoy_ids)
    before_addresses = [box.nested_records("addresses", i) for i in decoy_ids]
    total = _count(box, "developments")
    location = Location(
        key="l", kind="master_community", name=DEVELOPMENT, description="Ours", address=ADDRESS
    )
    async with connector(box, page_size=5) as crm:
        if outcome == "ambiguous":
            with pytest.raises(errors.AmbiguousMatch, match="ambiguous match") as caught:
                await crm.write("location", location, None)
            assert sorted(caught.value.candidates) == sorted(map(str, decoy_ids + wanted))
            assert all(str(i) in str(caught.value) for i in decoy_ids + wanted)
            assert box.nested_records("addresses", wanted[0]) == []
        else:
            result = await crm.write("location", location, None)
            assert result.action == outcome
            assert result.ref == str(wanted[0]) if wanted else int(result.ref) not in decoy_ids
            assert box.nested_records("addresses", int(result.ref))[0]["street"] == "1 Main St"
    assert _snapshot(box, "developments", decoy_ids) == before
    assert [box.nested_records("addresses", i) for i in decoy_ids] == before_addresses
    assert _count(box, "developments") == total + (outcome == "created")


async def test_a_create_after_the_engines_look_up_does_not_ask_again(
    box: PropertybaseSandbox,
) -> None:
    """Look-up then create (the engine's order) lists leads once; a bare create looks up."""
    person = Person(key="p", first_name="Ann", last_name="Lee", emails=[LEAD_EMAIL])
    other = Person(key="q", first_name="Bo", last_name="Lee", emails=["bo@example.com"])
    async with connector(box) as crm:
        assert await crm.lookup("person", person, by="email") is None
        box.by_path.clear()
        assert (await crm.write("person", person, None)).action == "created"
        assert box.by_path == {"POST /api/v2/leads": 1}
        box.by_path.clear()
        assert (await crm.write("person", other, None)).action == "created"
        assert box.by_path == {"GET /api/v2/leads": 1, "POST /api/v2/leads": 1}
        with pytest.raises(errors.UnsupportedValue, match="only on email"):
            await crm.lookup("person", person, by="phone")


async def test_development_address_is_written_to_its_nested_resource(
    box: PropertybaseSandbox,
) -> None:
    """The address goes to the development's first nested address; other addresses stay."""
    extra = {"street": "2 Side St", "city": "Austin", "state": "TX", "zip": "78702"}
    location = Location(key="l", kind="master_community", name="Elm Park", address=ADDRESS)
    async with connector(box) as crm:
        made = await crm.write("location", location, None)
        development = int(made.ref)
        assert box.nested_records("addresses", development) == [
            {"id": 1, "street": "1 Main St", "city": "Austin", "state": "TX", "zip": "78701"}
            | {"country": "US"}
        ]
        await call(box, "POST", f"/api/v2/developments/{development}/addresses", json=extra)
        assert (await crm.write("location", location, made.ref)).action == "unchanged"
        moved = Location.model_validate(
            {**location.model_dump(), "address": {**ADDRESS, "line1": "5 Moved Rd"}}
        )
        assert (await crm.write("location", moved, made.ref)).action == "updated"
        found = [r async for r in crm.read("location", collections=["developments"])]
    addresses = box.nested_records("addresses", development)
    assert [a["street"] for a in addresses] == ["5 Moved Rd", "2 Side St"]
    mine = [i.record for i in found if isinstance(i, SourceRecord) and i.source_id == made.ref]
    assert isinstance(mine[0], Location) and mine[0].address is not None
    assert mine[0].address.line1 == "5 Moved Rd"
    assert "addresses" not in box.collections["developments"].get(development)  # type: ignore[operator]


async def test_side_effects_follow_settings(box: PropertybaseSandbox) -> None:
    """Users who want the CRM's emails and tasks can switch them back on."""
    person = Person(key="p", first_name="Bo", last_name="Lee", emails=["bo.lee@example.com"])
    async with connector(box, dont_send_email=False, no_followup_task=False) as crm:
        await crm.write("person", person, None)
    assert box.side_effects.page(0, 1)[0][0]["emails_sent"]


async def test_errors(box: PropertybaseSandbox, sleeps: Sleeps) -> None:
    """401, failure with HTTP 200, 5xx and malformed records are typed errors or ReadFailures."""
    async with connector(box, api_key="wrong-key-123") as bad:
        with pytest.raises(errors.AuthFailed) as caught:
            await bad.check()
    assert "wrong-key-123" not in str(caught.value)
    person = Person(key="p", first_name="Ada", last_name="Lee", emails=["x1@example.com"])
    async with connector(box, sleeps) as crm:
        box.fail_with_200 = True
        with pytest.raises(errors.InvalidRecord, match="Record is locked"):
            await crm.write("person", person, None)
        box.fail_with_200 = False
        leads = box.collections["leads"]
        leads.put(2, {"id": 2, "first_name": "", "last_name": "", "email": "not-an-email"})
        items = [i async for i in crm.read("person", collections=["leads"])]
        assert sum(isinstance(i, ReadFailure) for i in items) == 1 and len(items) == 40
        box.faults.update({"error_rate": 1.0})
        with pytest.raises(errors.Unavailable):
            await crm.check()
    assert len(sleeps.delays) == 2
