"""Deletion safety: a full flow with ``on_delete = "delete"`` against a Buildium list endpoint
that misbehaves, over loopback. No record the source still holds is ever deleted at the target.

The source is a small fake of Buildium's ``GET /v1/associations`` (offset/limit paging, the
total in ``X-Total-Count``) that first serves five associations truthfully, then answers one of
the ways a hostile or broken vendor can; the target is the in-memory fake vendor.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from connectors.buildium import BuildiumConnector, BuildiumSettings
from hub.client.retry import RetryPolicy
from hub.config import FlowSettings
from hub.state import StateStore
from hub.sync import run_flow
from hub.testing import FakeConnector
from tests.conftest import Serve, Sleeps


def association(i: int) -> dict[str, Any]:
    """A Buildium association as its GET message has it."""
    return {
        "Id": i,
        "Name": f"Association {i}",
        "IsActive": True,
        "Address": {
            "AddressLine1": f"{i} Oak St",
            "City": "Austin",
            "State": "TX",
            "PostalCode": "78701",
            "Country": "UnitedStates",
        },
    }


ALL = [association(i) for i in range(1, 6)]
#: a page's records and the X-Total-Count header it states (None: no header)
Answer = Callable[[int, int], tuple[list[Any], str | None]]


def truthful(offset: int, limit: int) -> tuple[list[Any], str | None]:
    return ALL[offset : offset + limit], str(len(ALL))


SCENARIOS: dict[str, Answer] = {
    # X-Total-Count: -5, two records: formerly read 2 of 5 and deleted 3
    "negative total": lambda o, n: (ALL[:2] if o == 0 else [], "-5"),
    "total absent": lambda o, n: (ALL[:2] if o == 0 else [], None),
    "short of the total": lambda o, n: (ALL[:2] if o == 0 else [], "5"),
    # ids out of order: formerly the reader dropped each id at or below the highest seen
    "unordered ids": lambda o, n: (list(reversed(ALL))[o : o + n], "5"),
    "a malformed record": lambda o, n: (
        [*ALL[:2], {"Id": 3, "Name": "Broken", "Address": "nowhere"}, *ALL[3:]][o : o + n],
        "5",
    ),
    "a page of strings": lambda o, n: (["a", "b", "c", "d", "e"][o : o + n], "5"),
    "restarted empty": lambda o, n: ([], "0"),
    "one gone of five (mass)": lambda o, n: (ALL[1:][o : o + n], "4"),
}


def buildium_app(state: dict[str, Answer]) -> web.Application:
    async def associations(request: web.Request) -> web.Response:
        offset = int(request.query.get("offset", 0))
        limit = int(request.query.get("limit", 50))
        items, total = state["answer"](offset, limit)
        headers = {"X-Total-Count": total} if total is not None else {}
        return web.json_response(items, headers=headers)

    app = web.Application()
    app.router.add_get("/v1/associations", associations)
    return app


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_no_record_the_source_holds_is_deleted(
    serve: Serve, sleeps: Sleeps, tmp_path: Path, scenario: str
) -> None:
    """Every misbehaving read deletes nothing, and the run's report says why."""
    state: dict[str, Answer] = {"answer": truthful}
    url = await serve(buildium_app(state))
    settings = BuildiumSettings(
        base_url=url, client_id="id", client_secret="secret", page_size=2, rate_limit=0
    )
    source = BuildiumConnector(
        settings, name="hoa", sleep=sleeps, retry=RetryPolicy(max_attempts=1)
    )
    target = FakeConnector(name="t")
    flow = FlowSettings(
        name="hoa-to-t",
        source="hoa",
        target="t",
        entity="location",
        mode="full",
        on_delete="delete",
    )
    async with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store, source:
        first = await run_flow(flow, source, target, store)
        assert first.created == 5 and len(target.data["location"]) == 5
        state["answer"] = SCENARIOS[scenario]
        report = await run_flow(flow, source, target, store)
    assert target.deletes == 0 and len(target.data["location"]) == 5, report
    if scenario == "unordered ids":  # every record read: nothing is gone
        assert report.read == 5 and report.deleted == report.withheld == 0
        return
    assert report.deleted == 0 and report.withheld > 0
    assert any("withheld" in note for note in report.notes)


async def test_a_complete_read_still_deletes(serve: Serve, sleeps: Sleeps, tmp_path: Path) -> None:
    """One of twenty gone, with a truthful total and nothing malformed, is deleted."""
    records = [association(i) for i in range(1, 21)]
    state: dict[str, Answer] = {"answer": lambda o, n: (records[o : o + n], str(len(records)))}
    url = await serve(buildium_app(state))
    settings = BuildiumSettings(
        base_url=url, client_id="id", client_secret="secret", page_size=7, rate_limit=0
    )
    source = BuildiumConnector(settings, name="hoa", sleep=sleeps)
    target = FakeConnector(name="t")
    flow = FlowSettings(
        name="hoa-to-t",
        source="hoa",
        target="t",
        entity="location",
        mode="full",
        on_delete="delete",
    )
    async with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store, source:
        await run_flow(flow, source, target, store)
        del records[4]
        report = await run_flow(flow, source, target, store)
    assert report.deleted == 1 and target.deletes == 1 and len(target.data["location"]) == 19


def test_the_command_line_withholds_plans_and_allows_a_mass_deletion(tmp_path: Path) -> None:
    """``prophub sync`` says why it withheld deletions, ``--dry-run`` lists them, and
    ``--allow-mass-delete`` makes them."""
    from typer.testing import CliRunner

    from hub import registry
    from hub.cli import app
    from hub.models import Address, Home
    from hub.testing import fake_plugin

    source, target = FakeConnector(name="s"), FakeConnector(name="t")
    for i in range(20):
        address = Address(line1=f"{i} Oak St", city="Austin", state="TX", postal_code="78701")
        source.put("home", Home(key=f"home-{i}", address=address))
    registry.register(fake_plugin({"s": source, "t": target}))
    path = tmp_path / "prophub.toml"
    path.write_text(
        f'[state]\nurl = "sqlite:///{tmp_path / "state.db"}"\n'
        '[connectors.s]\ntype = "fake"\n[connectors.t]\ntype = "fake"\n'
        '[[flows]]\nname = "s-to-t"\nsource = "s"\ntarget = "t"\nentity = "home"\n'
        'mode = "full"\non_delete = "delete"\n'
    )
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["sync", "--config", str(path)]).exit_code == 0
        for i in range(5):
            del source.data["home"][f"home-{i}"]
        withheld = runner.invoke(app, ["sync", "--config", str(path)])
        assert (
            "5 deletion(s) withheld" in withheld.output and "--allow-mass-delete" in withheld.output
        )
        planned = runner.invoke(
            app, ["sync", "--config", str(path), "--dry-run", "--allow-mass-delete"]
        )
        assert planned.output.count("would delete home-") == 5 and target.deletes == 0
        assert "would create 0, match 0 already at the target" in planned.output
        assert "delete 5" in planned.output
        done = runner.invoke(app, ["sync", "--config", str(path), "--allow-mass-delete", "--json"])
        assert done.exit_code == 0 and target.deletes == 5
        assert '"deleted": 5' in done.output
    finally:
        registry.unregister("fake")
