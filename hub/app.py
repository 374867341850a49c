"""The library API: ``async with Hub.from_config(path) as hub: await hub.sync("flow")``."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import structlog
from pydantic import SecretStr

from hub import registry
from hub.client.observer import RequestObserver
from hub.client.settings import ConnectorSettings
from hub.config import FlowSettings, HubConfig, load_config, secret_values
from hub.connector import Connector
from hub.errors import ConfigError, HubError
from hub.log import configure_logging, register_secret
from hub.models import ENTITY_ORDER
from hub.state import StateStore
from hub.sync import FlowReport, FlowRun, run_flow
from hub.tenants import DEFAULT, TenantView, scoped, tenant_of
from hub.tenants.directory import TenantDirectory

__all__ = ["Hub", "RequestCounter", "dependency_order"]


def _revealed(settings: Any) -> dict[str, Any]:
    """Settings as plain values, secrets revealed (for comparing, never for showing)."""
    return {
        k: v.get_secret_value() if isinstance(v, SecretStr) else v
        for k, v in dict(settings).items()
    }


def _secrets_of(settings: Any) -> set[str]:
    return {v.get_secret_value() for v in dict(settings).values() if isinstance(v, SecretStr)}


def dependency_order(flows: list[FlowSettings]) -> list[FlowSettings]:
    """Flows with parents' entities first and, within an entity, a flow before those that
    read what it writes (its target is their source); the config's order breaks ties and
    the cycles of two-way pairs."""
    ordered: list[FlowSettings] = []
    for entity in ENTITY_ORDER:
        waiting = [f for f in flows if f.entity == entity]
        while waiting:
            # The first flow that no waiting flow feeds; in a longer cycle, the first one.
            ready = next((f for f in waiting if not _fed_by_other(f, waiting)), waiting[0])
            ordered.append(ready)
            waiting.remove(ready)
    return ordered


def _fed_by_other(flow: FlowSettings, waiting: list[FlowSettings]) -> bool:
    """Whether another waiting flow writes what this one reads, outside a two-way pair."""
    return any(
        other is not flow and other.target == flow.source and other.source != flow.target
        for other in waiting
    )


class RequestCounter:
    """Counts requests and 429s per connector, and forwards to another observer."""

    def __init__(self, forward: RequestObserver | None = None) -> None:
        self.forward = forward
        self.requests = 0
        self.throttled = 0
        self.by_status: Counter[int | None] = Counter()

    def on_request(
        self, vendor: str, method: str, path: str, status: int | None, elapsed: float, attempt: int
    ) -> None:
        """Count one attempt."""
        self.requests += 1
        self.by_status[status] += 1
        if self.forward is not None:
            self.forward.on_request(vendor, method, path, status, elapsed, attempt)

    def on_throttled(self, vendor: str, retry_after: float | None) -> None:
        """Count one 429."""
        self.throttled += 1
        if self.forward is not None:
            self.forward.on_throttled(vendor, retry_after)

    def on_retry(self, vendor: str, method: str, path: str, attempt: int, reason: str) -> None:
        """Forward a retry."""
        if self.forward is not None:
            self.forward.on_retry(vendor, method, path, attempt, reason)


@dataclass(eq=False)
class _Opened:
    """A tenant's open connectors: the settings they were opened with, and the runs using
    them."""

    fingerprint: str
    connectors: dict[str, Connector]
    counters: dict[str, RequestCounter]
    #: what closes them (the config's own: the hub's, so none here)
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    users: int = 0


class Hub:
    """The engine, its state store and its connectors, opened and closed together."""

    def __init__(
        self,
        config: HubConfig,
        *,
        observer: RequestObserver | None = None,
    ) -> None:
        self.config = config
        self.observer = observer
        self.counters: dict[str, RequestCounter] = {}
        self.connectors: dict[str, Connector] = {}
        self._store: StateStore | None = None
        self._stack: AsyncExitStack | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._opened = False
        self._tenants: TenantDirectory | None = None
        #: each named tenant's open connectors, with the settings they were opened with
        self._scopes: dict[str, _Opened] = {}
        #: connectors a tenant's changed settings replaced, closed once their runs end
        self._retired: list[_Opened] = []
        self._opening: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_config(cls, config: HubConfig | str | Path, **kw: Any) -> Hub:
        """A hub for a config object or the path of a TOML config file."""
        if not isinstance(config, HubConfig):
            config = load_config(config)
        return cls(config, **kw)

    @property
    def tenants(self) -> TenantDirectory:
        """The hub's tenants: listed, added and removed while it runs."""
        if self._tenants is None:
            self._tenants = TenantDirectory(self.config, self.store)
        return self._tenants

    @property
    def store(self) -> StateStore:
        """The open state store."""
        if self._store is None:
            raise RuntimeError("the hub is not open: use `async with hub:`")
        return self._store

    async def __aenter__(self) -> Self:
        if self._opened:
            raise RuntimeError("a Hub can be opened once")
        self._opened = True
        if not structlog.is_configured():
            # An embedding service that set up no logging still gets redacted, quiet logs.
            configure_logging(level="warning", fmt="console")
        for value in secret_values(self.config):
            register_secret(value)
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            # Each run holds a connection or two at once; the daemon's loops a few more.
            connections = self.config.tenants.max_runs + 4
            self._store = await stack.enter_async_context(
                StateStore.open(self.config.state.url, connections=connections)
            )
            for name, settings in self.config.connectors.items():
                counter = self.counters[name] = RequestCounter(self._observer(DEFAULT, settings))
                plugin = registry.get(settings.type)
                connector = plugin.connector(settings, name=name, observer=counter)
                self.connectors[name] = await stack.enter_async_context(connector)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for opened in [*self._scopes.values(), *self._retired]:
            await opened.stack.aclose()
        self._scopes.clear()
        self._retired.clear()
        if self._stack is not None:
            await self._stack.aclose()
        self._store = None

    def _observer(self, tenant: str, settings: ConnectorSettings) -> RequestObserver | None:
        """The observer of one connector: told its tenant and credential where it asks."""
        scoped = getattr(self.observer, "scoped", None)
        if scoped is None:
            return self.observer
        observer: RequestObserver = scoped(tenant, settings.credential_id(), settings.rate_limit)
        return observer

    async def _connectors_of(self, scope: TenantView) -> _Opened:
        """A named tenant's open connectors, opened on first use and again when the
        tenant's settings change (the old ones closed once no run uses them)."""
        fingerprint = repr(sorted((n, _revealed(s)) for n, s in scope.connectors.items()))
        async with self._opening.setdefault(scope.tenant, asyncio.Lock()):
            held = self._scopes.get(scope.tenant)
            if held is not None and held.fingerprint == fingerprint:
                return held
            if held is not None:
                self._scopes.pop(scope.tenant)
                if held.users:
                    self._retired.append(held)
                else:
                    await held.stack.aclose()
            stack = AsyncExitStack()
            opened: dict[str, Connector] = {}
            counters: dict[str, RequestCounter] = {}
            try:
                for name, settings in scope.connectors.items():
                    for value in _secrets_of(settings):
                        register_secret(value)
                    full = scoped(scope.tenant, name)
                    # A new counter: a changed credential is counted under its own hash.
                    counter = self.counters[full] = counters[full] = RequestCounter(
                        self._observer(scope.tenant, settings)
                    )
                    plugin = registry.get(settings.type)
                    connector = plugin.connector(settings, name=full, observer=counter)
                    opened[name] = await stack.enter_async_context(connector)
            except BaseException:
                await stack.aclose()
                raise
            self._scopes[scope.tenant] = held = _Opened(fingerprint, opened, counters, stack)
            return held

    @asynccontextmanager
    async def _using(self, tenant: str) -> AsyncIterator[tuple[TenantView, _Opened]]:
        """The config as the tenant runs it, and its open connectors (with their request
        counters), held open for the block (a change of the tenant's settings meanwhile
        closes them afterwards)."""
        if tenant == DEFAULT:
            own = TenantView(DEFAULT, dict(self.config.connectors), list(self.config.flows))
            # The config's own connectors: opened and closed with the hub, never replaced.
            yield own, _Opened("", self.connectors, self.counters)
            return
        scope = await self.tenants.view(tenant)
        opened = await self._connectors_of(scope)
        opened.users += 1
        try:
            yield scope, opened
        finally:
            opened.users -= 1
            if not opened.users and opened in self._retired:
                self._retired.remove(opened)
                await opened.stack.aclose()

    def _scoped_flow(self, scope: TenantView, name: str) -> FlowSettings:
        """The tenant's flow called ``name``, under the name its state is kept by."""
        if scope.tenant == DEFAULT:
            return self.flow(name)
        # Its state is the tenant's own: every table keys by connector or flow name.
        flow = scope.flow(name)
        return flow.model_copy(update={"name": scoped(scope.tenant, flow.name)})

    def flow(self, name: str) -> FlowSettings:
        """The settings of the flow called ``name``."""
        for flow in self.config.flows:
            if flow.name == name:
                return flow
        raise ConfigError(f"no flow named {name!r}", key="flows")

    def ordered(self, names: list[str] | None = None) -> list[FlowSettings]:
        """The named flows (default: every enabled one) in dependency order: parents'
        entities first, then the config's order."""
        chosen = (
            [f for f in self.config.flows if f.enabled]
            if names is None
            else [self.flow(name) for name in names]
        )
        return dependency_order(chosen)

    async def sync(
        self,
        name: str,
        *,
        tenant: str = DEFAULT,
        full: bool = False,
        dry_run: bool = False,
        allow_mass_delete: bool = False,
    ) -> FlowReport:
        """Run one flow once, for one tenant (default: the config's own credentials); never
        two runs of the same (tenant, flow) at once in this process."""
        async with self._using(tenant) as (scope, opened):
            flow = self._scoped_flow(scope, name)
            source, target = opened.connectors[flow.source], opened.connectors[flow.target]
            # The counters of these connectors (a change of settings meanwhile has new ones).
            counters = [opened.counters[source.name], opened.counters[target.name]]
            async with self._locks.setdefault(flow.name, asyncio.Lock()):
                return await self._run(
                    flow, source, target, counters, scope, full, dry_run, allow_mass_delete
                )

    async def _run(
        self,
        flow: FlowSettings,
        source: Connector,
        target: Connector,
        counters: list[RequestCounter],
        scope: TenantView,
        full: bool,
        dry_run: bool,
        allow_mass_delete: bool,
    ) -> FlowReport:
        before = [(c.requests, c.throttled) for c in counters]
        report = await run_flow(
            flow,
            source,
            target,
            self.store,
            full=full,
            dry_run=dry_run,
            allow_mass_delete=allow_mass_delete,
            # a create's unknown outcome is settled as often as the target's policy
            # retries a request: one policy for both layers
            settles=scope.connectors[flow.target].max_retries + 1,
        )
        report.requests = sum(c.requests - b[0] for c, b in zip(counters, before, strict=True))
        report.throttled = sum(c.throttled - b[1] for c, b in zip(counters, before, strict=True))
        return report

    async def sync_all(self, *, full: bool = False, dry_run: bool = False) -> list[FlowReport]:
        """Run every enabled flow once, parents' entities first."""
        return [await self.sync(f.name, full=full, dry_run=dry_run) for f in self.ordered()]

    async def check(self, *, tenant: str = DEFAULT) -> dict[str, str | None]:
        """Each connector's credentials and reachability, as the tenant has them: None if
        fine, else the error."""
        results: dict[str, str | None] = {}
        async with self._using(tenant) as (_, opened):
            for name, connector in opened.connectors.items():
                try:
                    await connector.check()
                except HubError as exc:
                    results[name] = str(exc)
                else:
                    results[name] = None
        return results

    async def retry_dead_letters(
        self, flow: str | None = None, *, tenant: str = DEFAULT
    ) -> dict[str, int]:
        """Send the tenant's dead-lettered records (of one flow, or all) through their flow's
        write path again; other tenants' letters are left alone."""
        totals = {"retried": 0, "written": 0, "failed": 0}
        async with self._using(tenant) as (scope, opened):
            connectors = opened.connectors
            if flow is not None:
                self._scoped_flow(scope, flow)  # a flow the tenant does not run is an error
            by_flow: dict[str, list[dict[str, Any]]] = {}
            wanted = None if flow is None else scoped(tenant, flow)
            for letter in await self.store.dead_letters(wanted):
                if tenant_of(letter["flow"]) == tenant:
                    by_flow.setdefault(letter["flow"], []).append(letter)
            for name, letters in by_flow.items():
                settings = self._scoped_flow(scope, name.removeprefix(f"{tenant}/"))
                run = FlowRun(
                    settings,
                    connectors[settings.source],
                    connectors[settings.target],
                    self.store,
                    dry_run=False,
                )
                for key, count in (await run.retry_letters(letters)).items():
                    totals[key] += count
        return totals
