"""``prophub sandbox``: serve a vendor's sandbox on loopback."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from hub.cli.shared import fail, run_async
from hub.errors import ConfigError


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
    tenants: Annotated[
        int,
        typer.Option(
            min=1,
            help="Customer accounts served at once, each with its own credentials (suffixed "
            "-t0001...), data and rate limit.",
        ),
    ] = 1,
    client_id: Annotated[str | None, typer.Option(help="Client id to accept.")] = None,
    client_secret: Annotated[str | None, typer.Option(help="Client secret to accept.")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key to accept.")] = None,
) -> None:
    """Serve a vendor sandbox on loopback until SIGINT or SIGTERM.

    Prints one JSON line with the vendor, base URL and credentials when ready (and every
    tenant's under "tenants"). Credential defaults: each plugin's own (shown in that line).
    """
    from hub import registry
    from hub.sandbox.options import FaultSettings, SandboxOptions

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
        tenants=tenants,
    )
    given = {"client_id": client_id, "client_secret": client_secret, "api_key": api_key}
    credentials = {k: v for k, v in given.items() if v is not None}
    run_async(_serve_sandbox(lambda: plugin.sandbox(options, credentials)))  # type: ignore[misc]


async def _serve_sandbox(make: Callable[[], Any]) -> None:
    """Serve the sandbox ``make`` opens until SIGINT or SIGTERM, announcing it first."""
    import asyncio
    import signal

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
