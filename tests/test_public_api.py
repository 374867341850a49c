"""The public API is pinned: what ``hub`` exports, and the README's embedding example runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import hub

ROOT = Path(__file__).resolve().parents[1]


def test_exported_members() -> None:
    """``hub.__all__`` is exactly the documented library surface."""
    assert sorted(hub.__all__) == [
        "Address",
        "Capabilities",
        "ConfigError",
        "Connector",
        "ConnectorPlugin",
        "Document",
        "FlowReport",
        "Home",
        "Hub",
        "HubConfig",
        "HubError",
        "Location",
        "Organization",
        "PermanentError",
        "Person",
        "ReadFailure",
        "SourceRecord",
        "TransientError",
        "VendorError",
        "WriteAction",
        "WriteResult",
        "load_config",
        "parse_config",
    ]
    for name in hub.__all__:
        assert getattr(hub, name) is not None


def test_embedding_example_runs() -> None:
    """``examples/embed.py`` syncs two flows against the sandboxes and prints their reports."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "embed.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["flow"] for r in reports] == ["hoa-associations-to-warranty", "hoa-units-to-warranty"]
    assert reports[1]["created"] == 20 and reports[1]["failed"] == 0
