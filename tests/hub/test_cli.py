"""The command line: help, schema, bad configs, sandboxes, read, check, sync, status, demo."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.models import ENTITIES, Home

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    """``prophub --help`` names every command."""
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "sync", "check", "status", "dlq", "read", "sandbox", "schema", "demo"):
        assert command in result.output


def test_the_console_script_runs_the_app() -> None:
    """The ``prophub`` console script names ``hub.cli:main``, which runs this app."""
    from importlib.metadata import entry_points

    import hub.cli

    (script,) = entry_points(group="console_scripts", name="prophub")
    assert script.value == "hub.cli:main" and script.load() is hub.cli.main


def test_schema_prints_json_schema() -> None:
    """``prophub schema home`` prints the Home JSON Schema."""
    result = runner.invoke(app, ["schema", "home"])
    schema = json.loads(result.output)
    assert result.exit_code == 0 and "neighborhood_key" in schema["properties"]


BUILDIUM = '[connectors.a]\ntype = "buildium"\nbase_url = "http://x"\nclient_id = "i"\n'


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[state]\nurl = 1\n", "state.url"),  # wrong type
        (BUILDIUM, "connectors.a.client_secret"),  # missing key
        (BUILDIUM + 'client_secret = "s"\nrate_limit = "fast"\n', "connectors.a.rate_limit"),
        ('[connectors.a]\ntype = "nope"\nbase_url = "http://x"\n', "connectors.a.type"),
        (BUILDIUM + 'client_secret = "${PROPHUB_TEST_UNSET}"\n', "connectors.a.client_secret"),
        (
            BUILDIUM + 'client_secret_file = "/nonexistent/secret"\n',
            "connectors.a.client_secret_file",
        ),
        ("colour = 1\n", "colour"),  # unknown key
        ("[[flows]]\nname = 'f'\nsource = 'a'\ntarget = 'b'\nentity = 'home'\n", "flows[0]"),
        ("[state\n", "invalid TOML"),
    ],
    ids=[
        "wrong type",
        "missing key",
        "wrong connector type",
        "unknown connector type",
        "unset env var",
        "unreadable secret file",
        "unknown key",
        "flow to nowhere",
        "toml syntax",
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path: Path, text: str, key: str) -> None:
    """A broken config is one line on stderr naming file and key, and exit code 2."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = runner.invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and key in lines[0]


@pytest.fixture
def sandbox_process() -> Iterator[dict[str, str]]:
    """``prophub sandbox buildium`` as a real process; yields its announcement."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "sandbox", "buildium", "--size", "30", "--seed", "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    try:
        yield json.loads(line)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.stdout.close()


def config_for(announcement: dict[str, object], tmp_path: Path, secret: str | None = None) -> Path:
    creds = announcement["credentials"]
    assert isinstance(creds, dict)
    path = tmp_path / "prophub.toml"
    path.write_text(
        f'[state]\nurl = "sqlite:///{tmp_path / "state.db"}"\n\n[connectors.hoa]\n'
        f'type = "buildium"\nbase_url = "{announcement["base_url"]}"\n'
        f'client_id = "{creds["client_id"]}"\n'
        f'client_secret = "{secret or creds["client_secret"]}"\n'
    )
    return path


def test_sandbox_announces_itself_and_read_prints_canonical_records(
    sandbox_process: dict[str, str], tmp_path: Path
) -> None:
    """A CLI sandbox prints one JSON line; ``prophub read`` prints valid canonical homes."""
    assert sandbox_process["vendor"] == "buildium"
    path = config_for(sandbox_process, tmp_path)
    result = runner.invoke(
        app,
        [
            "read",
            "hoa",
            "home",
            "--config",
            str(path),
            "--limit",
            "5",
            "--collection",
            "association-units",
        ],
    )
    assert result.exit_code == 0, result.output
    homes = [Home.model_validate_json(line) for line in result.stdout.splitlines()]
    assert len(homes) == 5 and homes[0].key == "buildium:association-unit:1"
    checked = runner.invoke(app, ["check", "--config", str(path)])
    assert checked.exit_code == 0 and checked.stdout.strip() == "hoa: ok"


def test_check_reports_bad_credentials_without_the_secret(
    sandbox_process: dict[str, str], tmp_path: Path
) -> None:
    """``prophub check`` says which connector failed and never prints the secret."""
    path = config_for(sandbox_process, tmp_path, secret="wrong-secret-1234")
    result = runner.invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert "hoa:" in result.stdout and "HTTP 401" in result.stdout
    assert "wrong-secret-1234" not in result.output


def test_demo_json_second_pass_writes_nothing() -> None:
    """``prophub demo --json`` prints each flow's object per pass; pass 2 writes nothing."""
    result = runner.invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["pass"] for r in rows} == {1, 2} and len(rows) == 10
    for row in rows:
        assert {
            "flow",
            "read",
            "created",
            "updated",
            "unchanged",
            "failed",
            "requests",
            "throttled",
            "seconds",
        } <= set(row)
    assert sum(r["created"] for r in rows if r["pass"] == 1) > 100
    assert sum(r["created"] + r["updated"] for r in rows if r["pass"] == 2) == 0
    assert all(r["failed"] == 0 for r in rows)


def test_demo_table_and_kept_state_then_status_and_sync(tmp_path: Path) -> None:
    """The demo prints its tables; kept state feeds ``prophub status``."""
    result = runner.invoke(app, ["demo", "--keep", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "pass 2" in result.stdout and "second pass wrote 0 records" in result.stdout
    assert (tmp_path / "prophub-state.db").exists()


READABLE = {
    "buildium": ("location", "home", "person"),
    "builder_backed": ("location", "home", "person", "document"),
    "propertybase": ("organization", "person", "location", "home"),
}


@pytest.mark.parametrize("vendor", sorted(READABLE))
def test_read_works_for_every_entity_against_a_cli_sandbox(vendor: str, tmp_path: Path) -> None:
    """``prophub read`` prints schema-valid records of every readable entity of each vendor."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "sandbox", vendor, "--size", "20"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        announcement = json.loads(proc.stdout.readline())
        table = {
            "type": vendor,
            "base_url": announcement["base_url"],
            **announcement["credentials"],
        }
        lines = "\n".join(f'{k} = "{v}"' for k, v in table.items())
        path = tmp_path / "prophub.toml"
        path.write_text(
            f'[state]\nurl = "sqlite:///{tmp_path / "s.db"}"\n\n[connectors.src]\n{lines}\n'
        )
        for entity in READABLE[vendor]:
            result = runner.invoke(
                app, ["read", "src", entity, "--config", str(path), "--limit", "3"]
            )
            assert result.exit_code == 0, (entity, result.output)
            model = ENTITIES[entity]
            records = [model.model_validate_json(line) for line in result.stdout.splitlines()]
            if vendor == "builder_backed" and entity == "document":
                assert records == []  # a fresh account has no documents yet
            else:
                assert records, entity
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.stdout.close()
