"""Propertybase GO: real-estate CRM (offices, agents, teams, leads, developments)."""

from collections.abc import Mapping

from connectors.propertybase.connector import PropertybaseConnector, PropertybaseSettings
from connectors.propertybase.sandbox import PropertybaseSandbox
from hub.connector import ConnectorPlugin
from hub.sandbox.options import SandboxOptions

__all__ = ["PropertybaseConnector", "PropertybaseSandbox", "PropertybaseSettings", "plugin"]


def _sandbox(options: SandboxOptions, credentials: Mapping[str, str]) -> PropertybaseSandbox:
    return PropertybaseSandbox(options, credentials)


plugin = ConnectorPlugin(
    name="propertybase",
    connector=PropertybaseConnector,
    settings=PropertybaseSettings,
    sandbox=_sandbox,
    sandbox_credentials=PropertybaseSandbox.default_credentials,
    description="Propertybase GO (X-BL-API-Key; offices, agents, teams, leads, developments)",
)
