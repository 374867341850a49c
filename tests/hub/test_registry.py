"""The connector registry: entry points, read-only view, hand registration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub import registry
from hub.client.settings import ConnectorSettings
from hub.connector import CONTRACT_VERSION, ConnectorPlugin
from hub.errors import ConfigError


def test_builtin_connectors_load_through_entry_points() -> None:
    """The three built-in vendors are found the way a third party's plugin would be."""
    known = registry.plugins()
    assert {"buildium", "builder_backed", "propertybase"} <= set(known)
    for name in ("buildium", "builder_backed", "propertybase"):
        plugin = known[name]
        assert plugin.name == name and plugin.sandbox is not None


def test_view_is_read_only() -> None:
    """Callers cannot mutate the registry through the view."""
    with pytest.raises(TypeError):
        registry.plugins()["x"] = registry.get("buildium")  # type: ignore[index]


def test_unknown_type_lists_known_ones() -> None:
    """An unknown connector type is a config error naming the installed ones."""
    with pytest.raises(ConfigError, match="buildium"):
        registry.get("salesforce")


def test_register_and_unregister_a_fake() -> None:
    """Tests and embedders can add a plugin by hand."""
    plugin = ConnectorPlugin(
        name="fake", connector=lambda s, *, name: None, settings=ConnectorSettings
    )  # type: ignore[arg-type,return-value]
    registry.register(plugin)
    try:
        assert registry.get("fake") is plugin
    finally:
        registry.unregister("fake")
    assert "fake" not in registry.plugins()


def broken_plugin(root: Path) -> dict[str, str]:
    """A package on the path that declares a connector plugin whose import fails; the
    environment for a subprocess that sees it."""
    (root / "broken_vendor.py").write_text("raise ImportError('no module named vendor_sdk')\n")
    info = root / "broken_vendor-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-vendor\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text("[prophub.connectors]\nbroken = broken_vendor:plugin\n")
    return {**os.environ, "PYTHONPATH": str(root)}


def prophub(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_a_broken_plugin_breaks_only_what_uses_it(tmp_path: Path) -> None:
    """Another package's plugin that fails to import is listed as broken by ``prophub
    plugins``; configs and commands that do not use it work; one that does gets one line
    naming the package and the error."""
    env = broken_plugin(tmp_path)
    listed = prophub(env, "plugins")
    assert listed.returncode == 1
    line = next(x for x in listed.stdout.splitlines() if x.startswith("broken\t"))
    assert "broken-vendor 0.3" in line and "does not load" in line and "vendor_sdk" in line
    assert any(
        x.startswith("buildium\t") and x.endswith("\tok") for x in listed.stdout.splitlines()
    )
    config = tmp_path / "prophub.toml"
    state = f'[state]\nurl = "sqlite:///{tmp_path / "s.db"}"\n'
    table = 'base_url = "http://127.0.0.1:9"\nclient_id = "i"\nclient_secret = "s"\n'
    config.write_text(f'{state}[connectors.hoa]\ntype = "buildium"\n{table}')
    assert prophub(env, "status", "--config", str(config)).returncode == 0
    config.write_text(f'{state}[connectors.x]\ntype = "broken"\n{table}')
    used = prophub(env, "status", "--config", str(config))
    assert used.returncode == 2 and len(used.stderr.strip().splitlines()) == 1
    assert "connectors.x.type" in used.stderr and "broken-vendor 0.3" in used.stderr
    assert "Traceback" not in used.stderr


def plugin_package(root: Path, contract: str) -> dict[str, str]:
    """A package on the path whose plugin was built for connector contract ``contract``;
    the environment for a subprocess that sees it."""
    (root / "future_vendor.py").write_text(
        "from hub.sdk import ConnectorPlugin, ConnectorSettings\n"
        "def make(settings, *, name, observer=None): raise RuntimeError('never made')\n"
        f"plugin = ConnectorPlugin(name='future', connector=make, settings=ConnectorSettings, "
        f"contract={contract!r})\n"
    )
    info = root / "future_vendor-2.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: future-vendor\nVersion: 2.1\n")
    (info / "entry_points.txt").write_text("[prophub.connectors]\nfuture = future_vendor:plugin\n")
    return {**os.environ, "PYTHONPATH": str(root)}


def test_the_builtin_plugins_declare_the_current_contract() -> None:
    """A plugin that names no contract was built for the hub's own (the built-ins)."""
    for name in ("buildium", "builder_backed", "propertybase"):
        assert registry.get(name).contract == CONTRACT_VERSION


@pytest.mark.parametrize("contract", ["2.0", "0.9", "one"])
def test_a_plugin_for_another_major_version_is_refused(contract: str) -> None:
    """Registering a plugin built for another major version of the contract fails with one
    line naming the plugin and both versions; another minor version is accepted."""
    plugin = ConnectorPlugin(
        name="other",
        connector=lambda s, *, name: None,
        settings=ConnectorSettings,  # type: ignore[arg-type,return-value]
        contract=contract,
    )
    with pytest.raises(ConfigError) as caught:
        registry.register(plugin)
    message = str(caught.value)
    assert "'other'" in message and CONTRACT_VERSION in message and "\n" not in message
    assert "other" not in registry.plugins()
    minor = CONTRACT_VERSION.split(".")[0] + ".7"
    registry.register(
        ConnectorPlugin(
            name="other",
            connector=lambda s, *, name: None,
            settings=ConnectorSettings,  # type: ignore[arg-type,return-value]
            contract=minor,
        )
    )
    try:
        assert registry.get("other").contract == minor
    finally:
        registry.unregister("other")


def test_plugins_lists_contract_versions_and_refuses_another_major(tmp_path: Path) -> None:
    """``prophub plugins`` shows each plugin's contract; one built for another major version
    is listed as not loading, and a config using it gets one line naming its package."""
    env = plugin_package(tmp_path, "2.0")
    listed = prophub(env, "plugins")
    assert listed.returncode == 1
    lines = listed.stdout.splitlines()
    line = next(x for x in lines if x.startswith("future\t"))
    assert "future-vendor 2.1" in line and "\tcontract 2.0\t" in line
    assert "does not load" in line and f"speaks connector contract {CONTRACT_VERSION}" in line
    builtin = next(x for x in lines if x.startswith("propertybase\t"))
    assert builtin.endswith(f"\tcontract {CONTRACT_VERSION}\tok")
    config = tmp_path / "prophub.toml"
    state = f'[state]\nurl = "sqlite:///{tmp_path / "s.db"}"\n'
    config.write_text(f'{state}[connectors.x]\ntype = "future"\nbase_url = "http://127.0.0.1:9"\n')
    used = prophub(env, "status", "--config", str(config))
    assert used.returncode == 2 and len(used.stderr.strip().splitlines()) == 1
    assert "future-vendor 2.1" in used.stderr and "contract '2.0'" in used.stderr
