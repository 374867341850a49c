"""The Builder Backed connector: OAuth2 bearer tokens, externalId-keyed writes, upserts on 409.

Reads: regions, divisions, master communities, neighborhoods (``location``), homes with their
homeowners (``home``), homeowners (``person``) and each home's documents (``document``).
Writes: divisions, master communities, neighborhoods, homes (homeowners and homeDetails sent
on the first create, since Builder Backed matches journeys then), homeowners added to an
existing home, and documents. A create meeting 409 fetches the existing record and updates it
with PUT only when it differs. A 404 for a parent is a ``MissingParent``.

Nothing a write leaves out is lost: the guide does not say whether a PUT replaces the whole
record, so an update sends the vendor's current value of every field the hub does not manage
(a home's homeowners, its other ``homeDetails`` keys...). ``homeDetails`` carries only the keys
in ``details_keys``. The homeowner endpoint's path, body shape, answer to a repeat and update
route are not in the guide: they are settings (``homeowners_path``, ``homeowners_body``,
``homeowner_repeat``, ``homeowner_update``), and a homeowner already on the home (or known to
the cross-reference) is never POSTed again.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Unpack

from connectors.builder_backed.documents import Documents
from connectors.builder_backed.homeowners import Homeowners, person_pair
from connectors.builder_backed.records import (
    document_records,
    home_records,
    page_content,
    payload_field,
)
from connectors.builder_backed.settings import BuilderBackedSettings
from connectors.builder_backed.updates import unchanged, update_body
from connectors.builder_backed.writes import missing_parent
from hub.client.auth import OAuth2ClientCredentials
from hub.client.http_connector import ClientOptions, HTTPConnector
from hub.client.paging import PageNumber, ReadTally
from hub.client.response import json_object
from hub.client.vendor import TRANSPORT_ERRORS
from hub.connector import (
    Capabilities,
    ReadEnd,
    ReadFailure,
    SourceRecord,
    WriteAction,
    WriteResult,
    parse_timestamp,
    safe_record,
)
from hub.errors import (
    Conflict,
    MissingParent,
    NotFound,
    PermanentError,
    ProtocolError,
    TokenUnavailable,
    UnsupportedValue,
)
from hub.matching import MatchIndex
from hub.models import (
    CanonicalRecord,
    Document,
    Home,
    Location,
    LocationKind,
    Person,
)
from hub.streams import interleave
from mappings import builder_backed as m

__all__ = ["BuilderBackedConnector", "BuilderBackedSettings"]

#: path prefix -> the scope its calls need (the guide's "scopes requested per need")
SCOPE_BY_PATH = (
    ("/api/v2/locations", "location.write"),
    ("/api/v2/homes", "home.write"),
    ("/api/v2/documents", "document.write"),
)
#: entity -> the path its writes go to (what decides their token's scope)
WRITE_PATHS = {
    "location": "/api/v2/locations",
    "home": "/api/v2/homes",
    "person": "/api/v2/homes",  # homeowners are written under their home
    "document": "/api/v2/documents",
}
LOCATION_COLLECTIONS = ("regions", "divisions", "master-communities", "neighborhoods")
NO_REGIONS = "No regions found! Contact Builder Backed to activate regions."
KIND_OF = {
    "divisions": LocationKind.DIVISION,
    "master-communities": LocationKind.MASTER_COMMUNITY,
    "neighborhoods": LocationKind.NEIGHBORHOOD,
}


def _error_messages(status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """Builder Backed's error text: the ``message`` of its error body."""
    data = json_object(body)
    return [str(data["message"])] if data and data.get("message") else []


