"""Configuration: one TOML file validated with pydantic.

Any string may hold ``${ENV_VAR}`` (``$${`` escapes); any secret field ``x`` may instead be
given as ``x_file = "/run/secrets/..."``. Unknown keys are errors. Every failure is a
:class:`~hub.errors.ConfigError` whose text is one line naming the file, the key and the problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from hub import registry
from hub.client.settings import MAX_CONCURRENCY, MAX_WAIT, ConnectorSettings, Strict, shown
from hub.connector import Capabilities, ConnectorPlugin
from hub.errors import ConfigError
from hub.models import ENTITIES, Location

__all__ = [
    "DaemonSettings",
    "FlowOptions",
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
#: the shortest and longest schedule interval: below a second a flow would only spin, and
#: past a year the event loop's timers overflow long before
MIN_EVERY = 1.0
MAX_EVERY = 366 * 86400.0
PG_ASYNC = "postgresql+asyncpg"

Name = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class StateSettings(Strict):
    """Where the state store lives: a SQLite file or a PostgreSQL database."""

    url: str = "sqlite:///prophub-state.db"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        # Messages never repeat the URL: it may hold a password.
        try:
            url = sa.engine.make_url(value)
        except sa.exc.ArgumentError:
            raise ValueError(
                "is not a database URL (sqlite:///PATH or postgresql://USER@HOST/DB)"
            ) from None
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(
                f"unsupported database {backend!r}: the state store runs on sqlite or postgresql"
            )
        if backend != "sqlite" and url.drivername not in ("postgresql", "postgres", PG_ASYNC):
            raise ValueError(f"the state store reaches PostgreSQL through asyncpg ({PG_ASYNC})")
        if backend == "sqlite" and url.database in (None, "", ":memory:"):
            raise ValueError("a SQLite state store needs a file (sqlite:///PATH): memory is lost")
        if backend != "sqlite" and not url.database:
            raise ValueError("names no database (postgresql://USER@HOST/DB)")
        return value

    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None for PostgreSQL."""
        url = sa.engine.make_url(self.url)
        if url.get_backend_name() != "sqlite" or not url.database:
            return None
        return Path(url.database)


class DaemonSettings(Strict):
    """The daemon's HTTP endpoint, log format and shutdown budget."""

    listen: str = "127.0.0.1:9464"
    log_format: Literal["json", "console"] = "json"
    shutdown_timeout: float = Field(default=10.0, gt=0, le=MAX_WAIT)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError("must be HOST:PORT")
        if not 0 <= int(port) <= 65535:
            raise ValueError(f"port {int(port)} is not between 0 and 65535")
        return value

    @property
    def host_port(self) -> tuple[str, int]:
        """The address to listen on, as (host, port)."""
        host, _, port = self.listen.rpartition(":")
        return host.removeprefix("[").removesuffix("]"), int(port)


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``30s``, ``15m``, ``1h30m`` or a bare number of seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{shown(text)} is not a duration like 30s, 15m or 1h30m")
        seconds = sum(float(n) * _UNIT[u] for n, u in parts)
    if seconds == float("inf"):  # digits enough to overflow a float
        raise ValueError(f"{shown(text)} is too long a duration")
    return seconds


