"""Loading a config: the TOML file read, substituted, validated table by table against the
installed connector plugins, then cross-checked; and the secrets it holds."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from hub import registry
from hub.client.settings import ConnectorSettings
from hub.config.checks import cross_check
from hub.config.messages import one_line, validation_error
from hub.config.settings import HubConfig
from hub.config.substitution import interpolate, not_utf8, read_secret_files, read_text
from hub.connector import ConnectorPlugin
from hub.errors import ConfigError

__all__ = ["load_config", "parse_config", "secret_values"]


def _connectors(
    tables: Any, plugins: Mapping[str, ConnectorPlugin]
) -> dict[str, ConnectorSettings]:
    """Each ``[connectors.NAME]`` table validated by its plugin's own settings model."""
    if not isinstance(tables, dict):
        raise ConfigError("must be a table of connector tables", key="connectors")
    result = {}
    for name, table in tables.items():
        key = f"connectors.{name}"
        if not isinstance(table, dict):
            raise ConfigError("must be a table", key=key)
        kind = table.get("type")
        if not isinstance(kind, str):
            raise ConfigError("missing connector type", key=f"{key}.type")
        if kind not in plugins:
            known = ", ".join(sorted(plugins)) or "none installed"
            message = f"unknown connector type {kind!r} (known: {known})"
            raise ConfigError(message, key=f"{key}.type")
        try:
            settings = plugins[kind].settings
        except ConfigError as exc:  # its package is installed but broken
            raise ConfigError(str(exc), key=f"{key}.type") from None
        table = dict(table)
        read_secret_files(table, settings, key)
        try:
            result[name] = settings.model_validate(table)
        except ValidationError as exc:
            raise validation_error(exc, key) from None
    return result


def parse_config(
    data: Mapping[str, Any],
    *,
    source: str = "<config>",
    env: Mapping[str, str] | None = None,
    plugins: Mapping[str, ConnectorPlugin] | None = None,
) -> HubConfig:
    """Validate a config mapping (as parsed from TOML)."""
    try:
        if plugins is None:
            plugins = registry.plugins()
        raw = interpolate(dict(data), os.environ if env is None else env, "")
        connectors = _connectors(raw.pop("connectors", {}), plugins)
        try:
            config = HubConfig.model_validate(raw)
        except ValidationError as exc:
            raise validation_error(exc, "") from None
        config.connectors = connectors
        # Only the plugins the config uses are loaded: another's broken package is not ours.
        used = {settings.type for settings in connectors.values()}
        capabilities = {kind: registry.capabilities(plugins[kind]) for kind in used}
        cross_check(config, capabilities)
    except ConfigError as exc:
        raise ConfigError(one_line(str(exc)), path=source) from None
    return config


def load_config(
    path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    plugins: Mapping[str, ConnectorPlugin] | None = None,
) -> HubConfig:
    """Read and validate a TOML config file."""
    path = Path(path)
    try:
        data = tomllib.loads(read_text(path))
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the file {not_utf8(exc)}", path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {one_line(str(exc))}", path=str(path)) from None
    return parse_config(data, source=str(path), env=env, plugins=plugins)


def secret_values(config: HubConfig) -> set[str]:
    """Every secret the config holds, for log redaction."""
    found = set()
    for settings in config.connectors.values():
        for name in type(settings).model_fields:
            value = getattr(settings, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.add(value.get_secret_value())
    return found
