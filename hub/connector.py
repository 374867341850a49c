"""The connector contract: what the engine, the CLI and third-party plugins agree on.

A connector is a one-shot async context manager that reads canonical records from a vendor and
writes them back. A plugin (the object an entry point in ``prophub.connectors`` names) ties a
connector class to its settings model and its sandbox, so ``prophub sandbox`` and
``prophub demo`` find them the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

from hub.client.observer import RequestObserver
from hub.client.settings import ConnectorSettings
from hub.errors import MappingError, UnsupportedValue
from hub.models import CanonicalRecord
from hub.sandbox.options import SandboxOptions
from hub.secrets import mask

if TYPE_CHECKING:
    # Named for the type only: the server module loads aiohttp's web framework, which no
    # connector needs to read or write.
    from hub.sandbox.server import SandboxServer

__all__ = [
    "CONTRACT_VERSION",
    "Capabilities",
    "Connector",
    "ConnectorPlugin",
    "PreparesWrites",
    "ReadEnd",
    "ReadFailure",
    "SourceRecord",
    "WriteAction",
    "WriteResult",
    "parse_timestamp",
    "pick_collections",
    "safe_record",
]


@dataclass(slots=True)  # not frozen: one is made per record read, and frozen init costs 3x
class SourceRecord:
    """One record read from a source: the canonical record, its vendor id and updated-at."""

    record: CanonicalRecord
    source_id: str
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """A source record that could not be read or mapped; the engine dead-letters it."""

    source_id: str
    reason: str
    key: str = ""
    raw: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ReadEnd:
    """Yielded once a collection's read is over: what the vendor said it holds, and what
    the connector yielded for it (records and read failures, each id once).

    The engine deletes at the target only after a full read whose every collection ended
    with a stated total equal to what was yielded, and with no read failure: a connector
    that yields no ``ReadEnd`` (or cannot know a total) never has records deleted for it.
    """

    collection: str
    stated_total: int | None
    yielded: int

    @property
    def complete(self) -> bool:
        """Whether the vendor stated a total and exactly that many records came."""
        return self.stated_total is not None and self.stated_total == self.yielded

    def why_incomplete(self) -> str:
        """One phrase saying why this collection's read does not prove completeness."""
        if self.stated_total is None:
            return f"{self.collection}: the vendor stated no usable total"
        return f"{self.collection}: read {self.yielded} of the {self.stated_total} stated"


#: the version of this contract (``major.minor``): a plugin records the one it was built for,
#: and the registry refuses a plugin built for another major version
CONTRACT_VERSION = "1.0"


#: what mapping an untrusted payload can raise: each means "this record is malformed"
MALFORMED = (MappingError, ValueError, TypeError, AttributeError, KeyError)


def safe_record(
    build: Callable[[], CanonicalRecord],
    source_id: str,
    updated_at: datetime | None = None,
    raw: Any = None,
) -> SourceRecord | ReadFailure:
    """Map one vendor payload; a malformed one becomes a ReadFailure, never a broken read."""
    try:
        return SourceRecord(build(), source_id, updated_at)
    except MALFORMED as exc:
        reason = mask(f"malformed payload: {type(exc).__name__}: {exc}")
        return ReadFailure(source_id, reason[:500], raw=raw if isinstance(raw, dict) else None)


def pick_collections(
    vendor: str,
    entity: str,
    requested: Sequence[str] | None,
    defaults: Mapping[str, Sequence[str]],
    entity_of: Mapping[str, str],
) -> list[str]:
    """The vendor collections to read for an entity; ``UnsupportedValue`` names a wrong one."""
    if entity not in defaults:
        raise UnsupportedValue(f"{vendor} does not hold {entity!r}", vendor=vendor)
    chosen = list(requested or defaults[entity])
    for name in chosen:
        if entity_of.get(name) != entity:
            raise UnsupportedValue(f"{name!r} is not a {vendor} {entity} collection", vendor=vendor)
    return chosen


