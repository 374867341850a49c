"""Builder Backed homeowners: added to their home, brought up to date there, and looked up.

The homeowner endpoint's path, body shape, answer to a repeat and update route are not in the
guide: they are settings (``homeowners_path``, ``homeowners_body``, ``homeowner_repeat``,
``homeowner_update``), and a homeowner already on the home (or known to the
cross-reference) is never POSTed again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from connectors.builder_backed.settings import BuilderBackedSettings
from connectors.builder_backed.updates import owner_by_email, unchanged, update_body
from connectors.builder_backed.writes import send
from hub.client.vendor import VendorClient
from hub.connector import WriteAction, WriteResult
from hub.errors import Conflict, MissingParent, PermanentError, UnsupportedValue
from hub.matching import MatchIndex
from hub.models import CanonicalRecord, Person, RoleKind
from mappings import builder_backed as m

__all__ = ["Homeowners", "pair_key", "person_pair"]

#: look-ups kept for the creates that follow them, at most
MEMO_LIMIT = 10_000

#: the connector's GET of one JSON object, None on 404
GetObject = Callable[[str], Awaitable[dict[str, Any] | None]]


class Homeowners:
    """A Builder Backed connector's homeowner writes and look-ups."""

    def __init__(
        self,
        client: VendorClient,
        settings: BuilderBackedSettings,
        get_object: GetObject,
        vendor: str,
    ) -> None:
        self.client, self.settings, self.get_object, self.vendor = (
            client,
            settings,
            get_object,
            vendor,
        )
        #: the run's index of every home's homeowners, while the run keeps it open
        self.index: MatchIndex | None = None
        #: (home, email) pairs a look-up just found absent, for the create that follows it
        self._absent: set[str] = set()

    async def write(self, person: Person, known_ref: str | None) -> WriteResult:
        """Add the person to each of their homes (or bring them up to date there)."""
        homes = [r.home_key for r in person.roles if r.kind is RoleKind.HOMEOWNER and r.home_key]
        if not homes:
            raise UnsupportedValue(
                f"{person.key}: a Builder Backed homeowner needs a home", vendor=self.vendor
            )
        known_home = known_ref.rpartition("/")[0] if known_ref else None
        actions = [await self._add(home, person, home == known_home) for home in homes]
        email = person.emails[0] if person.emails else ""
        action = (
            WriteAction.CREATED
            if WriteAction.CREATED in actions
            else (WriteAction.UPDATED if WriteAction.UPDATED in actions else WriteAction.UNCHANGED)
        )
        return WriteResult(pair_key(homes[0], email), action)

    async def _add(self, home: str, person: Person, known: bool) -> WriteAction:
        """Add the person to the home, or bring them up to date there; a homeowner already
        on the home, or ``known`` to the cross-reference, is never POSTed again."""
        body = m.from_homeowner(person, home)
        pair = pair_key(home, body["email"])
        checked = known or (
            self.settings.homeowner_repeat == "unknown" and not self._seen_absent(pair)
        )
        current = await self._home(home) if checked else {}
        mine = owner_by_email(current, body["email"], home, self.vendor) if checked else None
        if mine is None and known:
            raise PermanentError(
                f"homeowner {body['email']} is no longer on home {home} at Builder Backed;"
                " the hub does not add them again on its own",
                vendor=self.vendor,
            )
        if mine is None:
            if await self._post(home, body):
                if self.index is not None and not self.index.closed:
                    self.index.add(pair, pair)
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
        await send(self.client, "PUT", "/api/v2/homes", home_body, parse=False)
        return WriteAction.UPDATED

    async def _post(self, home: str, body: dict[str, Any]) -> bool:
        """POST one homeowner to the home; False when the vendor says it is there (409)."""
        path = self.settings.homeowners_path.format(externalHomeId=quote(home, safe=""))
        shape = [body] if self.settings.homeowners_body == "array" else body
        try:
            await send(self.client, "POST", path, shape, create=True, parse=False)
        except Conflict:
            return False
        return True

    async def _home(self, home: str) -> dict[str, Any]:
        current = await self.get_object(f"/api/v2/homes/{quote(home, safe='')}")
        if current is None:
            raise MissingParent("home not found", vendor=self.vendor, messages=[f"home {home}"])
        return current

    def _seen_absent(self, pair: str) -> bool:
        """Whether this run has just seen the homeowner absent from the home: a look-up
        made for this create (used once), or the run's index of every home's homeowners."""
        if pair in self._absent:
            self._absent.discard(pair)
            return True
        index = self.index
        return index is not None and not index.closed and not index.holds(pair)

    async def lookup(self, person: Person) -> str | None:
        """The person's ref on the first of their homes that lists their email."""
        email = (person.emails[0] if person.emails else "").lower()
        absent = []
        for role in person.roles:
            if role.kind is RoleKind.HOMEOWNER and role.home_key:
                home = await self.get_object(f"/api/v2/homes/{quote(role.home_key, safe='')}")
                if home is not None and owner_by_email(home, email, role.home_key, self.vendor):
                    return pair_key(role.home_key, email)
                absent.append(pair_key(role.home_key, email))
        if len(self._absent) > MEMO_LIMIT:
            self._absent.clear()  # look-ups no create followed (a dry run's)
        self._absent.update(absent)
        return None

    def index_home(self, index: MatchIndex, payload: Any) -> None:
        """Hold one listed home's homeowners in the run's index."""
        if not isinstance(payload, dict) or not isinstance(payload.get("externalId"), str):
            return
        for owner in payload.get("homeowners") or []:
            if isinstance(owner, dict) and isinstance(owner.get("email"), str):
                pair = pair_key(payload["externalId"], owner["email"])
                index.add(pair, pair)


def pair_key(home: str, email: str) -> str:
    """A homeowner's ref, and the value they are matched on: their home and email."""
    return f"{home}/{email.strip().casefold()}"


def person_pair(record: CanonicalRecord) -> str | None:
    """The pair a person is matched on: their first home and first email."""
    if not isinstance(record, Person) or not record.emails:
        return None
    homes = [r.home_key for r in record.roles if r.kind is RoleKind.HOMEOWNER and r.home_key]
    return pair_key(homes[0], str(record.emails[0])) if homes else None
