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

import functools
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, Literal, Unpack
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator

from connectors.builder_backed.updates import owner_by_email, unchanged, update_body
from hub.client.auth import OAuth2ClientCredentials
from hub.client.http_connector import ClientOptions, HTTPConnector
from hub.client.paging import PageNumber, ReadTally
from hub.client.response import Response, json_object
from hub.client.settings import ConnectorSettings
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
from hub.models import (
    CanonicalRecord,
    Document,
    Home,
    Location,
    LocationKind,
    Person,
    RoleKind,
)
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
    #: the homeDetails keys configured for this builder's account: canonical name (a home
    #: detail, or bedrooms / bathrooms / square_feet) -> Builder Backed key; a list keeps names
    details_keys: dict[str, str] = Field(default_factory=dict)
    #: not in the guide beyond its path: where, in what shape, and how a homeowner changes
    homeowners_path: str = "/api/v2/homes/{externalHomeId}/users"
    homeowners_body: Literal["array", "object"] = "array"
    #: "unknown": what a repeated POST answers is not in the guide, so the home is read first
    #: and a homeowner already on it is never POSTed; "conflict": a repeat answers 409 (as
    #: for locations), so a new homeowner costs one request and a 409 resolves to them
    homeowner_repeat: Literal["unknown", "conflict"] = "unknown"
    #: "home": a changed homeowner is sent by PUTting the home with its homeowners;
    #: "refuse": the change is a dead letter (the guide documents no homeowner update)
    homeowner_update: Literal["home", "refuse"] = "home"

    @field_validator("details_keys", mode="before")
    @classmethod
    def _keys_as_names(cls, value: Any) -> Any:
        return {name: name for name in value} if isinstance(value, list) else value


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
            for name in collections or LOCATION_COLLECTIONS:
                tally = ReadTally()
                count = 0
                async for item in self._read_locations(name, since, tally):
                    count += 1
                    yield item
                yield ReadEnd(name, tally.stated_total if name != "regions" else count, count)
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
        self, name: str, since: datetime | None, tally: ReadTally
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
        async for payload in self._pages(f"/api/v2/locations/{name}", since, tally):
            yield safe_record(
                lambda p=payload: m.to_location(p, KIND_OF[name]),  # type: ignore[misc]
                str(_get(payload, "externalId")),
                parse_timestamp(_get(payload, "updatedAt")),
                payload,
            )

    async def _pages(
        self, path: str, since: datetime | None, tally: ReadTally | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        s = self.settings
        paginator = PageNumber(
            per_page=s.page_size or 100, page_param=s.page_param, per_page_param=s.page_size_param
        )
        params = {s.updated_since_param: since.isoformat()} if since else None
        items = partial(self._content, tally=tally)
        async for page in self.client.paginate(path, paginator, params=params, items=items):
            for item in page:
                yield item

    def _content(self, response: Response, tally: ReadTally | None = None) -> list[Any]:
        data = response.json()
        content = data.get("content") if isinstance(data, dict) else data
        if tally is not None:
            total = data.get("totalElements") if isinstance(data, dict) else None
            valid = isinstance(total, int) and not isinstance(total, bool) and total >= 0
            tally.stated_total = total if valid else None
        if not isinstance(content, list):
            raise response.unexpected("expected a page with a content list")
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
            s = self.settings
            body = m.from_home(record, s.home_type_fallback, known_ref, s.details_keys)
            return await self._upsert("/api/v2/homes", body, known_ref, "homes")
        if isinstance(record, Person):
            return await self._write_homeowner(record, known_ref)
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

    async def _write_homeowner(self, person: Person, known_ref: str | None) -> WriteResult:
        homes = [r.home_key for r in person.roles if r.kind is RoleKind.HOMEOWNER and r.home_key]
        if not homes:
            raise UnsupportedValue(
                f"{person.key}: a Builder Backed homeowner needs a home", vendor=self.vendor
            )
        known_home = known_ref.rpartition("/")[0] if known_ref else None
        actions = [await self._add_homeowner(home, person, home == known_home) for home in homes]
        email = person.emails[0].lower() if person.emails else ""
        action = (
            WriteAction.CREATED
            if WriteAction.CREATED in actions
            else (WriteAction.UPDATED if WriteAction.UPDATED in actions else WriteAction.UNCHANGED)
        )
        return WriteResult(f"{homes[0]}/{email}", action)

    async def _add_homeowner(self, home: str, person: Person, known: bool) -> WriteAction:
        """Add the person to the home, or bring them up to date there; a homeowner already
        on the home, or ``known`` to the cross-reference, is never POSTed again."""
        body = m.from_homeowner(person, home)
        checked = known or self.settings.homeowner_repeat == "unknown"
        current = await self._home(home) if checked else {}
        mine = owner_by_email(current, body["email"], home, self.vendor) if checked else None
        if mine is None and known:
            raise PermanentError(
                f"homeowner {body['email']} is no longer on home {home} at Builder Backed;"
                " the hub does not add them again on its own",
                vendor=self.vendor,
            )
        if mine is None:
            if await self._post_homeowner(home, body):
                return WriteAction.CREATED
            current = await self._home(home)  # the POST met 409: the homeowner is there
            mine = owner_by_email(current, body["email"], home, self.vendor)
        if mine is not None and unchanged(body, mine):
            return WriteAction.UNCHANGED
        if self.settings.homeowner_update == "refuse":
            raise UnsupportedValue(
                f"homeowner {body['email']} of home {home} changed, and the guide documents no"
                " homeowner update (homeowner_update = 'refuse')",
                vendor=self.vendor,
            )
        owners = current.get("homeowners") or []
        merged = (
            [{**mine, **body} if o is mine else o for o in owners]
            if mine is not None
            else [*owners, body]
        )
        home_body = update_body("homes", {"externalId": home, "homeowners": merged}, current)
        await self._send("PUT", "/api/v2/homes", home_body, parse=False)
        return WriteAction.UPDATED

    async def _post_homeowner(self, home: str, body: dict[str, Any]) -> bool:
        """POST one homeowner to the home; False when the vendor says it is there (409)."""
        path = self.settings.homeowners_path.format(externalHomeId=quote(home, safe=""))
        shape = [body] if self.settings.homeowners_body == "array" else body
        try:
            await self._send("POST", path, shape, create=True, parse=False)
        except Conflict:
            return False
        return True

    async def _home(self, home: str) -> dict[str, Any]:
        current = await self.get_object(f"/api/v2/homes/{quote(home, safe='')}")
        if current is None:
            raise MissingParent("home not found", vendor=self.vendor, messages=[f"home {home}"])
        return current

    async def _write_document(self, document: Document, known_ref: str | None) -> WriteResult:
        body = m.from_document(document)
        current = await self._find_document(document.home_key, document.key)
        if current is not None:
            if unchanged(body, current):
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

    async def lookup(
        self, entity: str, record: CanonicalRecord, *, by: str | None = None
    ) -> str | None:
        """Find a record by its externalId (a homeowner by email on its home).

        No natural keys are offered to the engine's match before a create: a create keyed by
        externalId answers 409 when the record exists, which resolves to it, and a homeowner
        is checked on its home before it is added.
        """
        if by is not None:
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
            return await self._lookup_homeowner(record)
        if isinstance(record, Document):
            found = await self._find_document(record.home_key, record.key)
            return record.key if found else None
        return None

    async def _lookup_homeowner(self, person: Person) -> str | None:
        email = (person.emails[0] if person.emails else "").lower()
        for role in person.roles:
            if role.kind is RoleKind.HOMEOWNER and role.home_key:
                home = await self.get_object(f"/api/v2/homes/{quote(role.home_key, safe='')}")
                if home is not None and owner_by_email(home, email, role.home_key, self.vendor):
                    return f"{role.home_key}/{email}"
        return None

    async def delete(self, entity: str, ref: str, *, deactivate: bool = False) -> None:
        """Delete a document; Builder Backed documents no other delete or deactivate call."""
        if entity != "document" or deactivate:
            raise UnsupportedValue(
                f"Builder Backed cannot {'deactivate' if deactivate else 'delete'} a {entity}",
                vendor=self.vendor,
            )
        await self.client.request("DELETE", f"/api/v2/documents/{quote(ref, safe='')}")

    async def delete_documents(
        self, home: str, *, category: str | None = None, name: str | None = None
    ) -> None:
        """The guide's other delete forms: all of a home's documents, or those of one
        category, or those of one name (one of ``category`` and ``name`` at most)."""
        if category is not None and name is not None:
            raise UnsupportedValue(
                "Builder Backed deletes a home's documents by category or by name, not both",
                vendor=self.vendor,
            )
        path = f"/api/v2/documents/externalHome/{quote(home, safe='')}"
        if category is not None:
            path += f"/category/{quote(category, safe='')}"
        elif name is not None:
            path += f"/name/{quote(name, safe='')}"
        await self.client.request("DELETE", path)


def _get(payload: Any, name: str) -> Any:
    return payload.get(name) if isinstance(payload, dict) else None


def _email_of(owner: Any) -> str:
    return str(owner.get("email", "")).lower() if isinstance(owner, dict) else "?"


def _document_id(doc: Any) -> str:
    return str(doc.get("externalId") or doc.get("id")) if isinstance(doc, dict) else "?"


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
