"""The Propertybase GO connector: ``X-BL-API-Key``, envelopes decoded on every answer.

Entities and their collections: ``organization`` (``offices``, ``teams``), ``person``
(``agents``, ``employees``, ``leads``), ``location`` (``developments``, as master communities)
and ``home`` (``floor-plans`` of the developments, as home models).

Every call, reads included, sends ``Content-Type: application/json`` (the overview asks it of
each call). A development's addresses and floor plans are resources nested under it (the change
log of 09/25/2019): they are read from, and the address written to, those endpoints, never
inline in the development.

Writes: leads (``person``; POST, PATCH to update; the creation side-effect flags come from the
settings and default to no emails and no tasks, so a sync never spams agents) and developments
(``location``). Before a create, the record's match is looked up by its natural key (a lead by
email, a development by name) and every candidate the vendor returns is checked: exactly one
exact match is updated, none means a create, and more than one is an ambiguity naming the
candidates' ids, never a guess (the vendor's filters may match loosely or not at all). Paths,
paging parameters and the updated-since filter are our assumptions (the endpoint reference is
not public) and are settings.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, Literal, Unpack

from pydantic import Field, SecretStr

from hub.client.auth import HeaderAuth
from hub.client.http_connector import ClientOptions, HTTPConnector
from hub.client.paging import PageNumber, ReadTally
from hub.client.response import Response, json_object
from hub.client.settings import ConnectorSettings
from hub.connector import (
    MALFORMED,
    Capabilities,
    ReadFailure,
    SourceRecord,
    WriteAction,
    WriteResult,
    parse_timestamp,
    pick_collections,
    safe_record,
)
from hub.errors import (
    AmbiguousMatch,
    AuthFailed,
    InvalidRecord,
    NotFound,
    PermissionDenied,
    ProtocolError,
    UnsupportedValue,
    VendorError,
)
from hub.matching import MatchIndex
from hub.models import Address, CanonicalRecord, Location, Person
from hub.streams import interleave
from mappings import propertybase as m

__all__ = ["PropertybaseConnector", "PropertybaseSettings", "decode_envelope", "error_messages"]

_UNASKED = object()


def _email_of(record: CanonicalRecord) -> str | None:
    """A person's first email as leads are matched on it."""
    if isinstance(record, Person) and record.emails:
        return m.email_key(str(record.emails[0]))
    return None


def _name_of(record: CanonicalRecord) -> str | None:
    """A location's name as developments are matched on it."""
    return record.name.strip() if isinstance(record, Location) else None


#: collection -> (entity, resource)
COLLECTIONS = {
    "offices": ("organization", "offices"),
    "teams": ("organization", "teams"),
    "agents": ("person", "agents"),
    "employees": ("person", "employees"),
    "leads": ("person", "leads"),
    "developments": ("location", "developments"),
    "floor-plans": ("home", "developments"),
}
DEFAULT_READS = {
    "organization": ("offices", "teams"),
    "person": ("agents", "employees", "leads"),
    "location": ("developments",),
    "home": ("floor-plans",),
}
MAPPERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "offices": m.to_office,
    "teams": m.to_team,
    "agents": m.to_agent,
    "employees": m.to_employee,
    "leads": m.to_lead,
    "developments": m.to_development,
}


class PropertybaseSettings(ConnectorSettings):
    """``[connectors.NAME]`` for ``type = "propertybase"``."""

    type: Literal["propertybase"] = "propertybase"
    api_key: SecretStr
    api_prefix: str = "/api/v2"
    #: at most 100 (the stated assumption): a server capping a larger page silently would
    #: end a page-numbered read on its first "short" page
    page_size: int | None = Field(default=100, ge=1, le=100)
    page_param: str = "page"
    per_page_param: str = "per_page"
    updated_since_param: str = "updated_since"
    dont_send_email: bool = True
    no_assignment_emails: bool = True
    no_followup_task: bool = True


