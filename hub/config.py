"""Configuration: one TOML file validated with pydantic.

Any string may hold ``${ENV_VAR}`` (``$${`` escapes); any secret field ``x`` may instead be
given as ``x_file = "/run/secrets/..."``. Unknown keys are errors. Every failure is a
:class:`~hub.errors.ConfigError` whose text is one line naming the file, the key and the problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from hub.errors import ConfigError
from hub.limits import Limits
from hub.models import ENTITIES
from hub.retry import RetryPolicy

if TYPE_CHECKING:
    from hub.connector import ConnectorPlugin

__all__ = [
    "ConnectorSettings",
    "DaemonSettings",
    "FlowSettings",
    "HubConfig",
    "StateSettings",
    "load_config",
    "parse_config",
    "parse_duration",
    "secret_values",
]

_ENV = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectorSettings(_Strict):
    """Settings every connector shares; a vendor subclass adds its credentials."""

    type: str
    base_url: str
    rate_limit: float = Field(default=10.0, ge=0)  # 0: no rate limit
    max_concurrency: int = Field(default=4, ge=1)
    timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    retry_base: float = Field(default=0.5, gt=0)
    retry_cap: float = Field(default=30.0, gt=0)
    retry_max_time: float = Field(default=120.0, gt=0)
    page_size: int | None = Field(default=None, ge=1)

    def retry_policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        return RetryPolicy(
            max_attempts=self.max_retries + 1,
            base=self.retry_base,
            cap=self.retry_cap,
            max_total=self.retry_max_time,
        )

    def limits(self, sleep: Callable[[float], Awaitable[None]] | None = None) -> Limits:
        """The rate limit and concurrency cap these settings describe."""
        return Limits(self.rate_limit, max_concurrency=self.max_concurrency, sleep=sleep)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class StateSettings(_Strict):
    """Where the state store lives."""

    url: str = "sqlite:///prophub-state.db"


class DaemonSettings(_Strict):
    """The daemon's HTTP endpoint, log format and shutdown budget."""

    listen: str = "127.0.0.1:9464"
    log_format: Literal["json", "console"] = "json"
    shutdown_timeout: float = Field(default=10.0, gt=0)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError("must be HOST:PORT")
        return value


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``30s``, ``15m``, ``1h30m`` or a bare number of seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m or 1h30m")
    return sum(float(n) * _UNIT[u] for n, u in parts)


class FlowSettings(_Strict):
    """One flow: read an entity from a source connector, write it to a target."""

    name: str = Field(min_length=1)
    source: str
    target: str
    entity: str
    mode: Literal["incremental", "full"] = "incremental"
    every: str = "15m"
    on_delete: Literal["ignore", "delete", "deactivate"] = "ignore"
    concurrency: int = Field(default=4, ge=1)
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("entity")
    @classmethod
    def _entity(cls, value: str) -> str:
        if value not in ENTITIES:
            raise ValueError(f"unknown entity {value!r} (known: {', '.join(ENTITIES)})")
        return value

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        if parse_duration(value) <= 0:
            raise ValueError("must be longer than zero")
        return value

    @property
    def every_seconds(self) -> float:
        """The schedule interval in seconds."""
        return parse_duration(self.every)


class HubConfig(_Strict):
    """The whole configuration."""

    state: StateSettings = Field(default_factory=StateSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    connectors: dict[str, ConnectorSettings] = Field(default_factory=dict)
    flows: list[FlowSettings] = Field(default_factory=list)


# -- loading ---------------------------------------------------------------------------------


def _interpolate(value: Any, env: Mapping[str, str], key: str) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, env, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, f"{key}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"environment variable {name} is not set", key=key)
        return env[name]

    return _ENV.sub(sub, value)


def _read_secret_files(table: dict[str, Any], settings: type[BaseModel], key: str) -> None:
    for field in [k for k in table if k.endswith("_file")]:
        name = field.removesuffix("_file")
        info = settings.model_fields.get(name)
        if info is None or info.annotation not in (SecretStr, SecretStr | None):
            continue
        if name in table:
            raise ConfigError(f"give either {name} or {field}, not both", key=f"{key}.{field}")
        try:
            table[name] = Path(str(table.pop(field))).read_text().rstrip("\r\n")
        except OSError as exc:
            message = f"cannot read secret file: {exc.strerror}"
            raise ConfigError(message, key=f"{key}.{field}") from None


def _loc(loc: tuple[int | str, ...], prefix: str) -> str:
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(item)
    return ".".join(parts)


def _validation_error(exc: ValidationError, prefix: str) -> ConfigError:
    # Built from loc and msg only: pydantic's "input" could hold a secret.
    errors = exc.errors(include_input=False, include_url=False)
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    return ConfigError(message + more, key=_loc(first["loc"], prefix) or None)


def _connectors(
    tables: Any, plugins: Mapping[str, ConnectorPlugin]
) -> dict[str, ConnectorSettings]:
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
        settings = plugins[kind].settings
        table = dict(table)
        _read_secret_files(table, settings, key)
        try:
            result[name] = settings.model_validate(table)
        except ValidationError as exc:
            raise _validation_error(exc, key) from None
    return result


def _cross_check(config: HubConfig) -> None:
    seen: set[str] = set()
    for i, flow in enumerate(config.flows):
        for end in ("source", "target"):
            if getattr(flow, end) not in config.connectors:
                raise ConfigError(
                    f"no connector named {getattr(flow, end)!r}", key=f"flows[{i}].{end}"
                )
        if flow.name in seen:
            raise ConfigError(f"duplicate flow name {flow.name!r}", key=f"flows[{i}].name")
        seen.add(flow.name)


def parse_config(
    data: Mapping[str, Any],
    *,
    source: str = "<config>",
    env: Mapping[str, str] | None = None,
    plugins: Mapping[str, ConnectorPlugin] | None = None,
) -> HubConfig:
    """Validate a config mapping (as parsed from TOML)."""
    if plugins is None:
        from hub import registry

        plugins = registry.plugins()
    try:
        raw = _interpolate(dict(data), os.environ if env is None else env, "")
        connectors = _connectors(raw.pop("connectors", {}), plugins)
        try:
            config = HubConfig.model_validate(raw)
        except ValidationError as exc:
            raise _validation_error(exc, "") from None
        config.connectors = connectors
        _cross_check(config)
    except ConfigError as exc:
        raise ConfigError(str(exc), path=source) from None
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
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=str(path)) from None
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
