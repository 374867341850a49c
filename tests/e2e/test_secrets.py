"""Secrets: a whole demo run at debug level prints no configured secret and no issued token."""

from __future__ import annotations

import re
import subprocess
import sys

from connectors.builder_backed import BuilderBackedSandbox
from connectors.buildium import BuildiumSandbox
from connectors.propertybase import PropertybaseSandbox


def test_debug_demo_output_holds_no_secret() -> None:
    """Every line of a debug-level JSON demo run is free of secrets and bearer tokens."""
    done = subprocess.run(
        [sys.executable, "-m", "hub", "--log-level", "debug", "--log-json", "demo"],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    output = done.stdout + done.stderr
    assert '"event": "request"' in output  # debug logging really was on
    secrets = [
        BuildiumSandbox.default_credentials["client_secret"],
        BuilderBackedSandbox.default_credentials["client_secret"],
        PropertybaseSandbox.default_credentials["api_key"],
    ]
    for secret in secrets:
        assert secret not in output
    # Builder Backed sandbox tokens start like an RS256 JWT; none may be printed
    assert not re.search(r"eyJhbGciOiJSUzI1NiIs\.[A-Za-z0-9_-]{8,}", output)
    assert "second pass wrote 0 records" in done.stdout
