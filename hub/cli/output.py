"""How commands show what happened: the rich console, a table of flow reports, one JSON
line per report, and a spinner while a flow runs."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from hub.sync import FlowReport


def console() -> Console:
    """A console as wide as the terminal, or 120 columns in a pipe."""
    return Console() if sys.stdout.isatty() else Console(width=120)


def report_table(title: str, reports: list[FlowReport]) -> Table:
    """One row per flow report: what it read and wrote, its requests and seconds."""
    table = Table(title=title)
    columns = ("flow", "read", "created", "updated", "unchanged", "failed", "deleted", "requests")
    for column in columns:
        table.add_column(column, justify="left" if column == "flow" else "right")
    table.add_column("seconds", justify="right")
    for r in reports:
        row = (r.read, r.created, r.updated, r.unchanged, r.failed, r.deleted, r.requests)
        table.add_row(r.flow, *(str(v) for v in row), f"{r.seconds:.2f}")
    return table


def emit_json(report: FlowReport, **extra: Any) -> None:
    """Write a report as one JSON line on stdout, at once (a pipeline reads it as it comes)."""
    sys.stdout.write(json.dumps({**report.as_json(), **extra}) + "\n")
    sys.stdout.flush()


@contextlib.contextmanager
def progress(label: str, *, quiet: bool) -> Iterator[None]:
    """A spinner on a terminal; nothing in pipes or with --json."""
    if quiet or not sys.stderr.isatty():
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
        bar.add_task(label)
        yield