def parse_timestamp(value: Any) -> datetime | None:
    """A vendor's ISO 8601 time as an aware datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None  # the record is still good; it just cannot move a cursor
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class WriteAction(StrEnum):
    """What a write did at the target."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The target's id for a written record and what the write did."""

    ref: str
    action: WriteAction


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Which canonical entities a connector reads, writes and deletes.

    ``natural_keys`` names, per entity, the natural keys ``lookup`` can find an existing
    record by (the default first): the engine looks for a match before every create, so a
    first sync onto an account that already holds the records updates them instead of
    making copies. A vendor whose create is idempotent by itself (an external id that
    answers 409) declares none.
    """

    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    deletes: frozenset[str] = frozenset()
    incremental: frozenset[str] = frozenset()
    natural_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@runtime_checkable
class Connector(Protocol):
    """A vendor connector; use it as ``async with connector: ...``."""

    name: str
    vendor: str
    capabilities: Capabilities

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def check(self) -> None:
        """Verify credentials and reachability; raise a ``VendorError`` if either fails."""

    def read(
        self,
        entity: str,
        since: datetime | None = None,
        *,
        collections: Sequence[str] | None = None,
    ) -> AsyncIterator[SourceRecord | ReadFailure | ReadEnd]:
        """Stream the entity's records page by page, only those updated at or after ``since``.

        ``collections`` restricts which of the vendor's collections feed the entity (for
        example Buildium's ``association-units`` but not ``rental-units``). A record that
        cannot be mapped is yielded as a ``ReadFailure`` so the read goes on. Each
        collection's read may end with a ``ReadEnd`` stating its completeness.
        """

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        """Create (``known_ref`` None) or update the record; 409 resolves to the existing one.

        Reference fields (``parent_key``, ``neighborhood_key``, ``home_key``...) hold this
        target's refs where the engine knows them, else the canonical keys.
        """

    async def lookup(
        self, entity: str, record: CanonicalRecord, *, by: str | None = None
    ) -> str | None:
        """Find the record at this vendor by its natural key (external id, email...).

        ``by`` picks one of the entity's ``natural_keys`` (None: the default). Exactly one
        exact match is the answer; none is None; several raise ``AmbiguousMatch``.
        """

    async def delete(self, entity: str, ref: str, *, deactivate: bool = False) -> None:
        """Delete (or deactivate) a record; ``UnsupportedValue`` where the vendor cannot."""


@runtime_checkable
class PreparesWrites(Protocol):
    """What a connector may add: readiness for a flow's writes, fetched while it reads."""

    async def prepare_writes(self, entity: str) -> None:
        """Fetch what the first write of ``entity`` needs (a token, say) ahead of it.

        The engine calls it as a flow run starts, alongside the run's first read; a failure
        here is only logged, since the first write meets the same fault and reports it.
        """


class ConnectorFactory(Protocol):
    """What a plugin's ``connector`` is: its settings and name in, a connector out; the hub
    passes an ``observer`` for its request metrics, which a connector may report to."""

    def __call__(
        self, settings: Any, *, name: str, observer: RequestObserver | None = None
    ) -> Connector: ...


class SandboxFactory(Protocol):
    def __call__(
        self, options: SandboxOptions, credentials: Mapping[str, str]
    ) -> SandboxServer: ...


@dataclass(frozen=True)
class ConnectorPlugin:
    """What an entry point in ``prophub.connectors`` names: connector, settings and sandbox."""

    name: str
    connector: ConnectorFactory
    settings: type[ConnectorSettings]
    sandbox: SandboxFactory | None = None
    #: CLI credential flags the sandbox accepts, e.g. {"client_id": "demo-client"}, with defaults.
    sandbox_credentials: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    #: the connector contract version the plugin was built for (see ``CONTRACT_VERSION``)
    contract: str = CONTRACT_VERSION
