"""The ``prophub`` command line: a thin layer over the library API.

One module per group of commands, each a few plain functions; this module registers them on
the one Typer ``app``, in the order ``prophub --help`` lists them:

- :mod:`hub.cli.shared`: the global options and what every command shares (``fail``,
  ``load``, ``run_async``);
- :mod:`hub.cli.records`: ``schema`` and ``read``;
- :mod:`hub.cli.health`: ``check`` and ``status``;
- :mod:`hub.cli.sandbox`: ``sandbox``;
- :mod:`hub.cli.sync`: ``sync`` and ``run``;
- :mod:`hub.cli.demo`: ``demo``;
- :mod:`hub.cli.dlq`: the ``dlq`` group;
- :mod:`hub.cli.plugins`: ``plugins``;
- :mod:`hub.cli.tenants`: the ``tenants`` group;
- :mod:`hub.cli.output`: the tables, JSON lines and spinner commands print with.

Importing it costs typer and these small modules: each command imports the engine, the state
store, the model or a connector only when it runs, so ``prophub --help`` loads none of them
(a test holds it).
"""

from __future__ import annotations

import typer

from hub.cli import demo, dlq, health, plugins, records, sandbox, shared, sync, tenants
from hub.cli.shared import config_error, fail, load, run_async
from hub.cli.sync import _sync as _sync  # tests drive a sync without the command line

__all__ = ["app", "config_error", "fail", "load", "main", "run_async"]

app = typer.Typer(
    name="prophub",
    help="Keep Builder Backed, Buildium and Propertybase GO in step.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help is click's plain text: rich's rendering would double the start-up of every
    # ``--help`` (the command line answers in under 0.3 s)
    rich_markup_mode=None,
)
app.callback()(shared.setup)
app.command()(records.schema)
app.command()(health.check)
app.command()(records.read)
app.command()(sandbox.sandbox)
app.command()(sync.sync)
app.command()(sync.run)
app.command()(health.status)
app.add_typer(dlq.app, name="dlq")
app.add_typer(tenants.app, name="tenants")
app.command()(demo.demo)
app.command()(plugins.plugins)


def main() -> None:
    """Entry point of the ``prophub`` console script."""
    shared.own_process()
    app()