class FlowOptions(Strict):
    """A flow's options: canonical-level mapping overrides and engine settings.

    Attributes are typed (``options.locations`` is a list of :class:`~hub.models.Location`).
    :meth:`get` gives the same values as plain data, as the free dict of earlier versions did.
    """

    #: the source collections that feed the entity (None: the connector's default ones)
    collections: list[Name] | None = Field(default=None, min_length=1)
    #: fields filled where a record leaves them empty (names checked against the entity)
    defaults: dict[str, Any] = Field(default_factory=dict)
    #: locations the flow makes sure exist at the target before it writes anything
    locations: list[Location] = Field(default_factory=list)
    #: a division's region (by exact name) from its address state
    region_by_state: dict[Name, Name] = Field(default_factory=dict)
    #: ``homeDetails`` keys renamed on the way to the target
    details_rename: dict[Name, Name] = Field(default_factory=dict)
    #: the home details this flow may send (before renaming; None: all the source has)
    details_keys: list[Name] | None = None
    #: the natural keys a target matches existing records on before a create, among those
    #: it offers (None: its default one; ``["none"]`` or ``[]``: no matching)
    match_on: list[Name] | None = None
    #: the largest share of a target's records one run may delete
    allow_mass_delete_share: float = Field(default=0.1, ge=0, le=1)

    _plain: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("match_on", mode="before")
    @classmethod
    def _one_key(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def model_post_init(self, context: Any, /) -> None:
        """Keep the plain form of model-valued options, so :meth:`get` costs no dump."""
        self._plain = {
            "locations": [
                location.model_dump(mode="json", exclude_unset=True) for location in self.locations
            ]
        }

    def get(self, name: str, default: Any = None) -> Any:
        """The option ``name`` as plain data (its default when not configured); ``default``
        where that is None. ``KeyError`` for a name that is no option."""
        if name not in type(self).model_fields:
            raise KeyError(f"no flow option named {name!r}")
        value = self._plain[name] if name in self._plain else getattr(self, name)
        return default if value is None else value

    def configured(self) -> dict[str, Any]:
        """The options the config gave, as plain data (what a config file would hold)."""
        return self.model_dump(mode="json", exclude_unset=True)


class FlowSettings(Strict):
    """One flow: read an entity from a source connector, write it to a target."""

    name: str = Field(min_length=1)
    source: str
    target: str
    entity: str
    mode: Literal["incremental", "full"] = "incremental"
    every: str = "15m"
    on_delete: Literal["ignore", "delete", "deactivate"] = "ignore"
    concurrency: int = Field(default=4, ge=1, le=MAX_CONCURRENCY)
    enabled: bool = True
    options: FlowOptions = Field(default_factory=FlowOptions)

    @field_validator("entity")
    @classmethod
    def _entity(cls, value: str) -> str:
        if value not in ENTITIES:
            raise ValueError(f"unknown entity {value!r} (known: {', '.join(ENTITIES)})")
        return value

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        seconds = parse_duration(value)
        if seconds < MIN_EVERY:
            raise ValueError(f"{shown(value)} is shorter than the shortest interval, 1s")
        if seconds > MAX_EVERY:
            raise ValueError(f"{shown(value)} is longer than the longest interval, 366d")
        return value

    @property
    def every_seconds(self) -> float:
        """The schedule interval in seconds."""
        return parse_duration(self.every)


class HubConfig(Strict):
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


def _read_text(path: Path) -> str:
    """A file's text; a file that is not UTF-8 is a ``UnicodeDecodeError`` like any other
    ``ValueError`` (a leading byte-order mark is allowed)."""
    return path.read_bytes().decode("utf-8-sig")


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"


def _read_secret_files(table: dict[str, Any], settings: type[BaseModel], key: str) -> None:
    for field in [k for k in table if k.endswith("_file")]:
        name = field.removesuffix("_file")
        info = settings.model_fields.get(name)
        if info is None or info.annotation not in (SecretStr, SecretStr | None):
            continue
        where = f"{key}.{field}"
        if name in table:
            raise ConfigError(f"give either {name} or {field}, not both", key=where)
        path = table.pop(field)
        if not isinstance(path, str) or not path:
            raise ConfigError("must be the path of a file holding the secret", key=where)
        try:
            secret = _read_text(Path(path)).rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"cannot read secret file: {exc.strerror}", key=where) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"secret file {_not_utf8(exc)}", key=where) from None
        if not secret.strip():
            raise ConfigError("the secret file is empty", key=where)
        table[name] = secret


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


def _cross_check(
    config: HubConfig, capabilities: Mapping[str, Capabilities | None] | None = None
) -> None:
    """What no single table shows: references between tables, what each connector can do,
    and the shape of the flows together."""
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
        if flow.source == flow.target:
            message = f"the same connector as the source ({flow.source!r}): a flow moves records"
            raise ConfigError(message + " between two connectors", key=f"flows[{i}].target")
        _check_options(flow, f"flows[{i}].options")
        if capabilities is not None:
            _check_capabilities(config, flow, f"flows[{i}]", capabilities)
    _check_cycles(config.flows)
    if not config.connectors:
        raise ConfigError(
            "no connector is configured: a config needs at least one [connectors.NAME] table",
            key="connectors",
        )
    _check_state(config.state)


#: canonical fields no option may set: the record's identity
_IDENTITY = frozenset({"entity", "key"})


def _check_options(flow: FlowSettings, key: str) -> None:
    """Options whose meaning depends on the flow's entity: field names, and who uses what."""
    model = ENTITIES[flow.entity]
    fields = {k: v for k, v in model.model_fields.items() if k not in _IDENTITY}
    options = flow.options
    for name, value in options.defaults.items():
        if name not in fields:
            raise ConfigError(
                f"a {flow.entity} has no field {name!r} to fill", key=f"{key}.defaults.{name}"
            )
        info = fields[name]
        try:
            field_type: Any = (
                Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
            )
            TypeAdapter(field_type).validate_python(value)
        except ValidationError as exc:
            raise _validation_error(exc, f"{key}.defaults.{name}") from None
    if options.details_rename and "details" not in fields:
        message = f"a {flow.entity} has no details to rename (a home has)"
        raise ConfigError(message, key=f"{key}.details_rename")
    if options.region_by_state and flow.entity != "location":
        message = f"only locations are filed under regions; this flow moves {flow.entity} records"
        raise ConfigError(message, key=f"{key}.region_by_state")


