"""The ``prophub`` command line: a thin layer over the library API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from hub import models
from hub.connector import ReadEnd, ReadFailure
from hub.errors import ConfigError, HubError

if TYPE_CHECKING:
    from hub.config import HubConfig
    from hub.state import Stale
    from hub.sync import FlowReport

T = TypeVar("T")

app = typer.Typer(
    name="prophub",
    help="Keep Builder Backed, Buildium and Propertybase GO in step.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


LOG_LEVELS = ("debug", "info", "warning", "error")


@app.callback()
def _setup(
    log_level: Annotated[
        str, typer.Option(envvar="PROPHUB_LOG_LEVEL", help="debug, info, warning or error.")
    ] = "warning",
    log_json: Annotated[bool, typer.Option("--log-json", help="Log JSON lines.")] = False,
) -> None:
    """Keep Builder Backed, Buildium and Propertybase GO in step."""
    from hub.log import configure_logging

    level = log_level.strip().lower()
    if level not in LOG_LEVELS:
        # Checked here rather than as a click choice: click would print a usage box.
        fail(
            f"--log-level (or PROPHUB_LOG_LEVEL): {log_level!r} is not a log level "
            f"({', '.join(LOG_LEVELS)})",
            2,
        )
    configure_logging(level=level, fmt="json" if log_json else "console")


ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="PROPHUB_CONFIG", help="The TOML configuration file."),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one error line to stderr and exit."""
    from hub.secrets import mask

    typer.echo(f"prophub: {mask(message)}", err=True)
    raise typer.Exit(code)


#: the config file the command loaded: a config error found later (a state store that
#: cannot be reached, an address the daemon cannot listen on) is reported against it
_config_path: Path | None = None


def load(path: Path) -> HubConfig:
    """Load a config; a bad one exits 2 with one line naming file, key and problem."""
    global _config_path
    from hub.config import load_config, secret_values
    from hub.secrets import register_secret

    _config_path = path
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        fail(str(exc), 2)
    # Known from here on: whatever a command prints is masked (stored text included).
    for value in secret_values(loaded):
        register_secret(value)
    return loaded


def config_error(exc: ConfigError) -> NoReturn:
    """Exit 2 with the error's one line, naming the loaded config file if it does not."""
    if exc.path is None and _config_path is not None:
        fail(f"{_config_path}: {exc}", 2)
    fail(str(exc), 2)


#: set by :func:`main`: the command line owns the process and may tune its garbage collector
_owns_process = False


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; hub errors become one line and exit 1, config errors exit 2."""
    if _owns_process:
        from hub.daemon import freeze_startup_heap

        freeze_startup_heap()
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        config_error(exc)
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
    count = skipped = 0
    async with connector:
        if entity not in connector.capabilities.reads:
            fail(f"{name} cannot read {entity!r} (reads: {sorted(connector.capabilities.reads)})")
        records = connector.read(entity, since, collections=collections)
        async with contextlib.aclosing(records):  # type: ignore[type-var]
            async for item in records:
                if isinstance(item, ReadEnd):
                    continue
                if isinstance(item, ReadFailure):
                    skipped += 1
                    typer.echo(f"prophub: skipped {item.source_id}: {item.reason}", err=True)
                    continue
                sys.stdout.write(item.record.model_dump_json() + "\n")
                count += 1
                if limit is not None and count >= limit:
                    break
    if skipped:
        # A read that printed only part of what it met is not a success for a pipeline.
        fail(f"skipped {skipped} malformed record(s) of {count + skipped} read", 1)


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


JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per flow per line.")]


def _console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=120)


def _report_table(title: str, reports: list[FlowReport]) -> Table:
    table = Table(title=title)
    columns = ("flow", "read", "created", "updated", "unchanged", "failed", "deleted", "requests")
    for column in columns:
        table.add_column(column, justify="left" if column == "flow" else "right")
    table.add_column("seconds", justify="right")
    for r in reports:
        row = (r.read, r.created, r.updated, r.unchanged, r.failed, r.deleted, r.requests)
        table.add_row(r.flow, *(str(v) for v in row), f"{r.seconds:.2f}")
    return table


def _emit_json(report: FlowReport, **extra: Any) -> None:
    sys.stdout.write(json.dumps({**report.as_json(), **extra}) + "\n")
    sys.stdout.flush()


@app.command()
def sync(
    flows: Annotated[list[str] | None, typer.Argument(help="Flow names (default: all).")] = None,
    config: ConfigOption = Path("prophub.toml"),
    all_flows: Annotated[bool, typer.Option("--all", help="Every enabled flow.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Ignore cursors; read everything.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan without writing.")] = False,
    allow_mass_delete: Annotated[
        bool,
        typer.Option(
            "--allow-mass-delete",
            help="Let a full run delete more than its flow's share of known records.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Run flows once, in dependency order, and report what each did."""
    cfg = load(config)
    names = list(flows or [])
    known = {f.name for f in cfg.flows}
    unknown = [n for n in names if n not in known]
    if unknown:
        fail(f"{config}: flows: no flow named {', '.join(unknown)}", 2)
    chosen = None if all_flows or not names else names
    reports, errors = run_async(
        _sync(
            cfg,
            chosen,
            full=full,
            dry_run=dry_run,
            allow_mass_delete=allow_mass_delete,
            as_json=as_json,
        )
    )
    if not as_json:
        _console().print(_report_table("dry run" if dry_run else "sync", reports))
        for report in reports:
            if dry_run:
                for action, key in report.planned:
                    typer.echo(f"{report.flow}: would {action} {key}")
                typer.echo(
                    f"{report.flow}: would create {report.created}, match "
                    f"{report.matched} already at the target and update them, update "
                    f"{report.updated - report.matched} more, leave {report.ambiguous} "
                    f"ambiguous, delete {report.deleted}"
                )
            for note in report.notes:
                typer.echo(f"{report.flow}: {note}")
    for flow_name, error in errors:
        typer.echo(f"prophub: {flow_name}: {error}", err=True)
    if errors or any(r.failed for r in reports):
        raise typer.Exit(1)


