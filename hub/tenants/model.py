"""A tenant's definition and what it makes of the config: its connectors and its flows."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.client.settings import ConnectorSettings
from hub.config import FlowOptions, FlowSettings, HubConfig
from hub.config.messages import validation_error
from hub.config.substitution import interpolate, read_secret_files
from hub.errors import ConfigError

__all__ = [
    "DEFAULT",
    "NAME_PATTERN",
    "RESERVED",
    "Tenant",
    "TenantView",
    "flows_of",
    "scoped",
    "tenant_of",
    "view",
]

#: the implicit tenant of a config that defines none: its names carry no prefix
DEFAULT = ""
#: a tenant's name: it prefixes its connectors' and flows' names in the state store
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
#: the default tenant's name in metric labels and messages, so no tenant may take it
RESERVED = "default"


class Tenant(BaseModel):
    """One customer account: per connector of the config, what it changes (credentials
    first); which flows run for it (default: every enabled one); per flow, option overrides."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    flows: list[str] | None = None
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name == RESERVED:
            raise ValueError(f"{RESERVED!r} is the default tenant's name: choose another")
        return name


def scoped(tenant: str, name: str) -> str:
    """A connector's or flow's name as the tenant's state knows it."""
    return f"{tenant}/{name}" if tenant else name


def tenant_of(name: str) -> str:
    """The tenant a connector's or flow's name in the state store belongs to."""
    tenant, slash, _ = name.partition("/")
    return tenant if slash else DEFAULT


@dataclass(frozen=True)
class TenantView:
    """The config as one tenant runs it: its connectors' settings and its flows, by the
    config's own names (their state is kept under :func:`scoped` names)."""

    tenant: str
    connectors: dict[str, ConnectorSettings]
    flows: list[FlowSettings]

    def flow(self, name: str) -> FlowSettings:
        """The tenant's flow called ``name``."""
        for flow in self.flows:
            if flow.name == name:
                return flow
        raise ConfigError(f"no flow named {name!r} for tenant {self.tenant or RESERVED}")


def view(
    config: HubConfig,
    tenant: Tenant | None = None,
    *,
    env: Mapping[str, str] | None = None,
    open_secret: Any = None,
) -> TenantView:
    """The config as ``tenant`` runs it (None: the config itself, the default tenant).

    ``open_secret`` turns a sealed secret back into its value; ``${ENV}`` references are
    resolved from ``env`` (default: the process's environment) when the view is made.
    """
    if tenant is None:
        return TenantView(DEFAULT, dict(config.connectors), flows_of(config))
    where = f"tenants.{tenant.name}"
    connectors: dict[str, ConnectorSettings] = {}
    unknown = sorted(set(tenant.connectors) - set(config.connectors))
    if unknown:
        raise ConfigError(f"no connector named {unknown[0]!r} in the config", key=where)
    for name, base in config.connectors.items():
        changes = tenant.connectors.get(name)
        if not changes:
            connectors[name] = base
            continue
        key = f"{where}.connectors.{name}"
        table = interpolate(dict(changes), os.environ if env is None else env, key)
        if open_secret is not None:
            table = {k: open_secret(v) if isinstance(v, str) else v for k, v in table.items()}
        read_secret_files(table, type(base), key)
        if "type" in table and table["type"] != base.type:
            raise ConfigError("a tenant cannot change a connector's type", key=f"{key}.type")
        try:
            connectors[name] = type(base).model_validate({**dict(base), **table})
        except ValidationError as exc:
            raise validation_error(exc, key) from None
    flows = [
        _with_options(flow, tenant.options.get(flow.name), f"{where}.options.{flow.name}")
        for flow in flows_of(config, tenant)
    ]
    return TenantView(tenant.name, connectors, flows)


def flows_of(config: HubConfig, tenant: Tenant | None = None) -> list[FlowSettings]:
    """The config's flows ``tenant`` runs, as the config defines them (None: every flow of
    the config, as the default tenant has them); needs none of the tenant's secrets."""
    if tenant is None:
        return list(config.flows)
    names = {flow.name for flow in config.flows}
    wanted = tenant.flows if tenant.flows is not None else [f.name for f in config.flows]
    missing = sorted((set(wanted) | set(tenant.options)) - names)
    if missing:
        raise ConfigError(
            f"no flow named {missing[0]!r} in the config", key=f"tenants.{tenant.name}"
        )
    return [
        flow
        for flow in config.flows
        if flow.name in wanted and (tenant.flows is not None or flow.enabled)
    ]


def _with_options(flow: FlowSettings, changes: dict[str, Any] | None, key: str) -> FlowSettings:
    """The flow with the tenant's option overrides."""
    if not changes:
        return flow
    try:
        options = FlowOptions.model_validate(
            {**flow.options.model_dump(exclude_unset=True), **changes}
        )
    except ValidationError as exc:
        raise validation_error(exc, key) from None
    return flow.model_copy(update={"options": options})