def _check_capabilities(
    config: HubConfig,
    flow: FlowSettings,
    key: str,
    capabilities: Mapping[str, Capabilities | None],
) -> None:
    """What the flow asks of its connectors against what their plugins declare (a plugin
    that declares nothing is taken at its word at run time)."""
    source = capabilities.get(config.connectors[flow.source].type)
    target = capabilities.get(config.connectors[flow.target].type)
    if source is not None and flow.entity not in source.reads:
        raise ConfigError(
            f"connector {flow.source!r} cannot read {flow.entity!r} records "
            f"(it reads {_listed(source.reads)})",
            key=f"{key}.entity",
        )
    if target is None:
        return
    if flow.entity not in target.writes:
        raise ConfigError(
            f"connector {flow.target!r} cannot write {flow.entity!r} records "
            f"(it writes {_listed(target.writes)})",
            key=f"{key}.entity",
        )
    if flow.options.locations and "location" not in target.writes:
        message = f"connector {flow.target!r} cannot write the locations listed here"
        raise ConfigError(message, key=f"{key}.options.locations")
    _check_match_on(flow, target, key)
    if flow.on_delete != "ignore":
        # The contract declares deletes; deactivation only where a plugin declares it too.
        able: frozenset[str] = (
            target.deletes
            if flow.on_delete == "delete"
            else getattr(target, "deactivates", frozenset())
        )
        if flow.entity not in able:
            raise ConfigError(
                f"connector {flow.target!r} cannot {flow.on_delete} {flow.entity!r} records "
                f'(it can {flow.on_delete} {_listed(able)}); use on_delete = "ignore"',
                key=f"{key}.on_delete",
            )


def _check_match_on(flow: FlowSettings, target: Capabilities, key: str) -> None:
    """``match_on`` names natural keys the target offers for the entity, or is "none"."""
    chosen = flow.options.match_on
    offered = getattr(target, "natural_keys", None)  # declared by plugins that can look up
    if not chosen or chosen == ["none"] or offered is None:
        return
    keys = tuple(offered.get(flow.entity, ()))
    for j, name in enumerate(chosen):
        if name not in keys:
            raise ConfigError(
                f"connector {flow.target!r} cannot match a {flow.entity} on {name!r} "
                f'(it matches on: {", ".join(keys) or "nothing"}; "none" turns matching off)',
                key=f"{key}.options.match_on[{j}]",
            )


def _listed(names: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join(sorted(names)) or "none"


def _check_cycles(flows: list[FlowSettings]) -> None:
    """Enabled flows of one entity must not lead records back to where they came from: each
    flow would write what the other just wrote, round and round."""
    edges: dict[tuple[str, str], list[tuple[str, int]]] = {}  # (entity, source) -> (target, i)
    for i, flow in enumerate(flows):
        if not flow.enabled:
            continue
        path = _route(edges, flow.entity, flow.target, flow.source)
        if path is not None:
            names = ", ".join(repr(flows[j].name) for j in [*path, i])
            hops = [flows[j].source for j in path] + [flow.source, flow.target]
            raise ConfigError(
                f"flows {names} form a cycle: {flow.entity} records would go " + " -> ".join(hops),
                key=f"flows[{i}].target",
            )
        edges.setdefault((flow.entity, flow.source), []).append((flow.target, i))


def _route(
    edges: Mapping[tuple[str, str], list[tuple[str, int]]], entity: str, start: str, end: str
) -> list[int] | None:
    """The flows (by index) that carry ``entity`` records from ``start`` to ``end``, if any."""
    came: dict[str, list[int]] = {start: []}
    todo = [start]
    while todo:
        here = todo.pop()
        if here == end:
            return came[here]
        for there, i in edges.get((entity, here), []):
            if there not in came:
                came[there] = [*came[here], i]
                todo.append(there)
    return None


def _check_state(state: StateSettings) -> None:
    path = state.sqlite_path()
    if path is None:
        return
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a directory" if folder.exists() else "does not exist"
        raise ConfigError(f"the directory of the SQLite file {problem}", key="state.url")


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
        raw = _interpolate(dict(data), os.environ if env is None else env, "")
        connectors = _connectors(raw.pop("connectors", {}), plugins)
        try:
            config = HubConfig.model_validate(raw)
        except ValidationError as exc:
            raise _validation_error(exc, "") from None
        config.connectors = connectors
        capabilities = {name: registry.capabilities(plugin) for name, plugin in plugins.items()}
        _cross_check(config, capabilities)
    except ConfigError as exc:
        raise ConfigError(_one_line(str(exc)), path=source) from None
    return config


def _one_line(text: str) -> str:
    return " ".join(text.split())


def load_config(
    path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    plugins: Mapping[str, ConnectorPlugin] | None = None,
) -> HubConfig:
    """Read and validate a TOML config file."""
    path = Path(path)
    try:
        data = tomllib.loads(_read_text(path))
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the file {_not_utf8(exc)}", path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {_one_line(str(exc))}", path=str(path)) from None
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
