"""Builder Backed homeowners: added once, kept whole, matched exactly, routes from settings."""

from __future__ import annotations

import pytest

from connectors.builder_backed import BuilderBackedSandbox
from hub import errors
from hub.connector import ReadEnd, WriteAction
from hub.models import Person
from tests.connectors.builder_backed.helpers import connector, make_owner, set_owners, stored_home


async def test_homeowners_keep_prefix_suffix_and_default_home(box: BuilderBackedSandbox) -> None:
    """prefix, suffix and defaultHome reach Builder Backed and come back."""
    person = make_owner("dr.ann@example.com", homeowner_type="secondary", default_home=True)
    person = person.model_copy(update={"prefix": "Dr.", "suffix": "Jr."})
    async with connector(box) as warranty:
        assert (await warranty.write("person", person, None)).action is WriteAction.CREATED
        people = [i.record async for i in warranty.read("person") if not isinstance(i, ReadEnd)]  # type: ignore[union-attr]
    added = stored_home(box, "bb-home-000001")["homeowners"][-1]
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
    person = make_owner("ann@example.com")
    async with connector(box) as warranty:
        made = await warranty.write("person", person, None)
        assert made.action is WriteAction.CREATED
        box.by_path.clear()
        renamed = person.model_copy(update={"last_name": "Li"})
        assert (await warranty.write("person", renamed, None)).action is WriteAction.UPDATED
        assert (await warranty.write("person", renamed, made.ref)).action is WriteAction.UNCHANGED
        assert not [p for p in box.by_path if p.startswith("POST")]
        home = stored_home(box, "bb-home-000001")
        assert [o["lastName"] for o in home["homeowners"] if o["email"] == "ann@example.com"] == [
            "Li"
        ]
        kept = [o for o in home["homeowners"] if o["email"] != "ann@example.com"]
        set_owners(box, "bb-home-000001", kept)
        with pytest.raises(errors.PermanentError, match="no longer on home"):
            await warranty.write("person", renamed, made.ref)
        assert not [p for p in box.by_path if p.startswith("POST")]
    async with connector(box, homeowner_update="refuse") as strict:
        added = await strict.write("person", make_owner("bo@example.com"), None)
        assert added.action is WriteAction.CREATED
        with pytest.raises(errors.UnsupportedValue, match="documents no homeowner update"):
            changed = make_owner("bo@example.com").model_copy(update={"first_name": "Bob"})
            await strict.write("person", changed, added.ref)


async def test_trusting_a_409_on_repeats_saves_the_read(box: BuilderBackedSandbox) -> None:
    """With homeowner_repeat = "conflict" a new homeowner is one POST and a repeat's 409
    resolves to them; a homeowner the cross-reference knows is still never POSTed."""
    person = make_owner("ann@example.com")
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
            await warranty.write("person", make_owner("cy@example.com"), None)
    path = "/api/v2/homes/{externalHomeId}/homeowners"
    async with connector(box, homeowners_path=path) as warranty:
        with pytest.raises(errors.NotFound):
            await warranty.write("person", make_owner("cy@example.com"), None)
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
    set_owners(box, "bb-home-000001", owners)
    untouched = [o for o in owners if outcome == "ambiguous" or o["email"] != "ann@example.com"]
    person = make_owner("ann@example.com")
    async with connector(box) as warranty:
        if outcome == "ambiguous":
            with pytest.raises(errors.AmbiguousMatch, match="ambiguous match") as caught:
                await warranty.write("person", person, None)
            assert len(caught.value.candidates) == 2
        else:
            assert (await warranty.write("person", person, None)).action == outcome
    owners = stored_home(box, "bb-home-000001")["homeowners"]
    assert [o for o in owners if o in untouched] == untouched
    if outcome != "ambiguous":
        assert [o["firstName"] for o in owners if o["email"] == "ann@example.com"] == ["Ann"]
