"""prophub-reso: a property-hub connector for the RESO Web API, built on ``hub.sdk`` alone.

The entry point ``reso`` in the ``prophub.connectors`` group names :data:`plugin`.
"""

from hub.sdk import ConnectorPlugin
from prophub_reso.connector import ResoConnector, ResoSettings
from prophub_reso.sandbox import ResoSandbox

__all__ = ["ResoConnector", "ResoSandbox", "ResoSettings", "plugin"]

plugin = ConnectorPlugin(
    name="reso",
    connector=ResoConnector,
    settings=ResoSettings,
    sandbox=ResoSandbox,
    sandbox_credentials=ResoSandbox.default_credentials,
    description="RESO Web API (OData: Property, Member, Office; bearer or OAuth2 tokens)",
    contract="1.0",
)
