"""The Propertybase connector against the sandbox: reads, exact matches, nesting, errors."""

from __future__ import annotations

import pytest

from connectors.propertybase import PropertybaseSandbox
from hub import errors
from hub.connector import ReadFailure, SourceRecord, WriteAction
from hub.models import Location, Organization, Person
from tests.conftest import Sleeps
from tests.connectors.propertybase.helpers import (
    ADDRESS,
    call,
    connector,
    count_records,
    seed_records,
    snapshot,
)


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
    decoy_ids = seed_records(box, "leads", "email", decoys)
    wanted = seed_records(box, "leads", "email", [LEAD_EMAIL]) if with_wanted else []
    before = snapshot(box, "leads", decoy_ids)
    total = count_records(box, "leads")
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
    assert snapshot(box, "leads", decoy_ids) == before
    assert count_records(box, "leads") == total + (outcome == "created")


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
    decoy_ids = seed_records(box, "developments", "name", decoys)
    wanted = seed_records(box, "developments", "name", [DEVELOPMENT]) if with_wanted else []
    before = snapshot(box, "developments", decoy_ids)
    before_addresses = [box.nested_records("addresses", i) for i in decoy_ids]
    total = count_records(box, "developments")
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
    assert snapshot(box, "developments", decoy_ids) == before
    assert [box.nested_records("addresses", i) for i in decoy_ids] == before_addresses
    assert count_records(box, "developments") == total + (outcome == "created")


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


def test_a_page_size_past_100_is_refused() -> None:
    """Past the stated maximum, a server capping pages silently would end the read early."""
    from pydantic import ValidationError

    from connectors.propertybase import PropertybaseSettings

    table = {"base_url": "http://127.0.0.1:9", "api_key": "k"}
    assert PropertybaseSettings.model_validate({**table, "page_size": 100}).page_size == 100
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        PropertybaseSettings.model_validate({**table, "page_size": 101})


async def test_a_create_answered_without_an_id_is_an_unknown_outcome() -> None:
    """The lead may be made, and there is no id to find it by: a typed error the engine
    settles by a look-up, not a KeyError that stops the run."""
    import json

    from aiohttp import web

    from hub.sandbox.options import SandboxOptions

    @web.middleware
    async def no_id(request: web.Request, handler: object) -> web.StreamResponse:
        response = await handler(request)  # type: ignore[operator]
        if request.method == "POST" and request.path.endswith("/leads"):
            body = json.loads(response.body)
            body["data"].pop("id", None)
            return web.json_response(body, status=response.status)
        return response  # type: ignore[no-any-return]

    box = PropertybaseSandbox(SandboxOptions(size=3, seed=3))
    box.add_middleware(no_id)
    person = Person(key="p", first_name="Ada", last_name="Lee", emails=["ada.lee@example.org"])
    async with box, connector(box) as crm:
        with pytest.raises(errors.ProtocolError, match="no id") as raised:
            await crm.write("person", person, None)
        assert raised.value.outcome_unknown
        assert await crm.lookup("person", person) is not None  # it was made: found so
