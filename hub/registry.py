"""Connector plugins, found through the ``prophub.connectors`` entry points.

Built-in connectors load the same way as a third party's. An entry point is loaded only when
a config or a command names its type, so a plugin package that fails to import breaks only
the commands that use it, with one line naming the package and the error. A plugin built
for another major version of the connector contract (``ConnectorPlugin.contract`` against
``CONTRACT_VERSION``) is refused the same way. Tests and embedders may ``register()``
plugins by hand.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from hub.connector import CONTRACT_VERSION, Capabilities, ConnectorPlugin
from hub.errors import ConfigError

__all__ = [
    "GROUP",
    "Installed",
    "Status",
    "capabilities",
    "check_contract",
    "get",
    "installed",
    "plugins",
    "register",
    "unregister",
]

GROUP = "prophub.connectors"

_registered: dict[str, ConnectorPlugin] = {}
_loaded: dict[str, ConnectorPlugin] = {}


@dataclass(frozen=True)
class Installed:
    """An installed plugin as its package declares it, before anything is imported."""

    name: str
    target: str  # module:attribute
    package: str  # the distribution that provides it, with its version

    def load(self) -> ConnectorPlugin:
        """Import the plugin; ``ConfigError`` naming the package and the error otherwise
        (an import that fails, an object that is no plugin, another contract version)."""
        if self.name in _loaded:
            return _loaded[self.name]
        plugin = self._imported()
        check_contract(plugin, f"connector {self.name!r} from {self.package}")
        _loaded[self.name] = plugin
        return plugin

    def status(self) -> Status:
        """What ``prophub plugins`` shows: the contract the plugin declares, and why it does
        not load (None: it loads)."""
        try:
            plugin = self._imported()
        except ConfigError as exc:
            return Status(None, str(exc))
        try:
            self.load()
        except ConfigError as exc:
            return Status(plugin.contract, str(exc))
        return Status(plugin.contract, None)

    def _imported(self) -> ConnectorPlugin:
        if self.name in _loaded:
            return _loaded[self.name]
        try:
            plugin = _entry_points()[self.name].load()
        except Exception as exc:  # a third party's import may fail in any way: all reported
            raise ConfigError(
                f"connector {self.name!r} from {self.package} could not be loaded "
                f"({type(exc).__name__}: {exc}); reinstall or remove that package"
            ) from exc
        if not isinstance(plugin, ConnectorPlugin):
            raise ConfigError(
                f"connector {self.name!r} from {self.package} ({self.target}) "
                "is not a ConnectorPlugin"
            )
        return plugin


@dataclass(frozen=True)
class Status:
    """An installed plugin's declared contract version (None: it cannot be imported) and
    the one-line reason it does not load (None: it loads)."""

    contract: str | None
    problem: str | None


def _major(version: object) -> int | None:
    """The major number of a ``major.minor`` version string; None when it is not one."""
    if not isinstance(version, str):
        return None
    head = version.strip().split(".", 1)[0]
    return int(head) if head.isdigit() else None


def check_contract(plugin: ConnectorPlugin, what: str) -> None:
    """Refuse a plugin built for another major version of the connector contract, with one
    line naming ``what`` (the plugin and its package) and both versions."""
    major = _major(plugin.contract)
    if major == _major(CONTRACT_VERSION):
        return
    built = f"contract {plugin.contract!r}" if major is not None else "no readable contract"
    raise ConfigError(
        f"{what} was built for {built}, but this hub speaks connector contract "
        f"{CONTRACT_VERSION}; install a release of that package built for "
        f"contract {_major(CONTRACT_VERSION)}.x"
    )


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


def installed() -> list[Installed]:
    """Every plugin the installed packages declare, by name, none of them imported."""
    listed = []
    for name, ep in sorted(_entry_points().items()):
        dist = ep.dist
        package = f"{dist.name} {dist.version}" if dist is not None else "an unknown package"
        listed.append(Installed(name, ep.value, package))
    return listed


class _Plugins(Mapping[str, ConnectorPlugin]):
    """Every known plugin by type name; a plugin is imported when it is looked up."""

    def __getitem__(self, name: str) -> ConnectorPlugin:
        if name in _registered:
            return _registered[name]
        for entry in installed():
            if entry.name == name:
                return entry.load()
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in _registered or name in _entry_points()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({*_registered, *_entry_points()}))

    def __len__(self) -> int:
        return len({*_registered, *_entry_points()})


def plugins() -> Mapping[str, ConnectorPlugin]:
    """A read-only view of every known connector plugin, by type name, loaded on lookup."""
    return _Plugins()


def get(name: str) -> ConnectorPlugin:
    """The plugin of type ``name``; ``ConfigError`` lists the known ones otherwise, or names
    the package whose plugin could not be loaded."""
    known = plugins()
    if name not in known:
        listed = ", ".join(known) or "none installed"
        raise ConfigError(f"unknown connector type {name!r} (known: {listed})")
    return known[name]


def capabilities(plugin: ConnectorPlugin) -> Capabilities | None:
    """What the plugin's connectors read, write and delete, where its connector class
    declares it (a ``capabilities`` class attribute); None when only an instance can tell."""
    declared = getattr(plugin.connector, "capabilities", None)
    return declared if isinstance(declared, Capabilities) else None


def register(plugin: ConnectorPlugin) -> None:
    """Add or replace a plugin by hand (tests, embedded use); ``ConfigError`` for a plugin
    built for another major version of the contract."""
    check_contract(plugin, f"connector {plugin.name!r}")
    _registered[plugin.name] = plugin


def unregister(name: str) -> None:
    """Remove a plugin registered by hand."""
    _registered.pop(name, None)
