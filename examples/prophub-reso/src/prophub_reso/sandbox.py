"""A local RESO Web API server, built with the hub's sandbox kit.

As the Web API Core specification and the Data Dictionary describe: an OAuth2
client-credentials token endpoint (``POST /oauth/token``, form-encoded) and bearer tokens on
every call (a static ``token`` credential works too); the ``Property``, ``Member`` and
``Office`` resources under ``/odata``; ``$top`` (1..1000, default 100), ``$skip``,
``$count=true`` (``@odata.count``) and ``$filter`` on ``ModificationTimestamp`` (``ge``/``gt``
an ISO 8601 time); an absolute ``@odata.nextLink`` while more records follow; OData error
bodies (``{"error": {"code", "message"}}``). An unknown system query option or filter is a 400,
the reading hardest on a client. Records are made from the seed on demand: ``size`` listings,
an office per fifty, five agents an office.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from aiohttp import web
from yarl import URL

from hub.sdk import (
    BadParameter,
    Collection,
    SandboxOptions,
    SandboxServer,
    fake_address,
    fake_person,
    int_param,
)

__all__ = ["ResoSandbox"]

AGENTS_PER_OFFICE = 5
LISTINGS_PER_OFFICE = 50
SUB_TYPES = ("Single Family Residence", "Condominium", "Townhouse", "Duplex", "Cabin")
STATUSES = ("Active", "Pending", "Closed", "Active Under Contract")
FILTER = re.compile(r"^ModificationTimestamp (ge|gt) (\S+)$")
OPTIONS = {"$top", "$skip", "$count", "$filter"}


def _office(seed: int, i: int) -> dict[str, Any]:
    place = fake_address(seed, 40_000_000 + i)
    return {
        "OfficeKey": f"O{i:05d}",
        "OfficeName": f"{place['city']} Realty {i}",
        "OfficeEmail": f"office{i}@realty.example.com",
        "OfficePhone": f"512-555-{2000 + i:04d}",
        "OfficeAddress1": place["line1"],
        "OfficeCity": place["city"],
        "OfficeStateOrProvince": place["state"],
        "OfficePostalCode": place["postal_code"],
    }


def _member(seed: int, i: int) -> dict[str, Any]:
    person = fake_person(seed, 41_000_000 + i)
    return {
        "MemberKey": f"M{i:06d}",
        "MemberFirstName": person["first"],
        "MemberLastName": person["last"],
        "MemberEmail": person["email"],
        "MemberDirectPhone": person["phone"],
        "MemberStatus": "Active",
        "OfficeKey": f"O{(i - 1) // AGENTS_PER_OFFICE + 1:05d}",
    }


def _property(seed: int, members: int, i: int) -> dict[str, Any]:
    place = fake_address(seed, 42_000_000 + i)
    number, name, suffix = place["line1"].split(" ", 2)
    agent = (i - 1) % members + 1
    person = fake_person(seed, 41_000_000 + agent)
    return {
        "ListingKey": f"L{i:07d}",
        "ListingId": f"MLS{100_000 + i}",
        "StandardStatus": STATUSES[i % len(STATUSES)],
        "PropertyType": "Residential",
        "PropertySubType": SUB_TYPES[i % len(SUB_TYPES)],
        "ListPrice": 250_000 + (i * 7_919) % 500_000,
        "UnparsedAddress": place["line1"],
        "StreetNumber": number,
        "StreetName": name,
        "StreetSuffix": suffix,
        "City": place["city"],
        "StateOrProvince": place["state"],
        "PostalCode": place["postal_code"],
        "Country": "US",
        "BedroomsTotal": 2 + i % 4,
        "BathroomsTotalInteger": 1 + i % 3,
        "LivingArea": 900 + (i * 37) % 3000,
        "YearBuilt": 1960 + i % 64,
        "ListAgentKey": f"M{agent:06d}",
        "ListAgentFullName": f"{person['first']} {person['last']}",
        "ListOfficeKey": f"O{(agent - 1) // AGENTS_PER_OFFICE + 1:05d}",
    }


def seeded_collections(size: int, seed: int) -> dict[str, Collection]:
    """The three resources above ``size`` listings, each record made on demand."""
    offices = max(1, math.ceil(size / LISTINGS_PER_OFFICE))
    members = offices * AGENTS_PER_OFFICE
    return {
        "Property": Collection("Property", size, partial(_property, seed, members)),
        "Member": Collection("Member", members, partial(_member, seed)),
        "Office": Collection("Office", offices, partial(_office, seed)),
    }


class ResoSandbox(SandboxServer):
    """A RESO Web API server on loopback, seeded with ``size`` listings."""

    vendor = "reso"
    default_credentials = {
        "client_id": "reso-client",
        "client_secret": "reso-sandbox-secret",
        "token": "reso-sandbox-token",
    }

    def __init__(
        self, options: SandboxOptions | None = None, credentials: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(options, credentials)
        self.collections = seeded_collections(self.options.size, self.options.seed)
        self.tokens: set[str] = set()

    def error_response(self, status: int, message: str) -> web.Response:
        """An OData error body."""
        return web.json_response(
            {"error": {"code": str(status), "message": message}}, status=status
        )

    def connector_table(self) -> dict[str, Any]:
        """A connector config table for this sandbox (OAuth2 client credentials)."""
        return {
            "type": "reso",
            "base_url": self.base_url + "/odata",
            "token_url": self.base_url + "/oauth/token",
            "client_id": self.credentials["client_id"],
            "client_secret": self.credentials["client_secret"],
        }

    def add_routes(self, app: web.Application) -> None:
        """The token endpoint and the three resources."""
        app.router.add_post("/oauth/token", self._token)
        for name in self.collections:
            app.router.add_get(f"/odata/{name}", partial(self._list, name))

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        given = (form.get("client_id"), form.get("client_secret"))
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if given != (self.credentials["client_id"], self.credentials["client_secret"]):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        return web.json_response(body)

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and (token in self.tokens or token == self.credentials["token"])

    async def _list(self, name: str, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self.error_response(401, "Authorization has been denied for this request")
        query = request.query
        unknown = sorted(k for k in query if k.startswith("$") and k not in OPTIONS)
        if unknown:
            return self.error_response(400, f"unsupported query option {unknown[0]}")
        try:
            top = int_param(query, "$top", 100, 1, 1000)
            skip = int_param(query, "$skip", 0, 0)
            since = self._since(query.get("$filter"))
        except BadParameter as exc:
            return self.error_response(400, str(exc))
        collection = self.collections[name]
        pairs, total = collection.page_items(skip, top, since)
        body: dict[str, Any] = {
            "@odata.context": f"{self.base_url}/odata/$metadata#{name}",
            "value": [self._present(collection, i, r) for i, r in pairs],
        }
        if query.get("$count") == "true":
            body["@odata.count"] = total
        if skip + top < total:
            following = {**query, "$skip": str(skip + top), "$top": str(top)}
            body["@odata.nextLink"] = str(
                URL(f"{self.base_url}/odata/{name}").with_query(following)
            )
        return web.json_response(body)

    def _since(self, raw: str | None) -> datetime | None:
        if raw is None:
            return None
        found = FILTER.match(raw.strip())
        if found is None:
            raise BadParameter("$filter", raw, "ModificationTimestamp ge|gt <time>")
        try:
            moment = datetime.fromisoformat(found.group(2).replace("Z", "+00:00"))
        except ValueError:
            raise BadParameter("$filter", raw, "an ISO 8601 time") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment + timedelta(microseconds=1) if found.group(1) == "gt" else moment

    def _present(
        self, collection: Collection, record_id: int, record: dict[str, Any]
    ) -> dict[str, Any]:
        stamp = collection.updated_at(record_id).astimezone(UTC)
        return {**record, "ModificationTimestamp": stamp.isoformat().replace("+00:00", "Z")}
