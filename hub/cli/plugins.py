"""The ``plugins`` command: the connector plugins installed, and whether each one loads."""

from __future__ import annotations

import typer


def plugins() -> None:
    """List the installed connector plugins, their packages, and whether each loads."""
    from hub import registry
    from hub.errors import ConfigError

    broken = 0
    for entry in registry.installed():
        try:
            entry.load()
        except ConfigError as exc:
            broken += 1
            state = f"does not load: {exc}"
        else:
            state = "ok"
        typer.echo(f"{entry.name}\t{entry.package}\t{entry.target}\t{state}")
    if broken:
        raise typer.Exit(1)
