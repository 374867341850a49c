"""Builder Backed: warranty and homeowner platform for builders (OAuth2, externalId-keyed)."""

from collections.abc import Mapping

from connectors.builder_backed.connector import BuilderBackedConnector, BuilderBackedSettings
from connectors.builder_backed.sandbox import BuilderBackedSandbox
from hub.connector import ConnectorPlugin
from hub.sandbox.options import SandboxOptions

__all__ = ["BuilderBackedConnector", "BuilderBackedSandbox", "BuilderBackedSettings", "plugin"]


def _sandbox(options: SandboxOptions, credentials: Mapping[str, str]) -> BuilderBackedSandbox:
    return BuilderBackedSandbox(options, credentials)


plugin = ConnectorPlugin(
    name="builder_backed",
    connector=BuilderBackedConnector,
    settings=BuilderBackedSettings,
    sandbox=_sandbox,
    sandbox_credentials=BuilderBackedSandbox.default_credentials,
    description="Builder Backed V2 (OAuth2 client credentials; locations, homes, documents)",
)
