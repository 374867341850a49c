"""The Builder Backed connector: OAuth2 bearer tokens, externalId-keyed writes, upserts on 409.

Reads: regions, divisions, master communities, neighborhoods (``location``), homes with their
homeowners (``home``), homeowners (``person``) and each home's documents (``document``).
Writes: divisions, master communities, neighborhoods, homes (homeowners and homeDetails sent
on the first create, since Builder Backed matches journeys then), homeowners added to an
existing home, and documents. A create meeting 409 fetches the existing record and updates it
with PUT only when it differs. A 404 for a parent is a ``MissingParent``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, SecretStr

from hub.auth import OAuth2ClientCredentials
from hub.config import ConnectorSettings
from hub.connector import (
    Capabilities,
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
    ProtocolError,
    UnsupportedValue,
)
from hub.http import TRANSPORT_ERRORS, HTTPConnector, RequestObserver, Response
from hub.models import (
    CanonicalRecord,
    Document,
    Home,
    Location,
    LocationKind,
    Person,
    RoleKind,
)
from hub.paging import PageNumber
from hub.retry import RetryPolicy, Sleep
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
KIND_OF = {
    "divisions": LocationKind.DIVISION,
    "master-communities": LocationKind.MASTER_COMMUNITY,
    "neighborhoods": LocationKind.NEIGHBORHOOD,
}


class BuilderBackedSettings(ConnectorSettings):
    """``[connectors.NAME]`` for ``type = "builder_backed"``."""

    type: Literal["builder_backed"] = "builder_backed"
    token_url: str | None = None
    client_id: str
    client_secret: SecretStr
    scopes: list[str] = Field(
        default_factory=lambda: ["location.write", "home.write", "document.write"]
    )
    page_size: int | None = Field(default=100, ge=1, le=500)
    page_param: str = "page"
    page_size_param: str = "pageSize"
    updated_since_param: str = "updatedSince"
    home_type_fallback: Literal["Single Family", "Multi Family"] | None = None


def _error_messages(status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """Builder Backed's error text: the ``message`` of its error body."""
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if isinstance(data, dict) and data.get("message"):
        return [str(data["message"])]
    return []


