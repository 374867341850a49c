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

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Unpack

import structlog

from connectors.buildium.contract import message_errors, phone_fits
from connectors.buildium.lookups import Lookups
from connectors.buildium.refs import id_of, is_rental_owner
from connectors.buildium.settings import BuildiumSettings
from hub.client.auth import HeaderAuth
from hub.client.http_connector import ClientOptions, HTTPConnector
from hub.client.paging import OffsetLimit, ReadTally
from hub.client.response import json_object
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
from hub.errors import AmbiguousMatch, MissingParent, NotFound, UnsupportedValue
from hub.models import CanonicalRecord, Home, Location, Person
from hub.streams import interleave
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
log = structlog.get_logger("connectors.buildium")
DEFAULT_READS = {
    "location": ("associations",),
    "home": ("association-units", "rental-units"),
    "person": ("association-owners", "rental-owners", "tenants"),
}


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
        self.lookups = Lookups(self.client, settings.page_size or 1000, self.vendor)

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
        names = pick_collections(self.vendor, entity, collections, DEFAULT_READS, entities)
        # Several collections (association and rental units, say) are read at once.
        async with contextlib.aclosing(
            interleave([self._collection(name, params) for name in names])
        ) as items:
            async for item in items:
                yield item

    async def _collection(
        self, name: str, params: dict[str, str]
    ) -> AsyncIterator[SourceRecord | ReadFailure | ReadEnd]:
        """One collection's records, each id once, then its ``ReadEnd``."""
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

    def _refuse_broken(self, method: str, path: str, body: Mapping[str, Any]) -> None:
        """Buildium would answer this message with a 422: the record fails here, unsent."""
        errors = message_errors(path, body)
        if errors:
            raise UnsupportedValue(
                "Buildium's document does not accept this record's message",
                vendor=self.vendor,
                method=method,
                path=path,
                messages=[f"{k}: {v}" for k, v in errors],
            )

    async def _create(self, path: str, body: dict[str, Any]) -> WriteResult:
        self._refuse_broken("POST", path, body)
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
        self._refuse_broken("PUT", f"{path}/{record}", body)
        await self.client.request("PUT", f"{path}/{record}", json=body, expect_json=True)
        return WriteResult(ref, WriteAction.UPDATED)

    async def _write_association(self, location: Location, ref: str | None) -> WriteResult:
        association = id_of(ref, "association")
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
            association = id_of(home.neighborhood_key, "association")
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
        person = self._fitting_phones(person)
        if is_rental_owner(person):
            properties = [i for r in person.roles if (i := id_of(r.home_key, "rental"))]
            if ref is None and not properties:
                # Buildium refuses a rental owner of no property ("At least one property ID
                # must be provided"); a rental made there later lets a next run write it.
                raise MissingParent(
                    "a rental owner needs one of its homes to be a Buildium rental property",
                    vendor=self.vendor,
                    messages=[person.key],
                    repairable=False,  # the hub writes no rental properties to Buildium
                )
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
        units = [i for r in person.roles if (i := id_of(r.home_key, "association-unit"))]
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

    def _fitting_phones(self, person: Person) -> Person:
        """The person without the phone numbers Buildium refuses (not 10 to 20 characters).

        Leaving a number out loses only that number (another of its kind, when the person
        has one, takes its place); refusing the record would lose the name, address, emails
        and every other number with it. Each number left out is logged, never dropped unsaid.
        """
        kept = [p for p in person.phones if phone_fits(p.number)]
        if len(kept) == len(person.phones):
            return person
        for phone in person.phones:
            if not phone_fits(phone.number):
                log.warning(
                    "phone number left out: Buildium takes 10 to 20 characters",
                    vendor=self.vendor,
                    key=person.key,
                    kind=phone.kind,
                    length=len(phone.number),
                )
        return person.model_copy(update={"phones": kept})

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
        return await self.lookups.find(record, by)

    async def delete(self, entity: str, ref: str, *, deactivate: bool = False) -> None:
        """Buildium's API offers no delete for these records."""
        raise UnsupportedValue(
            f"Buildium cannot delete a {entity} through its API", vendor=self.vendor
        )
