"""Tenants: each a set of credentials run with the config's flows, its state its own.

Three sets of the demo's sandboxes over loopback, all seeded alike, so every vendor id is
the same in each: the config's own connectors point at the first (the default tenant),
tenants ``acme`` and ``zen`` at the others.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors.builder_backed import BuilderBackedSandbox
from connectors.demo import running_sandboxes
from hub.app import Hub
from hub.config import HubConfig
from hub.errors import ConfigError
from hub.sandbox.server import SandboxServer
from hub.tenants import SecretBox

FLOWS = ("hoa-associations-to-warranty", "hoa-units-to-warranty")


@pytest.fixture
async def other_boxes() -> AsyncIterator[list[dict[str, SandboxServer]]]:
    """Two more sets of the demo's sandboxes, seeded as the first."""
    async with (
        running_sandboxes(seed=7, sizes={"hoa": 40, "crm": 20}) as acme,
        running_sandboxes(seed=7, sizes={"hoa": 40, "crm": 20}) as zen,
    ):
        yield [acme, zen]


def tenant(name: str, boxes: dict[str, SandboxServer], **secret: str) -> dict[str, Any]:
    """A tenant whose Buildium and Builder Backed accounts are these sandboxes."""
    hoa, warranty = boxes["hoa"].connector_table(), boxes["warranty"].connector_table()
    return {
        "name": name,
        "connectors": {
            "hoa": {k: v for k, v in hoa.items() if k != "type"} | secret,
            "warranty": {k: v for k, v in warranty.items() if k != "type"},
        },
        "flows": list(FLOWS),
    }