class BuilderBackedConnector(HTTPConnector):
    """Builder Backed V2 over one aiohttp session."""

    vendor = "builder_backed"
    capabilities = Capabilities(
        reads=frozenset({"location", "home", "person", "document"}),
        writes=frozenset({"location", "home", "person", "document"}),
        deletes=frozenset({"document"}),
        incremental=frozenset({"location", "home", "person"}),
    )

    def __init__(
        self,
        settings: BuilderBackedSettings,
        *,
        name: str = "builder_backed",
        observer: RequestObserver | None = None,
        sleep: Sleep | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
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
            name=name,
            auth=self.auth,
            error_messages=_error_messages,
            observer=observer,
            sleep=sleep,
            retry=retry,
        )

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
        except TRANSPORT_ERRORS:
            return  # the first write meets it too, as a typed error with its retries

    async def check(self) -> None:
        """Fetch a token and list the activated regions."""
        regions = (await self.client.request("GET", "/api/v2/locations/regions")).json()
        if not isinstance(regions, list):
            raise ProtocolError(
                "regions is not a list", vendor=self.vendor, path="/api/v2/locations/regions"
            )

    # -- reading -------------------------------------------------------------------------

    async def read(
        self,
        entity: str,
        since: datetime | None = None,
        *,
        collections: Sequence[str] | None = None,
    ) -> AsyncIterator[SourceRecord | ReadFailure]:
        """Stream the entity page by page; a payload that cannot be mapped is a ReadFailure."""
        if entity == "location":
            for name in collections or LOCATION_COLLECTIONS:
                async for item in self._read_locations(name, since):
                    yield item
        elif entity in ("home", "person", "document"):
            async for payload in self._pages(
                "/api/v2/homes", since if entity != "document" else None
            ):
                for item in await self._from_home(entity, payload):
                    yield item
        else:
            raise UnsupportedValue(f"Builder Backed does not hold {entity!r}", vendor=self.vendor)

    async def _from_home(self, entity: str, payload: Any) -> list[SourceRecord | ReadFailure]:
        """The records one home payload yields for an entity."""
        if not isinstance(payload, dict):
            return [
                ReadFailure("?", f"malformed payload: a home is not an object: {payload!r:.80}")
            ]
        home = str(payload.get("externalId"))
        stamp = parse_timestamp(payload.get("updatedAt"))
        if entity == "home":
            return [safe_record(lambda: m.to_home(payload), home, stamp, payload)]
        if entity == "person":
            owners = payload.get("homeowners")
            return [
                safe_record(
                    lambda o=owner: m.to_homeowner(o, home),  # type: ignore[misc]
                    f"{home}/{_email_of(owner)}",
                    stamp,
                    owner,
                )
                for owner in (owners if isinstance(owners, list) else [])
            ]
        return [
            safe_record(
                lambda d=doc: m.to_document(d, home),  # type: ignore[misc]
                _document_id(doc),
                None,
                doc,
            )
            for doc in await self._documents(home)
        ]

    async def _read_locations(
        self, name: str, since: datetime | None
    ) -> AsyncIterator[SourceRecord | ReadFailure]:
        if name == "regions":
            regions = (await self.client.request("GET", "/api/v2/locations/regions")).json()
            for region in regions if isinstance(regions, list) else []:
                yield safe_record(
                    lambda r=region: m.to_location(r, LocationKind.REGION),  # type: ignore[misc]
                    str(_get(region, "id")),
                    None,
                    region,
                )
            return
        if name not in KIND_OF:
            raise UnsupportedValue(f"unknown location collection {name!r}", vendor=self.vendor)
        async for payload in self._pages(f"/api/v2/locations/{name}", since):
            yield safe_record(
                lambda p=payload: m.to_location(p, KIND_OF[name]),  # type: ignore[misc]
                str(_get(payload, "externalId")),
                parse_timestamp(_get(payload, "updatedAt")),
                payload,
            )

    async def _pages(self, path: str, since: datetime | None) -> AsyncIterator[dict[str, Any]]:
        s = self.settings
        paginator = PageNumber(
            per_page=s.page_size or 100, page_param=s.page_param, per_page_param=s.page_size_param
        )
        params = {s.updated_since_param: since.isoformat()} if since else None
        async for page in self.client.paginate(path, paginator, params=params, items=self._content):
            for item in page:
                yield item

    def _content(self, response: Response) -> list[Any]:
        data = response.json()
        content = data.get("content") if isinstance(data, dict) else data
        if not isinstance(content, list):
            raise ProtocolError(
                "expected a page with a content list",
                vendor=self.vendor,
                method="GET",
                path=response.path,
                status=response.status,
            )
        return content

    async def _documents(self, home: str) -> list[dict[str, Any]]:
        data = (await self.client.request("GET", f"/api/v2/documents/externalHome/{home}")).json()
        return data if isinstance(data, list) else []

    # -- writing -------------------------------------------------------------------------

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        """Create or update; 409 resolves to the existing record."""
        if isinstance(record, Location):
            return await self._write_location(record, known_ref)
        if isinstance(record, Home):
            body = m.from_home(record, self.settings.home_type_fallback, known_ref)
            return await self._upsert("/api/v2/homes", body, known_ref, "homes")
        if isinstance(record, Person):
            return await self._write_homeowner(record)
        if isinstance(record, Document):
            return await self._write_document(record, known_ref)
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

    async def _region_name(self, key: str) -> str:
        regions = (await self.client.request("GET", "/api/v2/locations/regions")).json()
        for region in regions:
            if m.region_key(region["id"]) == key:
                return str(region["name"])
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
            current = await self._get(f"{path}/{ext}")
            if current is not None and _same(body, current):
                return WriteResult(ext, WriteAction.UNCHANGED)
            if level == "homes" and current is not None:
                body = {k: v for k, v in body.items() if k != "homeowners"}
            await request("PUT", path, json=body, expect_json=False)
            return WriteResult(ext, WriteAction.UPDATED)
        except NotFound as exc:
            raise _missing_parent(exc) from None

    async def _send(
        self, method: str, path: str, body: Any, *, create: bool = False, parse: bool = True
    ) -> Response:
        """Send a write; ``parse=False`` when its answer's body is not used (only its status)."""
        try:
            return await self.client.request(
                method, path, json=body, create=create, expect_json=parse
            )
        except NotFound as exc:
            raise _missing_parent(exc) from None

    async def _get(self, path: str) -> dict[str, Any] | None:
        try:
            data = (await self.client.request("GET", path)).json()
        except NotFound:
            return None
        return data if isinstance(data, dict) else None

    async def _write_homeowner(self, person: Person) -> WriteResult:
        homes = [r.home_key for r in person.roles if r.kind is RoleKind.HOMEOWNER and r.home_key]
        if not homes:
            raise UnsupportedValue(
                f"{person.key}: a Builder Backed homeowner needs a home", vendor=self.vendor
            )
        actions = [await self._add_homeowner(home, person) for home in homes]
        email = person.emails[0].lower() if person.emails else ""
        action = (
            WriteAction.CREATED
            if WriteAction.CREATED in actions
            else (WriteAction.UPDATED if WriteAction.UPDATED in actions else WriteAction.UNCHANGED)
        )
        return WriteResult(f"{homes[0]}/{email}", action)

    async def _add_homeowner(self, home: str, person: Person) -> WriteAction:
        body = m.from_homeowner(person, home)
        try:
            await self._send("POST", f"/api/v2/homes/{home}/users", [body], create=True)
            return WriteAction.CREATED
        except Conflict:
            pass
        current = await self._get(f"/api/v2/homes/{home}")
        owners = (current or {}).get("homeowners") or []
        mine = next((o for o in owners if o["email"].lower() == body["email"].lower()), None)
        if mine is not None and _same(body, mine):
            return WriteAction.UNCHANGED
        # The guide documents no homeowner update: re-send the home with the new details.
        merged = [body if o is mine else o for o in owners]
        home_body = m.from_home(m.to_home(current or {}), self.settings.home_type_fallback)
        home_body["homeowners"] = [{k: v for k, v in o.items() if k != "fullName"} for o in merged]
        await self._send("PUT", "/api/v2/homes", home_body)
        return WriteAction.UPDATED

    async def _write_document(self, document: Document, known_ref: str | None) -> WriteResult:
        body = m.from_document(document)
        current = await self._find_document(document.home_key, document.key)
        if current is not None:
            if _same(body, current):
                return WriteResult(document.key, WriteAction.UNCHANGED)
            # Documents have no update call: delete and re-add (the guide's advice).
            await self.client.request("DELETE", f"/api/v2/documents/{document.key}")
        await self._send(
            "POST",
            "/api/v2/documents",
            {"externalHomeId": document.home_key, "documents": [body]},
            create=True,
        )
        action = WriteAction.CREATED if current is None else WriteAction.UPDATED
        return WriteResult(document.key, action)

    async def _find_document(self, home: str, key: str) -> dict[str, Any] | None:
        try:
            docs = await self._documents(home)
        except NotFound:
            raise MissingParent(
                "home not found", vendor=self.vendor, messages=[f"home {home}"]
            ) from None
        return next((d for d in docs if d.get("externalId") == key), None)

    # -- lookup and delete -----------------------------------------------------------------

    async def lookup(self, entity: str, record: CanonicalRecord) -> str | None:
        """Find a record by its externalId (a homeowner by email on its home)."""
        if isinstance(record, Location) and record.kind in m.LEVELS:
            level, _ = m.LEVELS[record.kind]
            found = await self._get(f"/api/v2/locations/{level}/{record.key}")
            return record.key if found else None
        if isinstance(record, Home):
            return record.key if await self._get(f"/api/v2/homes/{record.key}") else None
        if isinstance(record, Person):
            return await self._lookup_homeowner(record)
        if isinstance(record, Document):
            found = await self._find_document(record.home_key, record.key)
            return record.key if found else None
        return None

    async def _lookup_homeowner(self, person: Person) -> str | None:
        email = (person.emails[0] if person.emails else "").lower()
        for role in person.roles:
            if role.kind is RoleKind.HOMEOWNER and role.home_key:
                home = await self._get(f"/api/v2/homes/{role.home_key}")
                owners = (home or {}).get("homeowners") or []
                if any(o["email"].lower() == email for o in owners):
                    return f"{role.home_key}/{email}"
        return None

    async def delete(self, entity: str, ref: str, *, deactivate: bool = False) -> None:
        """Delete a document; Builder Backed documents no other delete or deactivate call."""
        if entity != "document" or deactivate:
            raise UnsupportedValue(
                f"Builder Backed cannot {'deactivate' if deactivate else 'delete'} a {entity}",
                vendor=self.vendor,
            )
        await self.client.request("DELETE", f"/api/v2/documents/{ref}")


def _get(payload: Any, name: str) -> Any:
    return payload.get(name) if isinstance(payload, dict) else None


def _email_of(owner: Any) -> str:
    return str(owner.get("email", "")).lower() if isinstance(owner, dict) else "?"


def _document_id(doc: Any) -> str:
    return str(doc.get("externalId") or doc.get("id")) if isinstance(doc, dict) else "?"


def _same(sent: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether every field we would send already has that value at the vendor."""
    return all(_equal(v, current.get(k)) for k, v in sent.items() if k != "homeowners")


def _equal(a: Any, b: Any) -> bool:
    return bool(a == b)


def _missing_parent(exc: NotFound) -> MissingParent:
    """A write answered 404: Builder Backed does not have a parent the record names."""
    return MissingParent(
        exc.message,
        vendor=exc.vendor,
        method=exc.method,
        path=exc.path,
        status=404,
        messages=exc.messages,
    )


@functools.lru_cache(maxsize=1024)
def _scopes_for(path: str, configured: tuple[str, ...]) -> tuple[str, ...]:
    needed = next((scope for prefix, scope in SCOPE_BY_PATH if path.startswith(prefix)), None)
    return (needed,) if needed in configured else configured
