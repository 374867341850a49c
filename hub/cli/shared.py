"""What every command shares: the global options, the ``--config`` and ``--json`` options,
one-line failures, loading the config and running a coroutine.

Importing this costs typer alone: ``prophub --help`` must not pay for the engine, the state
store, SQLAlchemy or aiohttp, so everything heavier is imported where it is used.
"""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from hub.errors import ConfigError, HubError

if TYPE_CHECKING:
    from hub.config import HubConfig

T = TypeVar("T")

LOG_LEVELS = ("debug", "info", "warning", "error")

ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="PROPHUB_CONFIG", help="The TOML configuration file."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per flow per line.")]
TenantOption = Annotated[
    str, typer.Option("--tenant", help="As this tenant (default: the config's own).")
]


#: commands that log nothing, so need no logging set up (structlog is a tenth of a second)
QUIET_COMMANDS = frozenset({"schema"})


def setup(
    ctx: typer.Context,
    log_level: Annotated[
        str, typer.Option(envvar="PROPHUB_LOG_LEVEL", help="debug, info, warning or error.")
    ] = "warning",
    log_json: Annotated[bool, typer.Option("--log-json", help="Log JSON lines.")] = False,
) -> None:
    """Keep Builder Backed, Buildium and Propertybase GO in step."""
    level = log_level.strip().lower()
    if level not in LOG_LEVELS:
        # Checked here rather than as a click choice: click would print a usage box.
        fail(
            f"--log-level (or PROPHUB_LOG_LEVEL): {log_level!r} is not a log level "
            f"({', '.join(LOG_LEVELS)})",
            2,
        )
    if ctx.invoked_subcommand in QUIET_COMMANDS:
        return
    from hub.log import configure_logging

    configure_logging(level=level, fmt="json" if log_json else "console")


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


#: set by :func:`own_process` (``main`` calls it): the command line owns the process and may
#: tune its garbage collector; an app invoked in another program's process leaves it alone
_owns_process = False


def own_process() -> None:
    """Mark the process as the command line's own (the console script, ``python -m hub``)."""
    global _owns_process
    _owns_process = True


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; hub errors become one line and exit 1, config errors exit 2."""
    import asyncio

    if _owns_process:
        from hub.daemon import freeze_startup_heap

        freeze_startup_heap()
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        config_error(exc)
    except HubError as exc:
        fail(str(exc), 1)
