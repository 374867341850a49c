"""property-hub: keep Builder Backed, Buildium and Propertybase GO in step.

The library API is :class:`Hub`; the canonical model lives in :mod:`hub.models`, the error
tree in :mod:`hub.errors` and the connector contract in :mod:`hub.connector`.

The names below load on first use (PEP 562), so ``import hub.models`` costs the model alone:
a mapping must not pay for the engine, SQLAlchemy and aiohttp it never touches.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # What the lazy names resolve to, spelled out for type checkers and editors.
    from hub.app import Hub
    from hub.config import HubConfig, load_config, parse_config
    from hub.connector import (
        Capabilities,
        Connector,
        ConnectorPlugin,
        ReadFailure,
        SourceRecord,
        WriteAction,
        WriteResult,
    )
    from hub.errors import ConfigError, HubError, PermanentError, TransientError, VendorError
    from hub.models import Address, Document, Home, Location, Organization, Person
    from hub.sync import FlowReport

#: each public name -> the module that defines it
_EXPORTS = {
    "Address": "hub.models",
    "Capabilities": "hub.connector",
    "ConfigError": "hub.errors",
    "Connector": "hub.connector",
    "ConnectorPlugin": "hub.connector",
    "Document": "hub.models",
    "FlowReport": "hub.sync",
    "Home": "hub.models",
    "Hub": "hub.app",
    "HubConfig": "hub.config",
    "HubError": "hub.errors",
    "Location": "hub.models",
    "Organization": "hub.models",
    "PermanentError": "hub.errors",
    "Person": "hub.models",
    "ReadFailure": "hub.connector",
    "SourceRecord": "hub.connector",
    "TransientError": "hub.errors",
    "VendorError": "hub.errors",
    "WriteAction": "hub.connector",
    "WriteResult": "hub.connector",
    "load_config": "hub.config",
    "parse_config": "hub.config",
}

__all__ = [
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
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use and keep the name here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hub' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    """The module's own names and the lazy public ones."""
    return sorted({*globals(), *__all__})
