"""The commands that say how things stand: ``check`` (the config and each connector) and
``status`` (each flow's cursor, last run and dead letters)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from hub.cli.shared import ConfigOption, JsonOption, TenantOption, load, run_async
from hub.errors import HubError

if TYPE_CHECKING:
    from hub.config import HubConfig
    from hub.state import Stale


def check(config: ConfigOption = Path("prophub.toml"), tenant: TenantOption = "") -> None:
    """Validate the config, then check each connector's credentials and reachability."""
    cfg = load(config)
    results = run_async(_check(cfg, tenant))
    for name, error in results.items():
        typer.echo(f"{name}: {'ok' if error is None else error}")
    if any(error is not None for error in results.values()):
        raise typer.Exit(1)


async def _check(cfg: HubConfig, tenant: str = "") -> dict[str, str | None]:
    """Each of the tenant's connectors checked: None where it passed, else the error's line.
    The config's own need no state store; a tenant's are defined in it."""
    from hub import registry

    if tenant:
        from hub.app import Hub

        async with Hub.from_config(cfg) as hub:
            return await hub.check(tenant=tenant)
    results: dict[str, str | None] = {}
    for name, settings in cfg.connectors.items():
        connector = registry.get(settings.type).connector(settings, name=name)
        try:
            async with connector:
                await connector.check()
        except HubError as exc:
            results[name] = str(exc)
        else:
            results[name] = None
    return results


def status(
    config: ConfigOption = Path("prophub.toml"),
    as_json: JsonOption = False,
    tenant: TenantOption = "",
) -> None:
    """Show flows with their cursors, last runs and dead-letter counts.

    Runs and leases left behind by a process that is gone (killed, say) are cleared first:
    such a run shows as ``stale``, with a line saying whose it was and why.
    """
    cfg = load(config)
    rows, cleared = run_async(_status(cfg, tenant))
    notes = [_cleared_line(stale) for stale in cleared]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, default=str))
        for note in notes:  # stdout keeps one object per flow
            typer.echo(note, err=True)
        return
    from rich.table import Table

    from hub.cli.output import console

    table = Table(title="flows")
    for column in ("flow", "cursor", "last run", "status", "read", "written", "dead letters"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                str(row[k])
                for k in ("flow", "cursor", "last_run", "status", "read", "written", "dead_letters")
            )
        )
    console().print(table)
    for note in notes:
        typer.echo(note)


def _cleared_line(stale: Stale) -> str:
    """One line saying which stale run or lease was cleared, and why."""
    if stale.kind == "run":
        return f"cleared stale run {stale.run_id} of flow {stale.name}: {stale.reason}"
    return f"cleared stale lease {stale.name}: {stale.reason}"


async def _status(cfg: HubConfig, tenant: str = "") -> tuple[list[dict[str, Any]], list[Stale]]:
    """One row per flow of the tenant from the state store, after clearing what dead
    processes left."""
    from hub.state import StateStore
    from hub.tenants import scoped
    from hub.tenants.directory import TenantDirectory

    rows = []
    async with StateStore.open(cfg.state.url) as store:
        cleared = await store.clear_stale()
        # Names only: a tenant's view would open its secrets, which status never needs.
        for flow in await TenantDirectory(cfg, store).flow_names(tenant):
            name = scoped(tenant, flow)
            last = await store.last_run(name)
            row = {
                "flow": name,
                "cursor": await store.get_cursor(name),
                "last_run": last.get("finished_at") if last else None,
                "status": last.get("status") if last else "never run",
                "read": last.get("read", 0) if last else 0,
                "written": (last.get("created", 0) + last.get("updated", 0)) if last else 0,
                "dead_letters": len(await store.dead_letters(flow=name)),
            }
            if last and last.get("status") == "stale":
                row["stale"] = last.get("error")
            rows.append(row)
    return rows, cleared
