"""Propertybase fixtures: a running sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.propertybase import PropertybaseSandbox
from hub.sandbox.options import SandboxOptions


@pytest.fixture
async def box() -> AsyncIterator[PropertybaseSandbox]:
    """A CRM with 40 leads and the rest in proportion."""
    async with PropertybaseSandbox(SandboxOptions(size=40, seed=9)) as running:
        yield running
