"""The ``prophub`` command line: a thin layer over the library API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from hub import models
from hub.errors import ConfigError, HubError

if TYPE_CHECKING:
    from hub.config import HubConfig

T = TypeVar("T")

app = typer.Typer(
    name="prophub",
    help="Keep Builder Backed, Buildium and Propertybase GO in step.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="PROPHUB_CONFIG", help="The TOML configuration file."),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one error line to stderr and exit."""
    typer.echo(f"prophub: {message}", err=True)
    raise typer.Exit(code)


def load(path: Path) -> HubConfig:
    """Load a config; a bad one exits 2 with one line naming file, key and problem."""
    from hub.config import load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc), 2)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; hub errors become one line and exit 1, config errors exit 2."""
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        fail(str(exc), 2)
    except HubError as exc:
        fail(str(exc), 1)


@app.command()
def schema(entity: Annotated[str, typer.Argument(help="location, home, person, ...")]) -> None:
    """Print the JSON Schema of a canonical entity."""
    try:
        typer.echo(json.dumps(models.json_schema(entity), indent=2))
    except KeyError as exc:
        fail(str(exc.args[0]), 2)


@app.command()
def check(config: ConfigOption = Path("prophub.toml")) -> None:
    """Validate the config, then check each connector's credentials and reachability."""
    cfg = load(config)
    results = run_async(_check(cfg))
    for name, error in results.items():
        typer.echo(f"{name}: {'ok' if error is None else error}")
    if any(error is not None for error in results.values()):
        raise typer.Exit(1)


async def _check(cfg: HubConfig) -> dict[str, str | None]:
    from hub import registry

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


@app.command()
def read(
    connector: Annotated[str, typer.Argument(help="A connector name from the config.")],
    entity: Annotated[str, typer.Argument(help="A canonical entity.")],
    config: ConfigOption = Path("prophub.toml"),
    since: Annotated[
        datetime | None, typer.Option(help="Only records updated at or after (ISO 8601).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after N records.")] = None,
    collection: Annotated[
        list[str] | None, typer.Option(help="Restrict to these vendor collections.")
    ] = None,
) -> None:
    """Print canonical records as JSON lines."""
    cfg = load(config)
    if connector not in cfg.connectors:
        fail(f"{config}: connectors.{connector}: no such connector in the config", 2)
    if entity not in models.ENTITIES:
        fail(f"unknown entity {entity!r} (known: {', '.join(models.ENTITIES)})", 2)
    run_async(_read(cfg, connector, entity, since, limit, collection or None))


async def _read(
    cfg: HubConfig,
    name: str,
    entity: str,
    since: datetime | None,
    limit: int | None,
    collections: list[str] | None,
) -> None:
    from hub import registry

    settings = cfg.connectors[name]
    connector = registry.get(settings.type).connector(settings, name=name)
    count = 0
    async with connector:
        if entity not in connector.capabilities.reads:
            fail(f"{name} cannot read {entity!r} (reads: {sorted(connector.capabilities.reads)})")
        records = connector.read(entity, since, collections=collections)
        async with contextlib.aclosing(records):  # type: ignore[type-var]
            async for item in records:
                sys.stdout.write(item.record.model_dump_json() + "\n")
                count += 1
                if limit is not None and count >= limit:
                    break


@app.command()
def sandbox(
    vendor: Annotated[str, typer.Argument(help="buildium, builder_backed or propertybase")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 42,
    size: Annotated[int, typer.Option(min=0, help="Homes or units, others in proportion.")] = 100,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests per second before 429 (default: none).")
    ] = None,
    fault_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests meeting a fault.")
    ] = 0.0,
    latency_ms: Annotated[float, typer.Option(min=0.0, help="Added latency per request.")] = 0.0,
    client_id: Annotated[str | None, typer.Option(help="Client id to accept.")] = None,
    client_secret: Annotated[str | None, typer.Option(help="Client secret to accept.")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key to accept.")] = None,
) -> None:
    """Serve a vendor sandbox on loopback until SIGINT or SIGTERM.

    Prints one JSON line with the vendor, base URL and credentials when ready. Credential
    defaults: each plugin's own (shown in that line).
    """
    from hub import registry
    from hub.sandbox import FaultSettings, SandboxOptions

    try:
        plugin = registry.get(vendor)
    except ConfigError as exc:
        fail(str(exc), 2)
    if plugin.sandbox is None:
        fail(f"connector {vendor!r} ships no sandbox", 2)
    options = SandboxOptions(
        host=host,
        port=port,
        seed=seed,
        size=size,
        rate_limit=rate_limit,
        faults=FaultSettings.spread(fault_rate),
        latency_ms=latency_ms,
    )
    given = {"client_id": client_id, "client_secret": client_secret, "api_key": api_key}
    credentials = {k: v for k, v in given.items() if v is not None}
    run_async(_serve_sandbox(lambda: plugin.sandbox(options, credentials)))  # type: ignore[misc]


async def _serve_sandbox(make: Callable[[], Any]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with make() as box:
            typer.echo(json.dumps(box.announcement()))
            sys.stdout.flush()
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main() -> None:
    """Entry point of the ``prophub`` console script."""
    app()
