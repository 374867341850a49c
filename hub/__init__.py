"""property-hub: keep Builder Backed, Buildium and Propertybase GO in step.

The library API is :class:`Hub`; the canonical model lives in :mod:`hub.models`, the error
tree in :mod:`hub.errors` and the connector contract in :mod:`hub.connector`.
"""

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
from hub.engine import FlowReport
from hub.errors import (
    ConfigError,
    HubError,
    PermanentError,
    TransientError,
    VendorError,
)
from hub.models import Address, Document, Home, Location, Organization, Person

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
