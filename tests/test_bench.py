"""The benchmark's bare script makes the hub's requests: same bodies, byte for byte."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic_core import to_json

from connectors.buildium import BuildiumConnector, BuildiumSandbox, BuildiumSettings
from hub.sandbox import SandboxOptions
from mappings.builder_backed import from_home
from mappings.buildium import to_association_unit

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _sandbox_units(size: int) -> list[dict[str, Any]]:
    async with BuildiumSandbox(SandboxOptions(size=size)) as box:
        settings = BuildiumSettings.model_validate(box.connector_table())
        async with BuildiumConnector(settings, name="hoa") as hoa:
            params = {"limit": size}
            response = await hoa.client.request("GET", "/v1/associations/units", params=params)
            units: list[dict[str, Any]] = response.json()
    return units


async def test_the_bare_script_sends_the_hubs_home_body(bench: ModuleType) -> None:
    units = await _sandbox_units(40)
    assert len(units) == 40
    # The sandbox serves no second address line; a unit with one must carry it too.
    with_line2 = {**units[0], "Address": {**units[0]["Address"], "AddressLine2": "Unit 4"}}
    for unit in [*units, with_line2]:
        hub = from_home(to_association_unit(unit), "Multi Family")
        assert to_json(bench.home_body(unit)) == to_json(hub), unit["Id"]
