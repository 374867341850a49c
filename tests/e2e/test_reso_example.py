"""The fourth vendor, built from outside: ``examples/prophub-reso`` installed into a fresh
virtual environment runs the conformance kit on itself, is listed by ``prophub plugins``, and
syncs RESO agents into the Propertybase GO sandbox with a one-line flow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "prophub-reso"


def fresh_venv(where: Path) -> Path:
    """A new virtual environment that sees the hub and its dependencies (this environment's
    packages, through a ``.pth`` line) and nothing of the example; its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=60
    )
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    outer = sysconfig.get_paths()["purelib"]
    Path(purelib, "outer-environment.pth").write_text(f"import site; site.addsitedir({outer!r})\n")
    return python


def run(python: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A command in the fresh environment, with no path of the repository on its import path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(python), *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


@contextmanager
def sandbox(python: Path, vendor: str, size: int) -> Iterator[dict[str, Any]]:
    """``prophub sandbox VENDOR`` in the fresh environment; its announcement."""
    process = subprocess.Popen(
        [str(python), "-m", "hub", "sandbox", vendor, "--size", str(size)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def stored(box: dict[str, Any], collection: str) -> list[dict[str, Any]]:
    """A sandbox's records of one collection, through its admin surface."""
    url = f"{box['base_url']}/_sandbox/records/{collection}?limit=1000"
    with urllib.request.urlopen(url, timeout=30) as answer:
        records: list[dict[str, Any]] = json.load(answer)["records"]
    return records


@pytest.mark.timeout(180)
def test_the_reso_plugin_installs_passes_the_kit_and_syncs(tmp_path: Path) -> None:
    """Installed from its own pyproject, the plugin passes its tests (the conformance kit
    among them), loads by entry point, and its agents become Propertybase leads once."""
    python = fresh_venv(tmp_path / "venv")
    assert run(python, "-c", "import prophub_reso").returncode != 0  # not there before
    installed = run(
        python,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--quiet",
        str(EXAMPLE),
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    where = run(python, "-c", "import prophub_reso; print(prophub_reso.__file__)").stdout
    assert str(tmp_path / "venv") in where  # the installed copy, not the source tree

    tests = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=EXAMPLE)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert (
        "test_429_retry_after_date"
        in run(
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "tests",
            cwd=EXAMPLE,
        ).stdout
    )

    listed = run(python, "-m", "hub", "plugins")
    line = next(x for x in listed.stdout.splitlines() if x.startswith("reso\t"))
    assert line == "reso\tprophub-reso 0.1.0\tprophub_reso:plugin\tcontract 1.0\tok"

    with sandbox(python, "reso", 60) as mls, sandbox(python, "propertybase", 10) as crm:
        config = tmp_path / "prophub.toml"
        config.write_text(
            'flows = [{ name = "mls-agents-to-crm", source = "mls", target = "crm", '
            'entity = "person" }]\n'
            f'[state]\nurl = "sqlite:///{tmp_path / "state.db"}"\n'
            f'[connectors.mls]\ntype = "reso"\nbase_url = "{mls["base_url"]}/odata"\n'
            f'token = "{mls["credentials"]["token"]}"\n'
            f'[connectors.crm]\ntype = "propertybase"\nbase_url = "{crm["base_url"]}"\n'
            f'api_key = "{crm["credentials"]["api_key"]}"\n'
        )
        leads_before = len(stored(crm, "leads"))
        reports = []
        for _ in range(2):
            done = run(python, "-m", "hub", "sync", "--all", "--json", "--config", str(config))
            assert done.returncode == 0, done.stderr[-2000:]
            reports.append(json.loads(done.stdout.splitlines()[-1]))
        leads = stored(crm, "leads")
    agents = 2 * 5  # two offices of five agents above sixty listings
    assert (reports[0]["created"], reports[0]["failed"]) == (agents, 0)
    assert (reports[1]["created"], reports[1]["updated"]) == (0, 0)
    assert len(leads) == leads_before + agents
    assert sum(lead["email"].endswith("@example.com") for lead in leads[-agents:]) == agents
