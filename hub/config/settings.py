"""The models of the TOML config: what each table may hold, checked one table at a time.

What only the tables together show (a flow naming a connector, what a plugin can do) is
checked in :mod:`hub.config.checks`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import Field, PrivateAttr, StringConstraints, ValidationInfo, field_validator

from hub.client.settings import MAX_CONCURRENCY, MAX_WAIT, ConnectorSettings, Strict, shown
from hub.models import ENTITIES, Location

__all__ = [
    "MAX_EVERY",
    "MIN_EVERY",
    "PG_ASYNC",
    "DaemonSettings",
    "FlowOptions",
    "FlowSettings",
    "HubConfig",
    "StateSettings",
    "TenantSettings",
    "parse_duration",
]

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
    #: replicas on PostgreSQL: how often each says it is alive, and the silence after which
    #: its runs are taken over by another
    heartbeat: float = Field(default=10.0, gt=0, le=300)
    stalled_after: float = Field(default=30.0, gt=0, le=MAX_WAIT)

    @field_validator("stalled_after")
    @classmethod
    def _stalled_after(cls, value: float, info: ValidationInfo) -> float:
        # One late heartbeat must not make a live replica's runs look abandoned.
        heartbeat = info.data.get("heartbeat")
        if heartbeat is not None and value < 2 * heartbeat:
            raise ValueError(f"must be at least twice daemon.heartbeat ({2 * heartbeat:g}s)")
        return value

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


class TenantSettings(Strict):
    """Where tenants come from besides the state store, and whether the config's own
    credentials are a tenant too (the default tenant, its names unprefixed)."""

    #: a directory of ``NAME.toml`` tenant definitions (secrets as ``${ENV}`` or ``_file``)
    dir: str | None = None
    default: bool = True
    #: flow runs a daemon holds at once, across tenants
    max_runs: int = Field(default=8, ge=1, le=1000)
    #: flow runs one tenant holds at once, over every replica (its other flows wait their
    #: turn): a tenant's long backfill never takes every worker from the others
    runs_per_tenant: int = Field(default=2, ge=1, le=100)


class HubConfig(Strict):
    """The whole configuration."""

    state: StateSettings = Field(default_factory=StateSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    tenants: TenantSettings = Field(default_factory=TenantSettings)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    connectors: dict[str, ConnectorSettings] = Field(default_factory=dict)
    flows: list[FlowSettings] = Field(default_factory=list)
