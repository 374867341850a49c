"""The ``plugins`` command: the connector plugins installed, their contract version, and
whether each one loads."""

from __future__ import annotations

import typer


def plugins() -> None:
    """List the installed connector plugins: name, package, target, the connector contract
    each was built for, and whether it loads (exit 1 when one does not)."""
    from hub import registry
    from hub.connector import CONTRACT_VERSION

    broken = 0
    for entry in registry.installed():
        status = entry.status()
        contract = f"contract {status.contract}" if status.contract is not None else "contract ?"
        state = "ok" if status.problem is None else f"does not load: {status.problem}"
        broken += status.problem is not None
        typer.echo(f"{entry.name}\t{entry.package}\t{entry.target}\t{contract}\t{state}")
    typer.echo(f"(this hub speaks connector contract {CONTRACT_VERSION})", err=True)
    if broken:
        raise typer.Exit(1)