class BuilderBackedConnector(HTTPConnector):
    """Builder Backed V2 over one aiohttp session."""

    vendor = "builder_backed"
    capabilities = Capabilities(
        reads=frozenset({"location", "home", "person", "document"}),
        writes=frozenset({"location", "home", "person", "document"}),
        deletes=frozenset({"document"}),
        incremental=frozenset({"location", "home", "person"}),
        # A homeowner by email on their home; every other record is created by externalId,
        # which answers 409 when it exists and resolves to it.
        natural_keys={"person": ("email",)},
    )

    def __init__(self, settings: BuilderBackedSettings, **options: Unpack[ClientOptions]) -> None:
        self.settings = settings
        self._configured_scopes = tuple(settings.scopes)
        token_url = settings.token_url or settings.base_url + "/oauth2/token"
        self.auth = OAuth2ClientCredentials(
            token_url,
            settings.client_id,
            settings.client_secret,
            settings.scopes,
            vendor=self.vendor,
            scope_for=self._scopes_for,
        )
        super().__init__(
            settings,
            auth=self.auth,
            error_messages=_error_messages,
            **options,
        )
        self.homeowners = Homeowners(self.client, settings, self.get_object, self.vendor)
        self.documents = Documents(self.client, self.vendor)

    def _scopes_for(self, path: str) -> tuple[str, ...]:
        """The one scope a call needs (per the guide), if configured; else all configured."""
        return _scopes_for(path, self._configured_scopes)

    async def prepare_writes(self, entity: str) -> None:
        """Fetch the token the entity's writes need, while the flow reads its first page."""
        path = WRITE_PATHS.get(entity)
        if path is None:
            return
        try:
            await self.auth.token(self._scopes_for(path))
        except (*TRANSPORT_ERRORS, TokenUnavailable):
            return  # the first write meets it too, as a typed error with its retries

    async def check(self) -> None:
        """Fetch a token and list the activated regions: none is the guide's failure."""
        path = "/api/v2/locations/regions"
        regions = (await self.client.request("GET", path)).json()
        if not isinstance(regions, list):
            raise ProtocolError("regions is not a list", vendor=self.vendor, path=path)
        if not regions:
            # The token works but nothing can be created before Builder Backed activates a
            # region for the account (the guide's "Region Activation (CRITICAL REQUIREMENT)").
            raise PermanentError(NO_REGIONS, vendor=self.vendor, method="GET", path=path)

    # -- reading -------------------------------------------------------------------------

    async def read(
        self,
        entity: str,
        since: datetime | None = None,
        *,
        collections: Sequence[str] | None = None,
    ) -> AsyncIterator[SourceRecord | ReadFailure | ReadEnd]:
        """Stream the entity page by page; a payload that cannot be mapped is a ReadFailure.

        Each collection ends with its ``ReadEnd``: the pages' ``totalElements`` against the
        records read, for locations and homes (homeowners and documents have no total).
        """
        if entity == "location":
            # Each level is a collection of its own: all are read at once.
            levels = [self._level(name, since) for name in collections or LOCATION_COLLECTIONS]
            async with contextlib.aclosing(interleave(levels)) as items:
                async for item in items:
                    yield item
        elif entity in ("home", "person", "document"):
            tally, count = ReadTally(), 0
            async for payload in self._pages(
                "/api/v2/homes", since if entity != "document" else None, tally
            ):
                for item in await self._from_home(entity, payload):
                    count += 1
                    yield item
            total = tally.stated_total if entity == "home" else None
            yield ReadEnd("homes" if entity == "home" else entity, total, count)
        else:
            raise UnsupportedValue(f"Builder Backed does not hold {entity!r}", vendor=self.vendor)

    async def _level(
        self, name: str, since: datetime | None
    ) -> AsyncIterator[SourceRecord | ReadFailure | ReadEnd]:
        """One location level's records, then its ``ReadEnd``."""
        tally, count = ReadTally(), 0
        async for item in self._read_locations(name, since, tally):
            count += 1
            yield item
        yield ReadEnd(name, tally.stated_total if name != "regions" else count, count)

    async def _from_home(self, entity: str, payload: Any) -> list[SourceRecord | ReadFailure]:
        """The records one home payload yields for an entity."""
        if entity != "document" or not isinstance(payload, dict):
            return home_records(entity, payload)
        if not isinstance(payload.get("externalId"), str):
            found = payload.get("externalId")
            return [ReadFailure(str(found), f"malformed payload: externalId {found!r:.40}")]
        home = payload["externalId"]
        try:
            documents = await self.documents.of_home(home)
        except ProtocolError as exc:
            # One home's malformed answer is that home's failure; the read goes on.
            return [ReadFailure(home, f"malformed documents of home {home}: {exc}")]
        return document_records(documents, home)

    async def _read_locations(
        self, name: str, since: datetime | None, tally: ReadTally
    ) -> AsyncIterator[SourceRecord | ReadFailure]:
        if name == "regions":
            for region in await self._regions():
                yield safe_record(
                    lambda r=region: m.to_location(r, LocationKind.REGION),  # type: ignore[misc]
                    str(payload_field(region, "id")),
                    None,
                    region,
                )
            return
        if name not in KIND_OF:
            raise UnsupportedValue(f"unknown location collection {name!r}", vendor=self.vendor)
        async for payload in self._pages(f"/api/v2/locations/{name}", since, tally):
            yield safe_record(
                lambda p=payload: m.to_location(p, KIND_OF[name]),  # type: ignore[misc]
                str(payload_field(payload, "externalId")),
                parse_timestamp(payload_field(payload, "updatedAt")),
                payload,
            )

    async def _pages(
        self, path: str, since: datetime | None, tally: ReadTally | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        s = self.settings
        paginator = PageNumber(
            per_page=s.page_size or 100, page_param=s.page_param, per_page_param=s.page_size_param
        )
        params = {s.updated_since_param: since.isoformat()} if since else None
        async for page in self.client.paginate(
            path, paginator, params=params, items=page_content, tally=tally
        ):
            for item in page:
                yield item

    # -- writing -------------------------------------------------------------------------

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        """Create or update; 409 resolves to the existing record."""
        if isinstance(record, Location):
            return await self._write_location(record, known_ref)
        if isinstance(record, Home):
            s = self.settings
            body = m.from_home(record, s.home_type_fallback, known_ref, s.details_keys)
            return await self._upsert("/api/v2/homes", body, known_ref, "homes")
        if isinstance(record, Person):
            return await self.homeowners.write(record, known_ref)
        if isinstance(record, Document):
            return await self.documents.write(record)
        raise UnsupportedValue(f"Builder Backed does not hold {entity!r}", vendor=self.vendor)

    async def _write_location(self, location: Location, known_ref: str | None) -> WriteResult:
        body = m.from_location(location, known_ref)
        if (
            location.kind is LocationKind.DIVISION
            and location.parent_key
            and not location.parent_name
        ):
            body["regionName"] = await self._region_name(location.parent_key)
        level, _ = m.LEVELS[location.kind]
        return await self._upsert(f"/api/v2/locations/{level}", body, known_ref, level)

    async def _regions(self) -> list[Any]:
        """The account's regions, as one list (the guide's answer: no page, no total)."""
        response = await self.client.request("GET", "/api/v2/locations/regions")
        regions = response.json()
        if not isinstance(regions, list):
            # Read as none, the regions would count as a complete read of nothing.
            raise response.unexpected("expected a list of regions")
        return regions

    async def _region_name(self, key: str) -> str:
        for region in await self._regions():
            if isinstance(region, dict) and m.region_key(region.get("id", "")) == key:
                name = region.get("name")
                if isinstance(name, str) and name:
                    return name
        raise MissingParent("region not found", vendor=self.vendor, messages=[key])

    async def _upsert(
        self, path: str, body: dict[str, Any], known_ref: str | None, level: str
    ) -> WriteResult:
        ext = body["externalId"]
        request = self.client.request
        try:
            if known_ref is None:
                try:
                    await request("POST", path, json=body, create=True, expect_json=False)
                    return WriteResult(ext, WriteAction.CREATED)
                except Conflict:
                    pass  # it exists already: compare and update only when it differs
            current = await self.get_object(f"{path}/{ext}")
            if current is not None and unchanged(body, current):
                return WriteResult(ext, WriteAction.UNCHANGED)
            if level == "homes" and current is not None:
                # Homeowners are sent on a home's create only; after it they are the
                # homeowner flow's, and the vendor's own list is what the PUT carries.
                body = {k: v for k, v in body.items() if k != "homeowners"}
            await request("PUT", path, json=update_body(level, body, current), expect_json=False)
            return WriteResult(ext, WriteAction.UPDATED)
        except NotFound as exc:
            raise missing_parent(exc) from None

    # -- lookup and delete -----------------------------------------------------------------

    async def lookup(
        self, entity: str, record: CanonicalRecord, *, by: str | None = None
    ) -> str | None:
        """Find a record by its externalId (a homeowner by email on its home)."""
        if by is not None and not (isinstance(record, Person) and by == "email"):
            raise UnsupportedValue(
                f"Builder Backed matches by externalId only, not by {by!r}", vendor=self.vendor
            )
        if isinstance(record, Location) and record.kind in m.LEVELS:
            level, _ = m.LEVELS[record.kind]
            found = await self.get_object(f"/api/v2/locations/{level}/{record.key}")
            return record.key if found else None
        if isinstance(record, Home):
            return record.key if await self.get_object(f"/api/v2/homes/{record.key}") else None
        if isinstance(record, Person):
            return await self.homeowners.lookup(record)
        if isinstance(record, Document):
            found = await self.documents.find(record.home_key, record.key)
            return record.key if found else None
        return None

    async def match_index(self, entity: str, by: str, *, max_requests: int) -> MatchIndex | None:
        """Every home's homeowners by email, from the paged list of homes; None when its
        stated total needs more than ``max_requests`` pages."""
        if (entity, by) != ("person", "email"):
            return None
        index, tally = MatchIndex(by, person_pair), ReadTally()
        per_page = self.settings.page_size or 100
        async with contextlib.aclosing(self._pages("/api/v2/homes", None, tally)) as homes:
            async for payload in homes:
                pages = -(-(tally.stated_total or 0) // per_page)
                if max(pages, tally.pages) > max_requests:
                    return None
                self.homeowners.index_home(index, payload)
        self.homeowners.index = index
        return index

    async def delete(self, entity: str, ref: str, *, deactivate: bool = False) -> None:
        """Delete a document; Builder Backed documents no other delete or deactivate call."""
        if entity != "document" or deactivate:
            raise UnsupportedValue(
                f"Builder Backed cannot {'deactivate' if deactivate else 'delete'} a {entity}",
                vendor=self.vendor,
            )
        await self.documents.delete(ref)

    async def delete_documents(
        self, home: str, *, category: str | None = None, name: str | None = None
    ) -> None:
        """The guide's other delete forms: all of a home's documents, or those of one
        category, or those of one name (one of ``category`` and ``name`` at most)."""
        await self.documents.delete_of_home(home, category=category, name=name)


@functools.lru_cache(maxsize=1024)
def _scopes_for(path: str, configured: tuple[str, ...]) -> tuple[str, ...]:
    needed = next((scope for prefix, scope in SCOPE_BY_PATH if path.startswith(prefix)), None)
    return (needed,) if needed in configured else configured
