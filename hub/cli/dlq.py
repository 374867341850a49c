"""``prophub dlq``: inspect, retry or drop dead letters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.shared import ConfigOption, JsonOption, TenantOption, load, run_async

if TYPE_CHECKING:
    from hub.config import HubConfig

app = typer.Typer(help="Inspect, retry or drop dead letters.", no_args_is_help=True)


@app.command("list")
def dlq_list(
    config: ConfigOption = Path("prophub.toml"),
    flow: Annotated[str | None, typer.Option(help="Only this flow.")] = None,
    as_json: JsonOption = False,
    tenant: TenantOption = "",
) -> None:
    """List the tenant's dead letters with their reasons."""
    cfg = load(config)
    letters = run_async(_dead_letters(cfg, flow, tenant))
    from hub.secrets import mask

    for letter in letters:
        # Reasons stored before a secret was known to the hub are masked on the way out too.
        if as_json:
            typer.echo(mask(json.dumps(letter, default=str)))
        else:
            typer.echo(
                mask(f"{letter['id']}\t{letter['flow']}\t{letter['key']}\t{letter['reason']}")
            )


async def _dead_letters(cfg: HubConfig, flow: str | None, tenant: str = "") -> list[dict[str, Any]]:
    """The tenant's stored dead letters, of one flow or all."""
    from hub.state import StateStore
    from hub.tenants import scoped, tenant_of

    wanted = None if flow is None else scoped(tenant, flow)
    async with StateStore.open(cfg.state.url) as store:
        letters = await store.dead_letters(flow=wanted)
    return [dict(letter) for letter in letters if tenant_of(letter["flow"]) == tenant]


@app.command("retry")
def dlq_retry(
    config: ConfigOption = Path("prophub.toml"),
    flow: Annotated[str | None, typer.Option(help="Only this flow.")] = None,
    tenant: TenantOption = "",
) -> None:
    """Send the tenant's dead-lettered records through their flow's write path again."""
    cfg = load(config)
    report = run_async(_dlq_retry(cfg, flow, tenant))
    typer.echo(
        f"retried {report['retried']}, written {report['written']}, "
        f"still failing {report['failed']}"
    )
    if report["failed"]:
        raise typer.Exit(1)


async def _dlq_retry(cfg: HubConfig, flow: str | None, tenant: str = "") -> dict[str, int]:
    """Retry dead letters through the library API; what was retried, written, still failing."""
    from hub.app import Hub

    async with Hub.from_config(cfg) as hub:
        return await hub.retry_dead_letters(flow, tenant=tenant)


@app.command("drop")
def dlq_drop(
    ids: Annotated[list[int], typer.Argument(help="Dead-letter ids to drop.")],
    config: ConfigOption = Path("prophub.toml"),
    tenant: TenantOption = "",
) -> None:
    """Drop the tenant's dead letters by id; another tenant's are refused and named."""
    cfg = load(config)
    dropped, refused = run_async(_dlq_drop(cfg, ids, tenant))
    if refused:
        typer.echo(f"dropped {dropped}; not this tenant's: {', '.join(map(str, refused))}")
        raise typer.Exit(1)
    typer.echo(f"dropped {dropped}")


async def _dlq_drop(cfg: HubConfig, ids: list[int], tenant: str = "") -> tuple[int, list[int]]:
    """Drop the tenant's dead letters by id; how many there were, and the ids refused as
    another tenant's."""
    from hub.state import StateStore
    from hub.tenants import tenant_of

    async with StateStore.open(cfg.state.url) as store:
        flows = await store.dead_letter_flows(ids)
        # A letter's flow never changes (a repeat updates the row of the same flow), so what
        # is read here still holds when it is dropped.
        mine = {i for i, flow in flows.items() if tenant_of(flow) == tenant}
        dropped = sum([await store.drop_dead_letter(i) for i in sorted(mine)])
    return dropped, sorted(set(flows) - mine)
