"""The commands that run flows: ``sync`` (each flow once) and ``run`` (the daemon)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.shared import (
    ConfigOption,
    JsonOption,
    TenantOption,
    config_error,
    fail,
    load,
    run_async,
)
from hub.errors import ConfigError, HubError

if TYPE_CHECKING:
    from hub.config import HubConfig
    from hub.sync import FlowReport


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
    tenant: TenantOption = "",
) -> None:
    """Run flows once, in dependency order, and report what each did."""
    from hub.cli.output import console, report_table

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
            tenant=tenant,
        )
    )
    if not as_json:
        console().print(report_table("dry run" if dry_run else "sync", reports))
        for report in reports:
            if dry_run:
                _print_plan(report)
            for note in report.notes:
                typer.echo(f"{report.flow}: {note}")
    for flow_name, error in errors:
        typer.echo(f"prophub: {flow_name}: {error}", err=True)
    if errors or any(r.failed for r in reports):
        raise typer.Exit(1)


def _print_plan(report: FlowReport) -> None:
    """What a dry run would have done: each planned write, then the sums."""
    for action, key in report.planned:
        typer.echo(f"{report.flow}: would {action} {key}")
    typer.echo(
        f"{report.flow}: would create {report.created}, match "
        f"{report.matched} already at the target and update them, update "
        f"{report.updated - report.matched} more, leave {report.ambiguous} "
        f"ambiguous, delete {report.deleted}"
    )


async def _sync(
    cfg: HubConfig,
    names: list[str] | None,
    *,
    full: bool,
    dry_run: bool,
    allow_mass_delete: bool,
    as_json: bool,
    tenant: str = "",
) -> tuple[list[FlowReport], list[tuple[str, str]]]:
    """Each flow in dependency order; one that fails is reported and the rest still run."""
    from hub.app import Hub
    from hub.cli.output import emit_json, progress
    from hub.sync import FlowReport

    reports: list[FlowReport] = []
    errors: list[tuple[str, str]] = []
    async with Hub.from_config(cfg) as hub:
        runs = {f.name for f in (await hub.tenants.view(tenant)).flows} if tenant else None
        for flow in hub.ordered(names):
            if runs is not None and flow.name not in runs:
                continue
            try:
                with progress(f"sync {flow.name}", quiet=as_json):
                    report = await hub.sync(
                        flow.name,
                        tenant=tenant,
                        full=full,
                        dry_run=dry_run,
                        allow_mass_delete=allow_mass_delete,
                    )
            except HubError as exc:
                errors.append((flow.name, str(exc)))
                if as_json:
                    emit_json(FlowReport(flow.name, dry_run=dry_run), error=str(exc))
                continue
            reports.append(report)
            if as_json:
                emit_json(report)
    return reports, errors


def run(config: ConfigOption = Path("prophub.toml")) -> None:
    """Run the daemon: every flow on its schedule, with /healthz, /readyz and /metrics."""
    from hub.daemon import Daemon

    cfg = load(config)
    try:
        code = Daemon(cfg).run()
    except ConfigError as exc:
        config_error(exc)
    raise typer.Exit(code)
