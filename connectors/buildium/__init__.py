"""Buildium: property management (rentals, associations, units, owners, tenants)."""

from connectors.buildium.connector import BuildiumConnector, BuildiumSettings
from connectors.buildium.sandbox import BuildiumSandbox
from hub.connector import ConnectorPlugin

__all__ = ["BuildiumConnector", "BuildiumSandbox", "BuildiumSettings", "plugin"]


plugin = ConnectorPlugin(
    name="buildium",
    connector=BuildiumConnector,
    settings=BuildiumSettings,
    sandbox=BuildiumSandbox,
    sandbox_credentials=BuildiumSandbox.default_credentials,
    description="Buildium (client id/secret headers; associations, rentals, owners, tenants)",
)
