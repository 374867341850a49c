"""``prophub demo``: the demo scenario, the one command that names the vendors.

The scenario lives in :mod:`connectors.demo`, out of the vendor-neutral core; it is imported
only when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.shared import JsonOption, run_async

if TYPE_CHECKING:
    from hub.sync import FlowReport


def demo(
    as_json: JsonOption = False,
    keep: Annotated[
        Path | None, typer.Option(help="Keep the state store in this directory.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sandboxes' data.")] = 42,
) -> None:
    """Run the demo: three sandboxes, Buildium -> Builder Backed -> Propertybase GO, twice."""
    from connectors.demo import run_demo
    from hub.cli.output import console, emit_json, progress, report_table

    def show(number: int, report: FlowReport) -> None:
        # Each report as it comes: a pipeline need not wait for both passes.
        if as_json:
            emit_json(report, **{"pass": number})

    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    with progress("running the demo flows", quiet=as_json):
        result = run_async(run_demo(workdir=keep, seed=seed, on_report=show))
    if as_json:
        return
    out = console()
    for number, reports in enumerate(result.passes, start=1):
        out.print(report_table(f"pass {number}", reports))
    written = sum(r.created + r.updated for r in result.passes[-1])
    out.print(f"second pass wrote {written} records" + (" - in step." if not written else "."))
    if keep is not None:
        out.print(f"state kept in {result.state_url}")
