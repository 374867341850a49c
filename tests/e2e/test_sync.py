"""The whole hub against the sandboxes: the demo flows, twice, and what the targets then hold."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from hub.app import Hub
from hub.config import HubConfig
from hub.sandbox.server import SandboxServer


def stored(box: SandboxServer, collection: str) -> list[dict[str, Any]]:
    col = box.collections[collection]
    return col.page(0, col.count())[0]


async def test_demo_flows_fill_targets_and_second_pass_writes_nothing(
    boxes: dict[str, SandboxServer], config: HubConfig
) -> None:
    """Associations, units and owners reach Builder Backed, homeowners reach the CRM, once."""
    async with Hub(config) as hub:
        first = {r.flow: r for r in await hub.sync_all()}
        second = await hub.sync_all(full=True)
    assert first["hoa-associations-to-warranty"].created == 2
    assert first["hoa-units-to-warranty"].created == 40
    assert first["hoa-owners-to-warranty"].created == 40
    assert first["warranty-homeowners-to-crm"].created == 40
    assert all(r.failed == 0 for r in first.values())
    assert sum(r.created + r.updated for r in second) == 0
    warranty, crm = boxes["warranty"], boxes["crm"]
    homes = stored(warranty, "homes")
    assert len(homes) == 40 and all(len(h["homeowners"]) == 1 for h in homes)
    hoods = {h["externalId"] for h in stored(warranty, "neighborhoods")}
    assert {h["neighborhoodExternalId"] for h in homes} <= hoods
    leads = stored(crm, "leads")
    emails = [lead["email"] for lead in leads]
    assert len(emails) == len(set(emails)) == 20 + 40  # seeded leads plus one per homeowner
    effects = stored(crm, "lead-side-effects")
    assert len(effects) == 40 and not any(e["emails_sent"] or e["followup_task"] for e in effects)


async def test_rerun_after_losing_state_duplicates_nothing(
    boxes: dict[str, SandboxServer], config: HubConfig, tmp_path: Any
) -> None:
    """Even with a fresh state store, 409s and lookups resolve to the existing records."""
    async with Hub(config) as hub:
        await hub.sync_all()
    fresh = config.model_copy(deep=True)
    fresh.state.url = f"sqlite:///{tmp_path / 'other.db'}"
    async with Hub(fresh) as hub:
        reports = await hub.sync_all()
    assert sum(r.created for r in reports) == 0
    assert all(r.failed == 0 for r in reports)
    assert len(stored(boxes["warranty"], "homes")) == 40
    assert len(stored(boxes["crm"], "leads")) == 60


async def test_rejected_record_is_dead_lettered_with_vendor_message(
    boxes: dict[str, SandboxServer], config: HubConfig
) -> None:
    """A home Builder Backed refuses lands in the DLQ with its message; the others land."""
    units = boxes["hoa"].collections["association-units"]
    first = units.get(1) or {}
    foreign = {
        **first["Address"],
        "Country": "Canada",
        "State": "Nowhere Province",
        "PostalCode": "K1A 0B1",
    }
    units.put(1, {**first, "Address": foreign})
    async with Hub(config) as hub:
        await hub.sync("hoa-associations-to-warranty")
        report = await hub.sync("hoa-units-to-warranty")
        letters = await hub.store.dead_letters("hoa-units-to-warranty")
    assert report.failed == 1 and report.created == 39
    assert letters[0]["key"] == "buildium:association-unit:1"
    assert "Field 'state' must be a 2-letter code" in letters[0]["reason"]


async def test_missing_parent_at_target_is_recreated(
    boxes: dict[str, SandboxServer], config: HubConfig
) -> None:
    """A neighborhood deleted at the target after it was written is written again first."""
    async with Hub(config) as hub:
        await hub.sync("hoa-associations-to-warranty")
        hoods = boxes["warranty"].collections["neighborhoods"]
        for record_id in list(hoods.ids()):
            hoods.delete(record_id)
        boxes["warranty"].created_ids["neighborhoods"].clear()  # type: ignore[attr-defined]
        report = await hub.sync("hoa-units-to-warranty")
    assert report.created == 40 and report.failed == 0
    assert hoods.count() == 2


async def test_sync_runs_flows_in_dependency_order_and_isolates_a_failing_one(
    boxes: dict[str, SandboxServer], config: HubConfig
) -> None:
    """``prophub sync`` with no names runs parents' flows first whatever the config's order,
    and a flow that fails (a 401) is reported while the others still run and report."""
    from hub.cli import _sync

    reordered = config.model_copy(deep=True)
    reordered.flows.reverse()  # homes listed before the locations they need
    bad = reordered.connectors["crm"].model_copy(update={"api_key": SecretStr("wrong-key-123")})
    reordered.connectors["crm"] = bad
    reports, errors = await _sync(
        reordered, None, full=False, dry_run=False, allow_mass_delete=False, as_json=False
    )
    ran = [r.flow for r in reports]
    assert ran.index("hoa-associations-to-warranty") < ran.index("hoa-units-to-warranty")
    assert ran.index("hoa-units-to-warranty") < ran.index("hoa-owners-to-warranty")
    assert "warranty-homeowners-to-crm" not in ran  # after the owners it reads, and failed
    by_flow = {r.flow: r for r in reports}
    assert by_flow["hoa-units-to-warranty"].created == 40
    assert by_flow["hoa-units-to-warranty"].failed == 0  # none dead-lettered for its parent
    failed = dict(errors)
    assert set(failed) == {"crm-developments-to-warranty", "warranty-homeowners-to-crm"}
    assert all("401" in message for message in failed.values())
