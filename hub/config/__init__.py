"""Configuration: one TOML file validated with pydantic.

Any string may hold ``${ENV_VAR}`` (``$${`` escapes); any secret field ``x`` may instead be
given as ``x_file = "/run/secrets/..."``. Unknown keys are errors. Every failure is a
:class:`~hub.errors.ConfigError` whose text is one line naming the file, the key and the problem.

One module per job:

- :mod:`hub.config.settings`: the models of the file's tables (``HubConfig``, ``FlowSettings``,
  ``FlowOptions``, ...) and durations;
- :mod:`hub.config.substitution`: environment variables and secret files;
- :mod:`hub.config.loading`: reading, validating each connector's table by its plugin, and the
  secrets a config holds;
- :mod:`hub.config.checks`: what the tables only show together, the plugins' capabilities
  included;
- :mod:`hub.config.messages`: pydantic's errors as one line.
"""

from __future__ import annotations

from hub.config.loading import load_config, parse_config, secret_values
from hub.config.settings import (
    DaemonSettings,
    FlowOptions,
    FlowSettings,
    HubConfig,
    StateSettings,
    TenantSettings,
    parse_duration,
)

__all__ = [
    "DaemonSettings",
    "FlowOptions",
    "FlowSettings",
    "HubConfig",
    "StateSettings",
    "TenantSettings",
    "load_config",
    "parse_config",
    "parse_duration",
    "secret_values",
]
