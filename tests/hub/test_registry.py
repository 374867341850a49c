"""The connector registry: entry points, read-only view, hand registration."""

from __future__ import annotations

import pytest

from hub import registry
from hub.client.settings import ConnectorSettings
from hub.connector import ConnectorPlugin
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
