"""Buildium: property management (rentals, associations, units, owners, tenants)."""

from collections.abc import Mapping

from connectors.buildium.connector import BuildiumConnector, BuildiumSettings
from connectors.buildium.sandbox import BuildiumSandbox
from hub.connector import ConnectorPlugin
from hub.sandbox.options import SandboxOptions

__all__ = ["BuildiumConnector", "BuildiumSandbox", "BuildiumSettings", "plugin"]


def _sandbox(options: SandboxOptions, credentials: Mapping[str, str]) -> BuildiumSandbox:
    return BuildiumSandbox(options, credentials)


plugin = ConnectorPlugin(
    name="buildium",
    connector=BuildiumConnector,
    settings=BuildiumSettings,
    sandbox=_sandbox,
    sandbox_credentials=BuildiumSandbox.default_credentials,
    description="Buildium (client id/secret headers; associations, rentals, owners, tenants)",
)
