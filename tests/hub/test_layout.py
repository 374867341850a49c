"""The layers stay apart: what importing a module costs, and which way imports point."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

HUB = Path(__file__).resolve().parents[2] / "hub"


def _imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level and TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_model_imports_alone() -> None:
    """A mapping importing ``hub.models`` loads neither SQLAlchemy nor aiohttp, and the email
    validator only once an email is validated."""
    code = (
        "import hub.models, sys; loaded = lambda: ["
        "m in sys.modules for m in ('sqlalchemy', 'aiohttp', 'email_validator')]; "
        "print(*loaded()); hub.models.Person(key='p', first_name='A', emails=['a@example.com']); "
        "print(*loaded())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "False", "False", "False", "False", "True"]


def test_the_connector_contract_loads_no_http_stack() -> None:
    """The connector contract and its settings cost no aiohttp, SQLAlchemy or engine."""
    code = (
        "import hub.connector, hub.registry, sys; "
        "print(*(m in sys.modules for m in ('aiohttp', 'sqlalchemy', 'hub.sync')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "False", "False"]


def test_nothing_the_config_reads_imports_it_back() -> None:
    """The config imports the connector contract, the registry and the client settings,
    and none of them imports the config: no cycle, hidden or not."""
    below = [HUB / "connector.py", HUB / "registry.py", *sorted((HUB / "client").glob("*.py"))]
    for path in below:
        # the config is a package: hub.config.settings counts as hub.config
        above = {
            m for m in _imported(path) if ".".join(m.split(".")[:2]) in {"hub.config", "hub.app"}
        }
        assert not above, path.name


def test_the_core_names_no_vendor() -> None:
    """``hub`` imports no connector or mapping, but for the CLI's lazy ``prophub demo``
    (``hub/cli/demo.py``)."""
    for path in sorted(HUB.rglob("*.py")):
        vendor = {m for m in _imported(path) if m.split(".")[0] in ("connectors", "mappings")}
        allowed = {"connectors.demo", "connectors.demo.run_demo"}
        if path.relative_to(HUB).as_posix() != "cli/demo.py":
            allowed = set()
        assert vendor <= allowed, f"{path.relative_to(HUB)} imports {sorted(vendor)}"


#: what ``prophub --help`` must not load: the engine, the state store, the daemon, the library
#: API, the HTTP and database stacks, and the model and config (pydantic building every
#: model on import was most of what help cost)
_NOT_FOR_HELP = ("hub.sync", "hub.state", "hub.daemon", "hub.app", "hub.models", "hub.config")
_NOT_FOR_HELP_PACKAGES = ("aiohttp", "sqlalchemy", "alembic")


@pytest.mark.parametrize("args", [["--help"], ["sync", "--help"], ["dlq", "--help"]])
def test_help_loads_no_engine_store_or_http_stack(args: list[str]) -> None:
    """``prophub --help`` (and a command's) imports none of what running a command needs."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hub", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # -X importtime writes "import time: self | cumulative | module" per import to stderr
    loaded = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    heavy = {
        name
        for name in loaded
        if name.split(".")[0] in _NOT_FOR_HELP_PACKAGES
        or any(name == m or name.startswith(m + ".") for m in _NOT_FOR_HELP)
    }
    assert "Usage" in done.stdout and not heavy, sorted(heavy)


def test_schema_loads_the_model_and_nothing_of_running_a_sync() -> None:
    """``prophub schema home`` needs the model alone: no logging, engine, store or HTTP."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hub", "schema", "home"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "hub.models" in loaded and '"neighborhood_key"' in done.stdout
    heavy = {
        name
        for name in loaded
        if name.split(".")[0] in {"aiohttp", "sqlalchemy", "alembic", "structlog"}
        or name.startswith(("hub.sync", "hub.state", "hub.app", "hub.daemon", "hub.client"))
    }
    assert not heavy, sorted(heavy)