def homes(box: SandboxServer) -> int:
    assert isinstance(box, BuilderBackedSandbox)
    return len(box.collections["homes"].page(0, 10_000)[0])


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Sealing keys in the environment, the newest first."""
    made = [SecretBox.new_key(), SecretBox.new_key()]
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", made[1])
    return made


async def test_tenants_with_the_same_ids_never_see_each_others_records(
    config: HubConfig,
    boxes: dict[str, SandboxServer],
    other_boxes: list[dict[str, SandboxServer]],
    keys: list[str],
) -> None:
    acme, zen = other_boxes
    async with Hub.from_config(config) as hub:
        await hub.tenants.add(tenant("acme", acme))
        await hub.tenants.add(tenant("zen", zen))
        assert await hub.tenants.names() == ["", "acme", "zen"]
        first = [await hub.sync(flow, tenant="acme") for flow in FLOWS]
        # zen's ids are acme's ids: what acme wrote must not make zen's records "known".
        second = [await hub.sync(flow, tenant="zen") for flow in FLOWS]
        again = [await hub.sync(flow, tenant="acme") for flow in FLOWS]
        xrefs = await hub.store.run(
            lambda conn: conn.exec_driver_sql(
                "SELECT connector, count(*) FROM xref GROUP BY connector ORDER BY connector"
            ).all()
        )
    assert [r.flow for r in first] == [f"acme/{f}" for f in FLOWS]
    assert [r.created for r in first] == [r.created for r in second] and first[1].created == 40
    assert all(r.created == r.updated == 0 for r in again)
    assert homes(acme["warranty"]) == homes(zen["warranty"]) == 40
    assert homes(boxes["warranty"]) == 0  # the default tenant's account: never written
    # Each tenant's cross-references are its own, none under the default tenant's name.
    both = sum(r.created for r in first)
    counts = dict(xrefs)  # the configured division and community besides what was read
    assert set(counts) == {"acme/warranty", "zen/warranty"}
    assert counts["acme/warranty"] == counts["zen/warranty"] == both + 2


async def test_a_tenant_secret_is_sealed_at_rest_and_survives_a_key_rotation(
    config: HubConfig,
    other_boxes: list[dict[str, SandboxServer]],
    keys: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acme, _ = other_boxes
    secret = acme["hoa"].connector_table()["client_secret"]
    async with Hub.from_config(config) as hub:
        await hub.tenants.add(tenant("acme", acme))
    database = Path(config.state.url.removeprefix("sqlite:///"))
    stored = _bodies(database)
    assert secret not in stored and "sealed:" in stored
    # The newest key first, the old one after it: rotate, then drop the old one.
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", f"{keys[0]},{keys[1]}")
    async with Hub.from_config(config) as hub:
        assert await hub.tenants.rotate() == 1
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", keys[0])
    async with Hub.from_config(config) as hub:
        assert _bodies(database) != stored
        report = await hub.sync(FLOWS[0], tenant="acme")
        assert report.created > 0 and report.failed == 0
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", keys[1])  # the retired key opens nothing now
    async with Hub.from_config(config) as hub:
        with pytest.raises(ConfigError, match="cannot be opened"):
            await hub.sync(FLOWS[0], tenant="acme")


async def test_a_secret_as_a_reference_is_stored_as_one_and_without_keys_nothing_is_sealed(
    config: HubConfig,
    other_boxes: list[dict[str, SandboxServer]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acme, _ = other_boxes
    secret = acme["hoa"].connector_table()["client_secret"]
    monkeypatch.delenv("PROPHUB_SECRET_KEYS", raising=False)
    monkeypatch.setenv("ACME_HOA_SECRET", secret)
    async with Hub.from_config(config) as hub:
        with pytest.raises(ConfigError, match="PROPHUB_SECRET_KEYS"):
            await hub.tenants.add(tenant("acme", acme))
        by_reference = tenant("acme", acme, client_secret="${ACME_HOA_SECRET}")
        by_reference["connectors"]["warranty"]["client_secret"] = "${ACME_HOA_SECRET}"
        await hub.tenants.add(by_reference)
    database = Path(config.state.url.removeprefix("sqlite:///"))
    assert "${ACME_HOA_SECRET}" in _bodies(database) and secret not in _bodies(database)


async def test_tenants_come_and_go_while_the_hub_runs_and_from_a_directory(
    config: HubConfig,
    other_boxes: list[dict[str, SandboxServer]],
    keys: list[str],
    tmp_path: Path,
) -> None:
    acme, zen = other_boxes
    folder = tmp_path / "tenants"
    folder.mkdir()
    config = config.model_copy(
        update={"tenants": config.tenants.model_copy(update={"dir": str(folder)})}
    )
    async with Hub.from_config(config) as hub:
        assert await hub.tenants.names() == [""]
        await hub.tenants.add(tenant("acme", acme))
        hoa, warranty = zen["hoa"].connector_table(), zen["warranty"].connector_table()
        (folder / "zen.toml").write_text(
            f'flows = ["{FLOWS[0]}"]\n'
            f'[connectors.hoa]\nbase_url = "{hoa["base_url"]}"\n'
            f'[connectors.warranty]\nbase_url = "{warranty["base_url"]}"\n'
            f'token_url = "{warranty["token_url"]}"\n'
        )
        assert await hub.tenants.names() == ["", "acme", "zen"]
        report = await hub.sync(FLOWS[0], tenant="zen")
        assert report.flow == f"zen/{FLOWS[0]}" and report.created > 0
        with pytest.raises(ConfigError, match="no flow named"):
            await hub.sync(FLOWS[1], tenant="zen")
        assert await hub.tenants.remove("acme")
        assert await hub.tenants.names() == ["", "zen"]
        with pytest.raises(ConfigError, match="no tenant named 'acme'"):
            await hub.sync(FLOWS[0], tenant="acme")


def _bodies(database: Path) -> str:
    with sqlite3.connect(database) as conn:
        return " ".join(body for (body,) in conn.execute("SELECT body FROM tenants"))


async def test_the_daemon_runs_each_flow_for_every_tenant_and_picks_up_new_ones(
    config: HubConfig,
    boxes: dict[str, SandboxServer],
    other_boxes: list[dict[str, SandboxServer]],
    keys: list[str],
) -> None:
    from hub.daemon import Daemon

    acme, zen = other_boxes
    only = [f for f in config.flows if f.name in FLOWS]
    config = config.model_copy(update={"flows": only})
    async with Hub.from_config(config) as hub:
        await hub.tenants.add(tenant("acme", acme))
    daemon = Daemon(config, handle_signals=False, configure_logs=False)
    reports = await daemon.run_once()
    metrics = daemon.metrics.render().decode()
    # Per tenant and per credential, a few series each; flows by the config's own names.
    assert 'prophub_tenant_requests_total{tenant="acme"}' in metrics
    assert 'prophub_tenant_runs_total{result="ok",tenant="default"} 2.0' in metrics
    assert "acme/" not in metrics and acme["hoa"].connector_table()["client_secret"] not in metrics
    credentials = {
        line.split('"')[1]
        for line in metrics.splitlines()
        if line.startswith("prophub_credential_requests_total{")
    }
    assert len(credentials) == 5  # the config's three connectors, and acme's two it changes
    assert [r.flow for r in reports] == [
        f"{prefix}{flow}" for flow in FLOWS for prefix in ("", "acme/")
    ]
    assert homes(boxes["warranty"]) == homes(acme["warranty"]) == 40
    # A tenant added while the hub runs elsewhere: the next round takes it, no restart.
    async with Hub.from_config(config) as hub:
        await hub.tenants.add(tenant("zen", zen))
    again = await Daemon(config, handle_signals=False, configure_logs=False).run_once()
    assert {r.flow: r.created for r in again}[f"zen/{FLOWS[1]}"] == 40
    assert all(r.created == 0 for r in again if not r.flow.startswith("zen/"))


async def test_status_check_and_dead_letters_are_each_tenants_own(
    config: HubConfig,
    boxes: dict[str, SandboxServer],
    other_boxes: list[dict[str, SandboxServer]],
    keys: list[str],
) -> None:
    """A record acme's target refuses is acme's dead letter: `status`, `dlq list` and
    `dlq retry` with --tenant acme see it and retry it with acme's credentials; without,
    they leave it alone."""
    from hub.cli.dlq import _dead_letters, _dlq_retry
    from hub.cli.health import _check, _status

    acme, _ = other_boxes
    units = acme["hoa"].collections["association-units"]
    good = units.get(1) or {}
    foreign = {**good["Address"], "Country": "Canada", "State": "Nowhere Province"}
    units.put(1, {**good, "Address": foreign})
    async with Hub.from_config(config) as hub:
        await hub.tenants.add(tenant("acme", acme))
        for flow in FLOWS:
            await hub.sync(flow, tenant="acme")
            await hub.sync(flow)
    [letter] = await _dead_letters(config, None, "acme")
    assert letter["flow"] == f"acme/{FLOWS[1]}" and "2-letter" in letter["reason"]
    assert await _dead_letters(config, None, "") == []
    rows, _ = await _status(config, "acme")
    assert [(r["flow"], r["status"], r["dead_letters"]) for r in rows] == [
        (f"acme/{FLOWS[0]}", "ok", 0),
        (f"acme/{FLOWS[1]}", "ok", 1),
    ]
    assert all(r["dead_letters"] == 0 for r in (await _status(config, ""))[0])
    assert set((await _check(config, "acme")).values()) == {None}

    # The retry goes to acme's target (which refuses it again), never the default's.
    refused = {name: sum(n for s, n in box.by_status.items() if s >= 400) for name, box in
               (("acme", acme["warranty"]), ("default", boxes["warranty"]))}  # fmt: skip
    assert await _dlq_retry(config, None, "") == {"retried": 0, "written": 0, "failed": 0}
    assert await _dlq_retry(config, FLOWS[1], "acme") == {"retried": 1, "written": 0, "failed": 1}
    assert sum(n for s, n in acme["warranty"].by_status.items() if s >= 400) == refused["acme"] + 1
    assert sum(n for s, n in boxes["warranty"].by_status.items() if s >= 400) == refused["default"]
    assert len(await _dead_letters(config, None, "acme")) == 1


async def test_a_tenants_changed_settings_leave_its_running_flows_their_connectors(
    config: HubConfig,
    other_boxes: list[dict[str, SandboxServer]],
    keys: list[str],
) -> None:
    """Settings changed while a flow of the tenant runs: its next run opens connectors with
    the new ones, the running one keeps its own till it ends, and then they are closed."""
    acme, _ = other_boxes
    async with Hub.from_config(config) as hub:
        await hub.tenants.add(tenant("acme", acme))
        async with hub._using("acme") as (_, opened):
            running = opened.connectors
            changed = tenant("acme", acme)
            changed["connectors"]["hoa"]["page_size"] = 50
            await hub.tenants.add(changed)
            report = await hub.sync(FLOWS[0], tenant="acme")
            assert report.failed == 0
            assert hub._scopes["acme"].connectors["hoa"] is not running["hoa"]
            await running["hoa"].check()  # still open for the run that holds it
        assert not hub._retired
        with pytest.raises(RuntimeError):
            await running["hoa"].check()