async def _sync(
    cfg: HubConfig,
    names: list[str] | None,
    *,
    full: bool,
    dry_run: bool,
    allow_mass_delete: bool,
    as_json: bool,
) -> tuple[list[FlowReport], list[tuple[str, str]]]:
    """Each flow in dependency order; one that fails is reported and the rest still run."""
    from hub.app import Hub
    from hub.sync import FlowReport

    reports: list[FlowReport] = []
    errors: list[tuple[str, str]] = []
    async with Hub.from_config(cfg) as hub:
        for flow in hub.ordered(names):
            try:
                with _progress(f"sync {flow.name}", quiet=as_json):
                    report = await hub.sync(
                        flow.name,
                        full=full,
                        dry_run=dry_run,
                        allow_mass_delete=allow_mass_delete,
                    )
            except HubError as exc:
                errors.append((flow.name, str(exc)))
                if as_json:
                    _emit_json(FlowReport(flow.name, dry_run=dry_run), error=str(exc))
                continue
            reports.append(report)
            if as_json:
                _emit_json(report)
    return reports, errors


@contextlib.contextmanager
def _progress(label: str, *, quiet: bool) -> Iterator[None]:
    """A spinner on a terminal; nothing in pipes or with --json."""
    if quiet or not sys.stderr.isatty():
        yield
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
        bar.add_task(label)
        yield


@app.command()
def run(config: ConfigOption = Path("prophub.toml")) -> None:
    """Run the daemon: every flow on its schedule, with /healthz, /readyz and /metrics."""
    from hub.daemon import Daemon

    cfg = load(config)
    try:
        code = Daemon(cfg).run()
    except ConfigError as exc:
        config_error(exc)
    raise typer.Exit(code)


@app.command()
def status(config: ConfigOption = Path("prophub.toml"), as_json: JsonOption = False) -> None:
    """Show flows with their cursors, last runs and dead-letter counts.

    Runs and leases left behind by a process that is gone (killed, say) are cleared first:
    such a run shows as ``stale``, with a line saying whose it was and why.
    """
    cfg = load(config)
    rows, cleared = run_async(_status(cfg))
    notes = [_cleared_line(stale) for stale in cleared]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, default=str))
        for note in notes:  # stdout keeps one object per flow
            typer.echo(note, err=True)
        return
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
    _console().print(table)
    for note in notes:
        typer.echo(note)


def _cleared_line(stale: Stale) -> str:
    """One line saying which stale run or lease was cleared, and why."""
    if stale.kind == "run":
        return f"cleared stale run {stale.run_id} of flow {stale.name}: {stale.reason}"
    return f"cleared stale lease {stale.name}: {stale.reason}"


