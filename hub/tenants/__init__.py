"""Tenants: named sets of connector credentials applied to the flows a config defines.

One hub serves many customer accounts: a tenant gives each connector of the config its own
credentials (and, optionally, settings and flow options), and every piece of state is kept
apart by the tenant's name, which prefixes its connectors' and flows' names (``acme/hoa``,
``acme/hoa-units-to-warranty``). A config without tenants is the implicit default tenant,
its names unprefixed.
"""

from __future__ import annotations

from hub.tenants.model import DEFAULT, Tenant, TenantView, scoped, tenant_of, view
from hub.tenants.sealing import SecretBox, seal_tenant

__all__ = [
    "DEFAULT",
    "SecretBox",
    "Tenant",
    "TenantView",
    "scoped",
    "seal_tenant",
    "tenant_of",
    "view",
]
