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

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal, Unpack

from pydantic import Field, SecretStr

from hub.client.auth import HeaderAuth
from hub.client.http_connector import ClientOptions, HTTPConnector
from hub.client.paging import OffsetLimit, ReadTally
from hub.client.response import json_object
from hub.client.settings import ConnectorSettings
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
from hub.errors import AmbiguousMatch, MissingParent, NotFound, ProtocolError, UnsupportedValue
from hub.models import CanonicalRecord, Home, Location, Person, RoleKind
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
    data = json_object(body)
    if data is None:
        return []
    found = [str(data["UserMessage"])] if data.get("UserMessage") else []
    for item in data.get("Errors") or []:
        if isinstance(item, dict):
            found.append(f"{item.get('Key')}: {item.get('Value')}")
    return found



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
        natural_keys={
            "location": ("name",),
            "home": ("unit_number",),
            "person": ("email", "name"),
        },
    )

    def __init__(self, settings: BuildiumSettings, **options: Unpack[ClientOptions]) -> None:
        self.settings = settings
        auth = HeaderAuth(
            {
                "x-buildium-client-id": settings.client_id,
                "x-buildium-client-secret": settings.client_secret,
            }
        )
        super().__init__(
            settings,
            auth=auth,
            error_messages=error_messages,
            **options,
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
            # When records vanish mid-read the next page slides back over the end of the one
            # before: an id already yielded from that page or this one is a repeat, whatever
            # order the ids come in (memory: two pages of ids, for any size).
            previous: set[Any] = set()
            yielded = 0
            tally = ReadTally()
            paginator = OffsetLimit(limit=self.settings.page_size or 1000)
            pages = self.client.paginate(path, paginator, params=params, tally=tally)
            async for page in pages:
                current: set[Any] = set()
                for payload in page:
                    record_id = payload.get("Id") if isinstance(payload, dict) else None
                    if isinstance(record_id, int | str) and not isinstance(record_id, bool):
                        if record_id in previous or record_id in current:
                            continue
                        current.add(record_id)
                    yielded += 1
                    yield safe_record(partial(to_canonical, payload), str(record_id), None, payload)
                previous = current
            yield ReadEnd(name, tally.stated_total, yielded)

    # -- writing -------------------------------------------------------------------------

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        """Create (POST) or update (read, modify, PUT) an association, unit or owner."""
        if isinstance(record, Location):
            return await self._write_association(record, known_ref)
        if isinstance(record, Home):
            return await self._write_unit(record, known_ref)
        if isinstance(record, Person):
            return await self._write_owner(record, known_ref)
        raise UnsupportedValue(f"Buildium connector cannot write {entity!r}", vendor=self.vendor)

    async def _create(self, path: str, body: dict[str, Any]) -> WriteResult:
        response = await self.client.request("POST", path, json=body, create=True, expect_json=True)
        created = response.json()
        if not isinstance(created, dict) or not isinstance(created.get("Id"), int):
            # The create happened; only its id is unreadable: settled by a look-up.
            raise response.unexpected("the created record carries no Id", outcome_unknown=True)
        return WriteResult(str(created["Id"]), WriteAction.CREATED)

    async def _update(
        self, path: str, ref: str, resource: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> WriteResult:
        """Read the record, change only the hub's fields, and PUT it all back: Buildium's PUT
        nulls every field it is not sent."""
        record = ref.partition("/")[0]  # an owner's ref also names its ownership account
        current = await self.get_object(f"{path}/{record}")
        if current is None:
            raise NotFound(
                "record vanished", vendor=self.vendor, path=f"{path}/{record}", status=404
            )
        body = change(current)
        if body == m.put_from_get(resource, current):
            return WriteResult(ref, WriteAction.UNCHANGED)
        await self.client.request("PUT", f"{path}/{record}", json=body, expect_json=True)
        return WriteResult(ref, WriteAction.UPDATED)

    async def _write_association(self, location: Location, ref: str | None) -> WriteResult:
        association = _id_of(ref, "association")
        if association is None:
            body = m.from_association(location, self.settings.operating_bank_account_id)
            return await self._create("/v1/associations", body)
        return await self._update(
            "/v1/associations",
            str(association),
            "association",
            lambda current: m.association_put(current, location),
        )

    async def _write_unit(self, home: Home, ref: str | None) -> WriteResult:
        path = "/v1/associations/units"
        try:
            if ref is not None:
                return await self._update(
                    path, ref, "association-unit", lambda current: m.unit_put(current, home)
                )
            association = _id_of(home.neighborhood_key, "association")
            if association is None:
                raise MissingParent(
                    "a unit needs its association",
                    vendor=self.vendor,
                    messages=[f"neighborhood {home.neighborhood_key}"],
                )
            return await self._create(path, m.from_association_unit(home, association))
        except NotFound as exc:
            if isinstance(exc, MissingParent):
                raise
            raise MissingParent(
                exc.message, vendor=self.vendor, status=404, messages=exc.messages
            ) from None

    async def _write_owner(self, person: Person, ref: str | None) -> WriteResult:
        if _is_rental_owner(person):
            properties = [i for r in person.roles if (i := _id_of(r.home_key, "rental"))]
            if ref is not None:
                return await self._update(
                    "/v1/rentals/owners",
                    ref,
                    "rental-owner",
                    lambda current: m.rental_owner_put(current, person, properties),
                )
            return await self._create("/v1/rentals/owners", m.from_rental_owner(person, properties))
        if ref is not None:
            return await self._update(
                "/v1/associations/owners",
                ref,
                "association-owner",
                lambda current: m.owner_put(current, person),
            )
        units = [i for r in person.roles if (i := _id_of(r.home_key, "association-unit"))]
        if not units:
            raise MissingParent(
                "an association owner needs a unit (ownership account)",
                vendor=self.vendor,
                messages=[person.key],
            )
        unit = await self.get_object(f"/v1/associations/units/{units[0]}")
        if unit is None:
            raise MissingParent(
                "the owner's unit is not at Buildium", vendor=self.vendor, messages=[person.key]
            )
        account = await self._ownership_account(unit)
        body = m.from_association_owner(person, account, m.occupies(person, unit))
        created = await self._create("/v1/associations/owners", body)
        # The cross-reference keeps the chain: the owner, in the unit's ownership account.
        return WriteResult(f"{created.ref}/{account}", created.action)

    async def _ownership_account(self, unit: dict[str, Any]) -> int:
        """The unit's one active ownership account, which a new owner joins."""
        path = "/v1/associations/ownershipaccounts"
        params = {"associationids": unit.get("AssociationId"), "status": "Active"}
        paginator = OffsetLimit(limit=self.settings.page_size or 1000)
        found = [
            account["Id"]
            async for page in self.client.paginate(path, paginator, params=params)
            for account in page
            if isinstance(account, dict)
            and account.get("UnitId") == unit.get("Id")
            and account.get("Status", "Active") == "Active"
            and isinstance(account.get("Id"), int)
        ]
        if len(found) > 1:
            raise AmbiguousMatch(
                f"unit {unit.get('Id')} has {len(found)} active ownership accounts",
                vendor=self.vendor,
                path=path,
                candidates=[str(i) for i in found],
            )
        if not found:
            # Opening an account takes a purchase date the hub does not hold: not invented.
            raise UnsupportedValue(
                f"unit {unit.get('Id')} has no active ownership account; open one in Buildium "
                "(it needs the purchase date) and the owner is written on the next run",
                vendor=self.vendor,
                path=path,
            )
        return int(found[0])

    # -- lookup ----------------------------------------------------------------------------

    async def lookup(
        self, entity: str, record: CanonicalRecord, *, by: str | None = None
    ) -> str | None:
        """The one record that matches exactly: an owner by email (or name), an association
        by name, a unit by its association and number; ``AmbiguousMatch`` for several.

        Buildium's name and email filters match by substring, and a filter it does not
        know may be ignored: every candidate is checked here, never taken on trust.
        """
        if isinstance(record, Person):
            return await self._lookup_owner(record, by or "email")
        if isinstance(record, Location):
            name = record.name
            return await self._one(
                "/v1/associations",
                {},
                lambda p: m.name_matches(p.get("Name"), name),
                f"association named {name!r}",
            )
        if isinstance(record, Home):
            association = _id_of(record.neighborhood_key, "association")
            if association is None:
                return None  # its association is not at Buildium yet, so neither is it
            number = m.from_association_unit(record, None)["UnitNumber"]
            return await self._one(
                "/v1/associations/units",
                {"associationids": association},
                lambda p: (
                    p.get("AssociationId") == association
                    and m.name_matches(p.get("UnitNumber"), number)
                ),
                f"unit {number!r} of association {association}",
            )
        return None

    async def _lookup_owner(self, person: Person, by: str) -> str | None:
        rental = _is_rental_owner(person)
        path = "/v1/rentals/owners" if rental else "/v1/associations/owners"
        if by == "email":
            if not person.emails:
                return None
            email = str(person.emails[0])
            params = {"ownername": person.full_name} if rental else {"email": email}
            return await self._one(
                path,
                params,
                lambda p: m.email_matches(p, email),
                f"owner with email {email!r}",
                None if rental else _owner_ref,
            )
        full = person.full_name
        if not full.strip():
            return None
        return await self._one(
            path,
            {"ownername" if rental else "name": full},
            lambda p: m.name_matches(f"{p.get('FirstName') or ''} {p.get('LastName') or ''}", full),
            f"owner named {full!r}",
            None if rental else _owner_ref,
        )

    async def _one(
        self,
        path: str,
        params: dict[str, Any],
        match: Callable[[dict[str, Any]], bool],
        what: str,
        ref_of: Callable[[dict[str, Any]], str] | None = None,
    ) -> str | None:
        """The ref of the one candidate that matches exactly (its id, or what ``ref_of``
        makes of it), None for none."""
        paginator = OffsetLimit(limit=self.settings.page_size or 1000)
        found: list[str] = []
        ids: list[str] = []
        async for page in self.client.paginate(path, paginator, params=params):
            for candidate in page:
                if not isinstance(candidate, dict) or not match(candidate):
                    continue
                if not isinstance(candidate.get("Id"), int):
                    raise ProtocolError(
                        f"a {what} carries no Id", vendor=self.vendor, method="GET", path=path
                    )
                found.append(ref_of(candidate) if ref_of else str(candidate["Id"]))
                ids.append(str(candidate["Id"]))
        if len(found) > 1:
            raise AmbiguousMatch(
                f"{len(found)} records match the {what} exactly: none is updated",
                vendor=self.vendor,
                path=path,
                candidates=ids,
            )
        return found[0] if found else None

    async def delete(self, entity: str, ref: str, *, deactivate: bool = False) -> None:
        """Buildium's API offers no delete for these records."""
        raise UnsupportedValue(
            f"Buildium cannot delete a {entity} through its API", vendor=self.vendor
        )


def _owner_ref(owner: dict[str, Any]) -> str:
    """An association owner's ref: its id, and its one active ownership account's where it
    has exactly one (the unit <-> account <-> owner chain)."""
    accounts = [
        a["Id"]
        for a in owner.get("OwnershipAccounts") or []
        if isinstance(a, dict)
        and isinstance(a.get("Id"), int)
        and a.get("Status") in (None, "Active")
    ]
    return f"{owner['Id']}/{accounts[0]}" if len(accounts) == 1 else str(owner["Id"])


def _is_rental_owner(person: Person) -> bool:
    """A rental owner who is not also an association owner or homeowner."""
    roles = {r.kind for r in person.roles}
    return RoleKind.RENTAL_OWNER in roles and not roles & {
        RoleKind.ASSOCIATION_OWNER,
        RoleKind.HOMEOWNER,
    }
