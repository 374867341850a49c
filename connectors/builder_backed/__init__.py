"""Builder Backed: warranty and homeowner platform for builders (OAuth2, externalId-keyed)."""

from connectors.builder_backed.connector import BuilderBackedConnector, BuilderBackedSettings
from connectors.builder_backed.sandbox import BuilderBackedSandbox
from hub.connector import ConnectorPlugin

__all__ = ["BuilderBackedConnector", "BuilderBackedSandbox", "BuilderBackedSettings", "plugin"]


plugin = ConnectorPlugin(
    name="builder_backed",
    connector=BuilderBackedConnector,
    settings=BuilderBackedSettings,
    sandbox=BuilderBackedSandbox,
    sandbox_credentials=BuilderBackedSandbox.default_credentials,
    description="Builder Backed V2 (OAuth2 client credentials; locations, homes, documents)",
)
