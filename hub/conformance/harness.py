"""What every conformance check runs on: the subject under test, its sandbox with a fault
script, connectors on virtual time, and the reads and counts the checks compare."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, cast

from pydantic import SecretStr

from hub.client.settings import ConnectorSettings
from hub.conformance.faults import FaultScript
from hub.connector import (
    Capabilities,
    Connector,
    ConnectorPlugin,
    ReadEnd,
    ReadFailure,
    SourceRecord,
)
from hub.models import CanonicalRecord
from hub.sandbox.options import SandboxOptions
from hub.sandbox.server import SandboxServer

__all__ = [
    "Harness",
    "MakeConnector",
    "Read",
    "Subject",
    "VirtualTime",
    "WriteCase",
    "expect",
]

#: settings and a sleep in, a connector out (the default passes ``sleep=`` as an
#: ``HTTPConnector``'s ``ClientOptions``)
MakeConnector = Callable[[ConnectorSettings, Callable[[float], Any]], Connector]


@dataclass(frozen=True)
class WriteCase:
    """What the kit writes for one entity: a ``record`` the connector can create on a fresh
    sandbox, the same record ``changed`` (one field the vendor keeps, different), and an
    ``orphan`` whose parent does not exist at the vendor (None: the entity has no parent)."""

    entity: str
    record: CanonicalRecord
    changed: CanonicalRecord
    orphan: CanonicalRecord | None = None


@dataclass(frozen=True)
class Subject:
    """The connector under test and how to run it: its plugin (connector, settings and
    sandbox), the sandbox's size and seed, a page size small enough for several pages, the
    write cases, and the declared capabilities left untested with the reason."""

    plugin: ConnectorPlugin
    capabilities: Capabilities
    writes: Mapping[str, WriteCase] = field(default_factory=dict)
    untested: Mapping[str, str] = field(default_factory=dict)
    size: int = 20
    seed: int = 1
    page_size: int = 5
    settings: Mapping[str, Any] = field(default_factory=dict)
    make_connector: MakeConnector | None = None
    #: records the sandbox keeps outside its collections (nested in others, say), by kind
    count: Callable[[SandboxServer], Mapping[str, int]] | None = None


class VirtualTime:
    """A sleep that records its delays and advances a clock of its own, so backoff and
    Retry-After cost no real time; the connector's client and limits read this clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += max(0.0, delay)
        await asyncio.sleep(0)  # a real sleep yields; so does this one

    def clock(self) -> float:
        """The virtual time."""
        return self.now


def expect(condition: bool, message: str) -> None:
    """Fail the check with ``message`` (one sentence saying what the connector did wrong)."""
    if not condition:
        raise AssertionError(message)


@dataclass
class Read:
    """Everything one read yielded, by kind."""

    records: list[SourceRecord]
    failures: list[ReadFailure]
    ends: list[ReadEnd]
    #: requests the sandbox had served when the first item came, and at the end
    served_at_first: int | None = None
    served_at_end: int = 0

    @property
    def keys(self) -> list[str]:
        """The records' keys in read order."""
        return [item.record.key for item in self.records]


class Harness:
    """One sandbox of the subject with a fault script, and connectors made on it."""

    def __init__(self, subject: Subject) -> None:
        self.subject = subject
        plugin = subject.plugin
        if plugin.sandbox is None:
            raise AssertionError(f"plugin {plugin.name!r} ships no sandbox: the kit needs one")
        options = SandboxOptions(size=subject.size, seed=subject.seed)
        self.box: SandboxServer = plugin.sandbox(options, {})
        self.script = FaultScript(self.box)
        self.time = VirtualTime()
        self.box.add_middleware(self.script.middleware)
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        await self._stack.enter_async_context(self.box)
        self._stack.callback(self.script.release.set)  # stalled answers end before the box
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)

    def table(self, **overrides: Any) -> dict[str, Any]:
        """The connector's config table on this sandbox: several small pages, no client-side
        rate limit (the sandbox has none), the subject's settings and ``overrides``."""
        table = dict(self.box.connector_table())
        fields = self.subject.plugin.settings.model_fields
        if "page_size" in fields:
            table["page_size"] = self.subject.page_size
        table["rate_limit"] = 0
        return {**table, **self.subject.settings, **overrides}

    def settings(self, **overrides: Any) -> ConnectorSettings:
        """The validated settings of :meth:`table`."""
        return self.subject.plugin.settings.model_validate(self.table(**overrides))

    @contextlib.asynccontextmanager
    async def connector(self, **overrides: Any) -> AsyncIterator[Connector]:
        """An open connector on this sandbox, its time virtual."""
        settings = self.settings(**overrides)
        make = self.subject.make_connector
        if make is not None:
            connector = make(settings, self.time)
        else:
            factory = cast(Any, self.subject.plugin.connector)
            # Backoff and 429 pauses are measured on the kit's clock, and waited on its sleep.
            connector = factory(
                settings, name="conformance", sleep=self.time, clock=self.time.clock
            )
        async with connector as opened:
            yield opened

    def served(self) -> int:
        """How many API requests the sandbox has answered."""
        return sum(self.box.by_status.values())

    def counts(self) -> dict[str, int]:
        """How many records each sandbox collection holds, and what the subject's ``count``
        adds (records kept outside the collections)."""
        counted = {name: c.count() for name, c in self.box.collections.items()}
        extra = self.subject.count(self.box) if self.subject.count is not None else {}
        return {**counted, **extra}

    def secrets(self, settings: ConnectorSettings) -> list[str]:
        """The secret values of a connector's settings."""
        found = [
            v.get_secret_value() for v in settings.__dict__.values() if isinstance(v, SecretStr)
        ]
        return [s for s in found if s]

    async def read(self, connector: Connector, entity: str, **kw: Any) -> Read:
        """Read ``entity`` to the end; every item sorted by kind, and when it came."""
        done = Read([], [], [])
        async with contextlib.aclosing(connector.read(entity, **kw)) as items:  # type: ignore[type-var]
            async for item in items:
                if done.served_at_first is None:
                    done.served_at_first = self.served()
                if isinstance(item, SourceRecord):
                    done.records.append(item)
                elif isinstance(item, ReadFailure):
                    done.failures.append(item)
                elif isinstance(item, ReadEnd):
                    done.ends.append(item)
                else:
                    raise AssertionError(
                        f"read({entity!r}) yielded a {type(item).__name__}: only SourceRecord, "
                        "ReadFailure and ReadEnd may come"
                    )
        done.served_at_end = self.served()
        return done


def describe(exc: BaseException) -> str:
    """An exception as one short phrase for a check's message."""
    return f"{type(exc).__name__}: {exc}"[:300]


def entities(names: Sequence[str] | frozenset[str]) -> list[str]:
    """Entity names in a stable order."""
    return sorted(names)
