"""Connector plugins, found through the ``prophub.connectors`` entry points.

Built-in connectors load the same way as a third party's. Tests may ``register()`` fakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType

from hub.connector import Capabilities, ConnectorPlugin
from hub.errors import ConfigError

__all__ = ["GROUP", "capabilities", "get", "plugins", "register", "unregister"]

GROUP = "prophub.connectors"

_registry: dict[str, ConnectorPlugin] = {}
_discovered = False


def _load(ep: EntryPoint) -> ConnectorPlugin:
    try:
        plugin = ep.load()
    except ImportError as exc:
        raise ConfigError(
            f"connector {ep.name!r} could not be imported ({exc}); "
            f"reinstall the package that provides it ({ep.value})"
        ) from exc
    if not isinstance(plugin, ConnectorPlugin):
        raise ConfigError(f"entry point {ep.name!r} ({ep.value}) is not a ConnectorPlugin")
    return plugin


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    for ep in entry_points(group=GROUP):
        _registry.setdefault(ep.name, _load(ep))
    _discovered = True


def plugins() -> Mapping[str, ConnectorPlugin]:
    """A read-only view of every known connector plugin, by type name."""
    _discover()
    return MappingProxyType(_registry)


def get(name: str) -> ConnectorPlugin:
    """The plugin registered as ``name``; ``ConfigError`` lists the known ones otherwise."""
    known = plugins()
    if name not in known:
        listed = ", ".join(sorted(known)) or "none installed"
        raise ConfigError(f"unknown connector type {name!r} (known: {listed})")
    return known[name]


def capabilities(plugin: ConnectorPlugin) -> Capabilities | None:
    """What the plugin's connectors read, write and delete, where its connector class
    declares it (a ``capabilities`` class attribute); None when only an instance can tell."""
    declared = getattr(plugin.connector, "capabilities", None)
    return declared if isinstance(declared, Capabilities) else None


def register(plugin: ConnectorPlugin) -> None:
    """Add or replace a plugin by hand (tests, embedded use)."""
    _registry[plugin.name] = plugin


def unregister(name: str) -> None:
    """Remove a plugin registered by hand."""
    _registry.pop(name, None)
