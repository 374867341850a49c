"""Buildium look-ups: the one record that matches exactly, never a filter taken on trust.

Buildium's name and email filters match by substring, and a filter it does not know may be
ignored: every candidate is checked with the mapping's exact rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.buildium.refs import id_of, is_rental_owner, owner_ref
from hub.client.paging import OffsetLimit
from hub.client.vendor import VendorClient
from hub.errors import AmbiguousMatch, ProtocolError
from hub.models import CanonicalRecord, Home, Location, Person
from mappings import buildium as m

__all__ = ["Lookups"]


class Lookups:
    """A Buildium connector's look-ups: an owner, an association or a unit."""

    def __init__(self, client: VendorClient, page_size: int, vendor: str) -> None:
        self.client, self.page_size, self.vendor = client, page_size, vendor

    async def find(self, record: CanonicalRecord, by: str | None) -> str | None:
        """The ref of the one record that matches exactly; ``AmbiguousMatch`` for several."""
        if isinstance(record, Person):
            return await self._owner(record, by or "email")
        if isinstance(record, Location):
            name = record.name
            return await self.one(
                "/v1/associations",
                {},
                lambda p: m.name_matches(p.get("Name"), name),
                f"association named {name!r}",
            )
        if isinstance(record, Home):
            association = id_of(record.neighborhood_key, "association")
            if association is None:
                return None  # its association is not at Buildium yet, so neither is it
            number = m.from_association_unit(record, None)["UnitNumber"]
            return await self.one(
                "/v1/associations/units",
                {"associationids": association},
                lambda p: (
                    p.get("AssociationId") == association
                    and m.name_matches(p.get("UnitNumber"), number)
                ),
                f"unit {number!r} of association {association}",
            )
        return None

    async def _owner(self, person: Person, by: str) -> str | None:
        rental = is_rental_owner(person)
        path = "/v1/rentals/owners" if rental else "/v1/associations/owners"
        if by == "email":
            if not person.emails:
                return None
            email = str(person.emails[0])
            # The document offers /v1/rentals/owners no email filter, and any filter it does
            # offer (a name, a property, a status) would hide the owner whose is not the
            # hub's: the whole list is read, at the page size, and matched by email here.
            params = {} if rental else {"email": email}
            return await self.one(
                path,
                params,
                lambda p: m.email_matches(p, email),
                f"owner with email {email!r}",
                None if rental else owner_ref,
            )
        full = person.full_name
        if not full.strip():
            return None
        return await self.one(
            path,
            {"ownername" if rental else "name": full},
            lambda p: m.name_matches(f"{p.get('FirstName') or ''} {p.get('LastName') or ''}", full),
            f"owner named {full!r}",
            None if rental else owner_ref,
        )

    async def one(
        self,
        path: str,
        params: dict[str, Any],
        match: Callable[[dict[str, Any]], bool],
        what: str,
        ref_of: Callable[[dict[str, Any]], str] | None = None,
    ) -> str | None:
        """The ref of the one candidate that matches exactly (its id, or what ``ref_of``
        makes of it), None for none."""
        paginator = OffsetLimit(limit=self.page_size)
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
