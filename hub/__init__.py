"""property-hub: keep Builder Backed, Buildium and Propertybase GO in step."""

from hub.errors import (
    ConfigError,
    HubError,
    PermanentError,
    TransientError,
    VendorError,
)
from hub.models import Document, Home, Location, Organization, Person

__all__ = [
    "ConfigError",
    "Document",
    "Home",
    "HubError",
    "Location",
    "Organization",
    "PermanentError",
    "Person",
    "TransientError",
    "VendorError",
]
__version__ = "0.1.0"