async def _status(cfg: HubConfig) -> tuple[list[dict[str, Any]], list[Stale]]:
    from hub.state import StateStore

    rows = []
    async with StateStore.open(cfg.state.url) as store:
        cleared = await store.clear_stale()
        for flow in cfg.flows:
            last = await store.last_run(flow.name)
            row = {
                "flow": flow.name,
                "cursor": await store.get_cursor(flow.name),
                "last_run": last.get("finished_at") if last else None,
                "status": last.get("status") if last else "never run",
                "read": last.get("read", 0) if last else 0,
                "written": (last.get("created", 0) + last.get("updated", 0)) if last else 0,
                "dead_letters": len(await store.dead_letters(flow=flow.name)),
            }
            if last and last.get("status") == "stale":
                row["stale"] = last.get("error")
            rows.append(row)
    return rows, cleared


dlq_app = typer.Typer(help="Inspect, retry or drop dead letters.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(
    config: ConfigOption = Path("prophub.toml"),
    flow: Annotated[str | None, typer.Option(help="Only this flow.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List dead letters with their reasons."""
    cfg = load(config)
    letters = run_async(_dead_letters(cfg, flow))
    from hub.secrets import mask

    for letter in letters:
        # Reasons stored before a secret was known to the hub are masked on the way out too.
        if as_json:
            typer.echo(mask(json.dumps(letter, default=str)))
        else:
            typer.echo(
                mask(f"{letter['id']}\t{letter['flow']}\t{letter['key']}\t{letter['reason']}")
            )


async def _dead_letters(cfg: HubConfig, flow: str | None) -> list[dict[str, Any]]:
    from hub.state import StateStore

    async with StateStore.open(cfg.state.url) as store:
        return [dict(letter) for letter in await store.dead_letters(flow=flow)]


@dlq_app.command("retry")
def dlq_retry(
    config: ConfigOption = Path("prophub.toml"),
    flow: Annotated[str | None, typer.Option(help="Only this flow.")] = None,
) -> None:
    """Send dead-lettered records through their flow's write path again."""
    cfg = load(config)
    report = run_async(_dlq_retry(cfg, flow))
    typer.echo(
        f"retried {report['retried']}, written {report['written']}, "
        f"still failing {report['failed']}"
    )
    if report["failed"]:
        raise typer.Exit(1)


async def _dlq_retry(cfg: HubConfig, flow: str | None) -> dict[str, int]:
    from hub.app import Hub

    async with Hub.from_config(cfg) as hub:
        return await hub.retry_dead_letters(flow)


@dlq_app.command("drop")
def dlq_drop(
    ids: Annotated[list[int], typer.Argument(help="Dead-letter ids to drop.")],
    config: ConfigOption = Path("prophub.toml"),
) -> None:
    """Drop dead letters by id."""
    cfg = load(config)
    dropped = run_async(_dlq_drop(cfg, ids))
    typer.echo(f"dropped {dropped}")


async def _dlq_drop(cfg: HubConfig, ids: list[int]) -> int:
    from hub.state import StateStore

    async with StateStore.open(cfg.state.url) as store:
        return sum([await store.drop_dead_letter(i) for i in ids])


@app.command()
def demo(
    as_json: JsonOption = False,
    keep: Annotated[
        Path | None, typer.Option(help="Keep the state store in this directory.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sandboxes' data.")] = 42,
) -> None:
    """Run the demo: three sandboxes, Buildium -> Builder Backed -> Propertybase GO, twice."""
    from connectors.demo import run_demo

    def show(number: int, report: FlowReport) -> None:
        if as_json:
            _emit_json(report, **{"pass": number})

    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    with _progress("running the demo flows", quiet=as_json):
        result = run_async(run_demo(workdir=keep, seed=seed, on_report=show))
    if as_json:
        return
    console = _console()
    for number, reports in enumerate(result.passes, start=1):
        console.print(_report_table(f"pass {number}", reports))
    written = sum(r.created + r.updated for r in result.passes[-1])
    console.print(f"second pass wrote {written} records" + (" - in step." if not written else "."))
    if keep is not None:
        console.print(f"state kept in {result.state_url}")


def main() -> None:
    """Entry point of the ``prophub`` console script."""
    global _owns_process
    _owns_process = True
    app()
