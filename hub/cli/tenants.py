"""``prophub tenants``: add, list, show and remove tenants; seal their secrets anew."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.shared import ConfigOption, JsonOption, fail, load, run_async

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.config import HubConfig

app = typer.Typer(
    help="Tenants: named sets of connector credentials run with the config's flows.",
    no_args_is_help=True,
)


def _definition(name: str, file: Path | None, settings: list[str]) -> dict[str, Any]:
    """A tenant's definition from a TOML file and ``--set a.b.c=value`` pairs."""
    body: dict[str, Any] = {}
    if file is not None:
        try:
            body = tomllib.loads(file.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            fail(f"{file}: {exc}", 2)
    for pair in settings:
        path, sep, value = pair.partition("=")
        if not sep or not path:
            fail(f"--set {pair.split('=')[0]}: give KEY=VALUE", 2)
        *parents, last = path.split(".")
        table = body
        for part in parents:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                fail(f"--set {path}: {part} is not a table", 2)
        table[last] = value
    return {**body, "name": name}


@app.command("add")
def add(
    name: Annotated[
        str, typer.Argument(help="The tenant's name (a-z, 0-9, - and _; not 'default').")
    ],
    config: ConfigOption = Path("prophub.toml"),
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A TOML tenant definition.")
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=VALUE, e.g. connectors.hoa.client_secret='${ACME_SECRET}' (repeatable).",
        ),
    ] = None,
) -> None:
    """Add a tenant, or replace one of that name; its secrets are stored sealed."""
    cfg = load(config)
    definition = _definition(name, file, settings or [])
    run_async(_with_hub(cfg, lambda hub: hub.tenants.add(definition)))
    typer.echo(f"tenant {name} stored")


@app.command("list")
def list_tenants(config: ConfigOption = Path("prophub.toml"), as_json: JsonOption = False) -> None:
    """Every tenant: its name, whether it runs, the connectors it changes and its flows."""
    cfg = load(config)
    tenants = run_async(_with_hub(cfg, lambda hub: hub.tenants.all()))
    for name, tenant in sorted(tenants.items()):
        flows = tenant.flows if tenant.flows is not None else [f.name for f in cfg.flows]
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "name": name,
                        "enabled": tenant.enabled,
                        "connectors": sorted(tenant.connectors),
                        "flows": flows,
                    }
                )
            )
        else:
            state = "enabled" if tenant.enabled else "disabled"
            typer.echo(
                f"{name}\t{state}\t{','.join(sorted(tenant.connectors))}\t{len(flows)} flows"
            )


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The tenant's name.")],
    config: ConfigOption = Path("prophub.toml"),
) -> None:
    """A tenant's definition, its secrets shown as ``***`` (references as they are)."""
    cfg = load(config)
    tenants = run_async(_with_hub(cfg, lambda hub: hub.tenants.all()))
    if name not in tenants:
        fail(f"no tenant named {name!r}", 1)
    from hub.tenants.sealing import secret_fields

    body = tenants[name].model_dump()
    for connector, table in body["connectors"].items():
        settings = cfg.connectors.get(connector)
        hidden = secret_fields(type(settings)) if settings is not None else set()
        for field, value in table.items():
            if field in hidden and isinstance(value, str) and "${" not in value:
                table[field] = "***"
    typer.echo(json.dumps(body, indent=2, sort_keys=True))


@app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The tenant's name.")],
    config: ConfigOption = Path("prophub.toml"),
) -> None:
    """Forget a stored tenant (its state stays, under its name, should it come back)."""
    cfg = load(config)
    if not run_async(_with_hub(cfg, lambda hub: hub.tenants.remove(name))):
        fail(f"no stored tenant named {name!r}", 1)
    typer.echo(f"tenant {name} removed")


@app.command("rotate")
def rotate(config: ConfigOption = Path("prophub.toml")) -> None:
    """Seal every stored tenant's secrets again under the newest key of PROPHUB_SECRET_KEYS."""
    cfg = load(config)
    count = run_async(_with_hub(cfg, lambda hub: hub.tenants.rotate()))
    typer.echo(f"{count} tenants sealed under the newest key")


@app.command("new-key")
def new_key() -> None:
    """Print a new key for PROPHUB_SECRET_KEYS."""
    from hub.tenants.sealing import SecretBox

    typer.echo(SecretBox.new_key())


async def _with_hub(cfg: HubConfig, work: Any) -> Any:
    """Open the hub (its store and tenants), do ``work(hub)``."""
    from hub.app import Hub

    hub: Hub
    async with Hub.from_config(cfg) as hub:
        return await work(hub)