def error_messages(status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """The envelope's ``errors`` (and ``message``) of a failed answer."""
    data = json_object(body)
    if data is None:
        return []
    errors = data.get("errors")
    found = [str(e) for e in errors] if isinstance(errors, list) else []
    return found or ([str(data["message"])] if data.get("message") else [])


def decode_envelope(response: Response) -> Any:
    """The ``data`` of a success envelope; failure or unauthorized raise whatever the status."""
    body = response.json()
    context: dict[str, Any] = {
        "vendor": "propertybase",
        "method": response.method,
        "path": response.path,
        "status": response.status,
    }
    if not isinstance(body, dict) or body.get("status") not in (
        "success",
        "failure",
        "unauthorized",
    ):
        raise ProtocolError("missing or unknown envelope", **context)
    messages = [str(e) for e in body.get("errors") or []] or [str(body.get("message", ""))]
    if body["status"] == "unauthorized":
        cls: type[VendorError] = (
            PermissionDenied if "permission" in " ".join(messages) else AuthFailed
        )
        raise cls(str(body.get("message") or "unauthorized"), messages=messages, **context)
    if body["status"] == "failure":
        raise InvalidRecord(str(body.get("message") or "failure"), messages=messages, **context)
    if "data" not in body:
        raise ProtocolError("success envelope without data", **context)
    return body["data"]


class PropertybaseConnector(HTTPConnector):
    """Propertybase GO over one aiohttp session."""

    vendor = "propertybase"
    capabilities = Capabilities(
        reads=frozenset(DEFAULT_READS),
        writes=frozenset({"person", "location"}),
        deletes=frozenset({"person", "location"}),
        incremental=frozenset(DEFAULT_READS),
        natural_keys={"person": ("email",), "location": ("name",)},
    )

    def __init__(self, settings: PropertybaseSettings, **options: Unpack[ClientOptions]) -> None:
        self.settings = settings
        self.prefix = settings.api_prefix.rstrip("/")
        #: (entity, key) -> what the last look-up of that record found, for the create after it
        self._matched: dict[tuple[str, str], str | None] = {}
        #: entity -> the run's index of existing records, while the run keeps it open
        self._indexes: dict[str, MatchIndex] = {}
        super().__init__(
            settings,
            auth=HeaderAuth({"X-BL-API-Key": settings.api_key, "Content-Type": "application/json"}),
            error_messages=error_messages,
            **options,
        )

    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.client.request(method, self.prefix + path, expect_json=True, **kw)
        return decode_envelope(response)

    async def check(self) -> None:
        """Read one lead: proves the key, the domain and the read permission."""
        await self._call("GET", "/leads", params={self.settings.per_page_param: 1})

    # -- reading -------------------------------------------------------------------------

    async def read(
        self,
        entity: str,
        since: datetime | None = None,
        *,
        collections: Sequence[str] | None = None,
    ) -> AsyncIterator[SourceRecord | ReadFailure]:
        """Stream the entity's collections page by page (stops on a short or empty page)."""
        entities = {name: spec[0] for name, spec in COLLECTIONS.items()}
        names = pick_collections(self.vendor, entity, collections, DEFAULT_READS, entities)
        # Several collections (agents, employees and leads, say) are read at once.
        async with contextlib.aclosing(
            interleave([self._collection(name, since) for name in names])
        ) as items:
            async for item in items:
                yield item

    async def _collection(
        self, name: str, since: datetime | None
    ) -> AsyncIterator[SourceRecord | ReadFailure]:
        async for payload in self._pages(COLLECTIONS[name][1], since):
            for item in await self._records(name, payload):
                yield item

    async def _records(self, name: str, payload: Any) -> list[SourceRecord | ReadFailure]:
        """The records one payload yields; a malformed payload is one ReadFailure."""
        if not isinstance(payload, dict):
            return [ReadFailure("?", f"malformed payload: not an object: {payload!r:.80}")]
        source_id = str(payload.get("id"))
        stamp = parse_timestamp(payload.get("updated_at"))
        if name not in ("developments", "floor-plans"):
            return [safe_record(lambda: MAPPERS[name](payload), source_id, stamp, payload)]
        if not isinstance(payload.get("id"), int):
            return [ReadFailure(source_id, "malformed payload: missing or non-integer id")]
        addresses = await self._nested(payload["id"], "addresses")
        if name == "developments":
            build = partial(m.to_development, payload, addresses)
            return [safe_record(build, source_id, stamp, payload)]
        try:
            plans = m.to_floor_plans(
                payload, addresses, await self._nested(payload["id"], "floor_plans")
            )
        except MALFORMED as exc:
            return [ReadFailure(source_id, f"malformed payload: {exc}", raw=payload)]
        return [SourceRecord(plan, source_id, stamp) for plan in plans]

    async def _nested(self, development: int, resource: str) -> list[dict[str, Any]]:
        """A development's nested addresses or floor plans (objects only, in vendor order)."""
        return [
            item
            async for item in self._pages(f"developments/{development}/{resource}", None)
            if isinstance(item, dict)
        ]

    async def _pages(
        self,
        resource: str,
        since: datetime | None,
        params: Mapping[str, Any] | None = None,
        tally: ReadTally | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        s = self.settings
        query = dict(params or {})
        if since is not None:
            query[s.updated_since_param] = since.isoformat()
        paginator = PageNumber(
            per_page=s.page_size or 100, page_param=s.page_param, per_page_param=s.per_page_param
        )
        async for page in self.client.paginate(
            f"{self.prefix}/{resource}", paginator, params=query, items=self._items, tally=tally
        ):
            for item in page:
                yield item

    def _items(self, response: Response) -> list[Any]:
        data = decode_envelope(response)
        if not isinstance(data, list):
            raise response.unexpected("expected a list in data")
        return data

    # -- writing -------------------------------------------------------------------------

    def _flags(self) -> dict[str, bool]:
        s = self.settings
        return {
            "dont_send_email": s.dont_send_email,
            "no_assignment_emails": s.no_assignment_emails,
            "no_followup_task": s.no_followup_task,
        }

    async def write(
        self, entity: str, record: CanonicalRecord, known_ref: str | None
    ) -> WriteResult:
        """Create (POST) or update (PATCH) a lead or a development (its address nested)."""
        if isinstance(record, Person):
            return await self._save("leads", m.from_lead(record), known_ref, record)
        if isinstance(record, Location):
            result = await self._save("developments", m.from_development(record), known_ref, record)
            if record.address is None:
                return result  # an address the hub does not know is left as it is
            changed = await self._save_address(int(result.ref), record.address)
            if changed and result.action is WriteAction.UNCHANGED:
                return WriteResult(result.ref, WriteAction.UPDATED)
            return result
        raise UnsupportedValue(
            f"Propertybase connector cannot write {entity!r}", vendor=self.vendor
        )

    async def _save(
        self, resource: str, body: dict[str, Any], ref: str | None, record: CanonicalRecord
    ) -> WriteResult:
        if ref is None:
            ref = await self._match("person" if resource == "leads" else "location", record)
        else:
            self._matched.pop(("person" if resource == "leads" else "location", record.key), None)
        if ref is None:
            flags = self._flags() if resource == "leads" else {}
            created = await self._call("POST", f"/{resource}", json={**body, **flags}, create=True)
            made = created.get("id") if isinstance(created, dict) else None
            if isinstance(made, bool) or not isinstance(made, int | str) or made == "":
                # Created, maybe, but with no id to find it by: settled by a look-up.
                raise ProtocolError(
                    f"the created {resource} came back with no id",
                    vendor=self.vendor,
                    method="POST",
                    path=f"/{resource}",
                    outcome_unknown=True,
                )
            return WriteResult(str(made), WriteAction.CREATED)
        current = await self._call("GET", f"/{resource}/{ref}")
        if all(current.get(k) == v for k, v in body.items()):
            return WriteResult(ref, WriteAction.UNCHANGED)
        await self._call("PATCH", f"/{resource}/{ref}", json=body)
        return WriteResult(ref, WriteAction.UPDATED)

    async def _match(self, entity: str, record: CanonicalRecord) -> str | None:
        """The match a create must not duplicate: the engine's look-up just before, when it
        made one for this record (not asked twice), or the run's index, else one made now."""
        slot = (entity, record.key)
        found = self._matched.pop(slot, _UNASKED)
        index = self._indexes.get(entity)
        if found is _UNASKED and index is not None and not index.closed:
            refs = index.find(record)
            if len(refs) > 1:
                raise AmbiguousMatch(
                    f"ambiguous match: {len(refs)} records have this {index.by}",
                    candidates=refs,
                    vendor=self.vendor,
                )
            return refs[0] if refs else None
        if found is _UNASKED:
            await self.lookup(entity, record)
            found = self._matched.pop(slot, None)
        return found if isinstance(found, str) else None

    async def _save_address(self, development: int, address: Address) -> bool:
        """Make the development's first nested address this one; True if anything was sent.

        Addresses after the first are the CRM's own (the hub maps only the first): kept.
        """
        body = m.from_address(address)
        base = f"/developments/{development}/addresses"
        found = await self._nested(development, "addresses")
        if not found:
            await self._call("POST", base, json=body, create=True)
            return True
        first = found[0]
        if all(first.get(k) == v for k, v in body.items()):
            return False
        await self._call("PATCH", f"{base}/{first['id']}", json=body)
        return True

    async def lookup(
        self, entity: str, record: CanonicalRecord, *, by: str | None = None
    ) -> str | None:
        """A lead by email, a development by name: the one exact match, None when there is
        none, ``AmbiguousMatch`` naming the candidates when there are several.

        Every candidate the vendor returns is checked, since its filter may match loosely
        (part of an email, another case) or be ignored altogether (the development name
        filter is not documented, so the whole list may come back).
        """
        keys = self.capabilities.natural_keys.get(entity, ())
        if by is not None and by not in keys:
            raise UnsupportedValue(
                f"Propertybase cannot match a {entity} on {by!r} (only on {', '.join(keys)})",
                vendor=self.vendor,
            )
        if isinstance(record, Person) and record.emails:
            email = str(record.emails[0])
            params = {"email": email}
            resource, what = "leads", f"lead with email {email!r}"
            matches = partial(m.lead_matches, email=email)
        elif isinstance(record, Location):
            name = record.name
            params, resource = {"name": name}, "developments"
            what = f"development named {name!r}"
            matches = partial(m.development_matches, name=name)
        else:
            return None
        found = [
            str(payload.get("id"))
            async for payload in self._pages(resource, None, params)
            if isinstance(payload, dict) and matches(payload)
        ]
        if len(found) > 1:
            raise AmbiguousMatch(
                f"ambiguous match: {len(found)} records are the {what}",
                candidates=found,
                vendor=self.vendor,
            )
        # Kept for the create that may follow, so it does not ask again.
        self._matched[(entity, record.key)] = found[0] if found else None
        return found[0] if found else None

    async def match_index(self, entity: str, by: str, *, max_requests: int) -> MatchIndex | None:
        """Every lead by email (every development by name), exact as a look-up matches,
        from the paged list; None past ``max_requests`` pages (the list states no total)."""
        if (entity, by) == ("person", "email"):
            resource, key_of, value_of = "leads", m.lead_key, _email_of
        elif (entity, by) == ("location", "name"):
            resource, key_of, value_of = "developments", m.development_key, _name_of
        else:
            return None
        index, tally = MatchIndex(by, value_of), ReadTally()
        async with contextlib.aclosing(self._pages(resource, None, tally=tally)) as payloads:
            async for payload in payloads:
                if tally.pages > max_requests:
                    return None
                value = key_of(payload) if isinstance(payload, dict) else None
                if value is not None and payload.get("id") is not None:
                    index.add(value, str(payload["id"]))
        self._indexes[entity] = index
        return index

    async def delete(self, entity: str, ref: str, *, deactivate: bool = False) -> None:
        """Delete a lead or development (deactivation is documented for staff records only)."""
        resources = {"person": "leads", "location": "developments"}
        if deactivate or entity not in resources:
            raise UnsupportedValue(
                f"Propertybase cannot {'deactivate' if deactivate else 'delete'}"
                f" a {entity} through this connector",
                vendor=self.vendor,
            )
        try:
            await self._call("DELETE", f"/{resources[entity]}/{ref}")
        except NotFound:
            return  # already gone: the outcome we wanted
