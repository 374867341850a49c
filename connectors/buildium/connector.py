"""The Buildium connector: client id/secret headers, offset/limit paging, incremental reads.

Entities and their collections:

- ``location``: ``associations`` (neighborhoods);
- ``home``: ``association-units``, ``rental-units`` and ``rentals`` (whole properties);
- ``person``: ``association-owners``, ``rental-owners``, ``tenants``.

Writes: associations (``location``), association units (``home``), association and rental
owners (``person``, by role), with POST to create and PUT to update. Buildium has no external
id of ours, so ``lookup`` matches an owner by email, an association by name and a unit by its
association and unit number.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

from pydantic import Field, SecretStr

from hub.auth import HeaderAuth
from hub.config import ConnectorSettings
from hub.connector import (
    Capabilities,
    ReadEnd,
    ReadFailure,
    SourceRecord,
    WriteAction,
    WriteResult,
    pick_collections,
    safe_record,
)
from hub.errors import MissingParent, NotFound, ProtocolError, UnsupportedValue
from hub.http import HTTPConnector, RequestObserver, Response
from hub.models import CanonicalRecord, Home, Location, Person, RoleKind
from hub.paging import OffsetLimit, ReadTally
from hub.retry import RetryPolicy, Sleep
from mappings import buildium as m

__all__ = ["COLLECTIONS", "BuildiumConnector", "BuildiumSettings"]

#: collection -> (entity, path, mapping function)
COLLECTIONS: dict[str, tuple[str, str, Callable[[Mapping[str, Any]], CanonicalRecord]]] = {
    "associations": ("location", "/v1/associations", m.to_association),
    "association-units": ("home", "/v1/associations/units", m.to_association_unit),
    "rental-units": ("home", "/v1/rentals/units", m.to_rental_unit),
    "rentals": ("home", "/v1/rentals", m.to_rental),
    "association-owners": ("person", "/v1/associations/owners", m.to_association_owner),
    "rental-owners": ("person", "/v1/rentals/owners", m.to_rental_owner),
    "tenants": ("person", "/v1/leases/tenants", m.to_tenant),
}
DEFAULT_READS = {
    "location": ("associations",),
    "home": ("association-units", "rental-units"),
    "person": ("association-owners", "rental-owners", "tenants"),
}


class BuildiumSettings(ConnectorSettings):
    """``[connectors.NAME]`` for ``type = "buildium"``."""

    type: Literal["buildium"] = "buildium"
    client_id: str
    client_secret: SecretStr
    rate_limit: float = Field(default=10.0, ge=0)  # Buildium allows 10 per second; 0: none
    page_size: int | None = Field(default=1000, ge=1, le=1000)
    operating_bank_account_id: int = 1


def error_messages(status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """The UserMessage and each ``Key: Value`` of an ApiErrorResponse."""
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    found = [str(data["UserMessage"])] if data.get("UserMessage") else []
    for item in data.get("Errors") or []:
        if isinstance(item, dict):
            found.append(f"{item.get('Key')}: {item.get('Value')}")
    return found


def _list(response: Response) -> list[Any]:
    data = response.json()
    if not isinstance(data, list):
        raise ProtocolError(
            "expected a JSON list",
            vendor="buildium",
            method="GET",
            path=response.path,
            status=response.status,
        )
    return data


def _id_of(ref: str | None, collection: str) -> int | None:
    """A Buildium id from a ref or a canonical key of that collection."""
    if ref is None:
        return None
    tail = ref.removeprefix(f"buildium:{collection}:")
    return int(tail) if tail.isdigit() else None


class BuildiumConnector(HTTPConnector):
    """Buildium over one aiohttp session."""

    vendor = "buildium"
    capabilities = Capabilities(
        reads=frozenset({"location", "home", "person"}),
        writes=frozenset({"location", "home", "person"}),
        incremental=frozenset({"location", "home", "person"}),
    )

    def __init__(
        self,
        settings: BuildiumSettings,
        *,
        name: str = "buildium",
        observer: RequestObserver | None = None,
        sleep: Sleep | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        auth = HeaderAuth(
            {
                "x-buildium-client-id": settings.client_id,
                "x-buildium-client-secret": settings.client_secret,
            }
        )
        super().__init__(
            settings,
            name=name,
            auth=auth,
            error_messages=error_messages,
            observer=observer,
            sleep=sleep,
            retry=retry,
        )

    async def check(self) -> None:
        """List one association: proves the credentials and the API are there."""
        await self.client.request("GET", "/v1/associations", params={"limit": 1})

    # -- reading -------------------------------------------------------------------------

    async def read(
        self,
        entity: str,
        since: datetime | None = None,
        *,
        collections: Sequence[str] | None = None,
    ) -> AsyncIterator[SourceRecord | ReadFailure | ReadEnd]:
        """Stream the entity's collections page by page, each id once, then each
        collection's ``ReadEnd`` (the ``X-Total-Count`` against what was read)."""
        entities = {name: spec[0] for name, spec in COLLECTIONS.items()}
        params = {"orderby": "id"}
        if since is not None:
            params["lastupdatedfrom"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for name in pick_collections(self.vendor, entity, collections, DEFAULT_READS, entities):
            _, path, to_canonical = COLLECTIONS[name]
            # When records vanish mid-read a page slides back and repeats ids: each id is
            # yielded once, whatever order the pages come in (an order is not a promise).
            seen: set[Any] = set()
            yielded = 0
            tally = ReadTally()
            paginator = OffsetLimit(limit=self.settings.page_size or 1000)
            pages = self.client.paginate(path, paginator, params=params, items=_list, tally=tally)
            async for page in pages:
                for payload in page:
                    record_id = payload.get("Id") if isinstance(payload, dict) else None
                    if isinstance(record_id, int | str) and not isinstance(record_id, bool):
                        if record_id in seen:
                            continue
                        seen.add(record_id)
                    yielded += 1
                    yield safe_record(partial(to_canonical, payload), str(record_id), None, payload)
            yield ReadEnd(name, tally.stated_total, yielded)

    # -- writing -------------------------------------------------------------------------

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        """Create (POST) or update (PUT) an association, unit or owner."""
        if isinstance(record, Location):
            return await self._write_association(record, known_ref)
        if isinstance(record, Home):
            return await self._write_unit(record, known_ref)
        if isinstance(record, Person):
            return await self._write_owner(record, known_ref)
        raise UnsupportedValue(f"Buildium connector cannot write {entity!r}", vendor=self.vendor)

    async def _get(self, path: str) -> dict[str, Any] | None:
        try:
            data = (await self.client.request("GET", path)).json()
        except NotFound:
            return None
        return data if isinstance(data, dict) else None

    async def _save(self, path: str, body: dict[str, Any], ref: str | None) -> WriteResult:
        if ref is None:
            created = (
                await self.client.request("POST", path, json=body, create=True, expect_json=True)
            ).json()
            return WriteResult(str(created["Id"]), WriteAction.CREATED)
        current = await self._get(f"{path}/{ref}")
        if current is None:
            raise NotFound("record vanished", vendor=self.vendor, path=f"{path}/{ref}", status=404)
        if all(current.get(k) == v for k, v in body.items() if k not in _WRITE_ONLY):
            return WriteResult(ref, WriteAction.UNCHANGED)
        await self.client.request("PUT", f"{path}/{ref}", json=body, expect_json=True)
        return WriteResult(ref, WriteAction.UPDATED)

    async def _write_association(self, location: Location, ref: str | None) -> WriteResult:
        ref = ref if _id_of(ref, "association") else None
        current = await self._get(f"/v1/associations/{ref}") if ref else None
        body = m.from_association(location, self.settings.operating_bank_account_id, current)
        return await self._save("/v1/associations", body, ref)

    async def _write_unit(self, home: Home, ref: str | None) -> WriteResult:
        association = _id_of(home.neighborhood_key, "association")
        if ref is None and association is None:
            raise MissingParent(
                "a unit needs its association",
                vendor=self.vendor,
                messages=[f"neighborhood {home.neighborhood_key}"],
            )
        body = m.from_association_unit(home, association if ref is None else None)
        try:
            return await self._save("/v1/associations/units", body, ref)
        except NotFound as exc:
            raise MissingParent(
                exc.message, vendor=self.vendor, status=404, messages=exc.messages
            ) from None

    async def _write_owner(self, person: Person, ref: str | None) -> WriteResult:
        roles = {r.kind for r in person.roles}
        if roles & {RoleKind.RENTAL_OWNER} and not roles & {
            RoleKind.ASSOCIATION_OWNER,
            RoleKind.HOMEOWNER,
        }:
            properties = [i for r in person.roles if (i := _id_of(r.home_key, "rental"))]
            body = m.from_rental_owner(person, properties)
            return await self._save("/v1/rentals/owners", body, ref)
        account = None
        if ref is None:
            units = [i for r in person.roles if (i := _id_of(r.home_key, "association-unit"))]
            if not units:
                raise MissingParent(
                    "an association owner needs a unit (ownership account)",
                    vendor=self.vendor,
                    messages=[person.key],
                )
            account = units[0]
        body = m.from_association_owner(person, account)
        return await self._save("/v1/associations/owners", body, ref)

    # -- lookup ----------------------------------------------------------------------------

    async def lookup(self, entity: str, record: CanonicalRecord) -> str | None:
        """Find an owner by email, an association by name, a unit by association and number."""
        if isinstance(record, Person) and record.emails:
            path = "/v1/associations/owners"
            if any(r.kind is RoleKind.RENTAL_OWNER for r in record.roles):
                path = "/v1/rentals/owners"
                return await self._first(
                    path,
                    {"ownername": record.full_name},
                    lambda p: p.get("Email") == record.emails[0],
                )
            return await self._first(path, {"email": record.emails[0]}, lambda p: True)
        if isinstance(record, Location):
            return await self._first("/v1/associations", {}, lambda p: p.get("Name") == record.name)
        if isinstance(record, Home):
            association = _id_of(record.neighborhood_key, "association")
            params = {"associationids": association} if association else {}
            number = record.name or record.address.line2 or record.key
            return await self._first(
                "/v1/associations/units", params, lambda p: p.get("UnitNumber") == number
            )
        return None

    async def _first(
        self, path: str, params: dict[str, Any], match: Callable[[dict[str, Any]], bool]
    ) -> str | None:
        paginator = OffsetLimit(limit=self.settings.page_size or 1000)
        async for page in self.client.paginate(path, paginator, params=params, items=_list):
            for payload in page:
                if match(payload):
                    return str(payload["Id"])
        return None

    async def delete(self, entity: str, ref: str, *, deactivate: bool = False) -> None:
        """Buildium's API offers no delete for these records."""
        raise UnsupportedValue(
            f"Buildium cannot delete a {entity} through its API", vendor=self.vendor
        )


#: fields sent on create only, never echoed back by Buildium
_WRITE_ONLY = frozenset(
    {
        "OwnershipAccountId",
        "IsOwnerOccupied",
        "SendWelcomeEmail",
        "PhoneNumbers",
        "AssociationId",
        "IsCompany",
        "PropertyIds",
    }
)
