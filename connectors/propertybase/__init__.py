"""Propertybase GO: real-estate CRM (offices, agents, teams, leads, developments)."""

from connectors.propertybase.connector import PropertybaseConnector, PropertybaseSettings
from connectors.propertybase.sandbox import PropertybaseSandbox
from hub.connector import ConnectorPlugin

__all__ = ["PropertybaseConnector", "PropertybaseSandbox", "PropertybaseSettings", "plugin"]


plugin = ConnectorPlugin(
    name="propertybase",
    connector=PropertybaseConnector,
    settings=PropertybaseSettings,
    sandbox=PropertybaseSandbox,
    sandbox_credentials=PropertybaseSandbox.default_credentials,
    description="Propertybase GO (X-BL-API-Key; offices, agents, teams, leads, developments)",
)
