"""A local Buildium API for the operations the hub uses, per Buildium's official OpenAPI document.

Paths, parameters, bodies, enums, required fields and status codes follow
``vendors/buildium/openapi.json``; the tests validate every exchange against it with
openapi-core. Lists page by ``offset``/``limit`` (1..1000, default 50) with ``X-Total-Count``,
filter by ``lastupdatedfrom``/``lastupdatedto`` and the id filters the connector needs, and sort
by ``orderby`` (``id`` ascending or ``id desc``). Errors are ``ApiErrorResponse`` bodies. The
spec marks nothing nullable, so a value the sandbox does not have is omitted, never ``null``.

Data is derived from the seed and an index: ``size`` association units in ``size / 20``
associations, one owner (and ownership account, same id) per unit, and as many rental units in
``size / 20`` rental properties, one rental owner per property and one tenant per rental unit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from connectors.buildium.sandbox_data import seeded_collections
from connectors.buildium.sandbox_messages import (
    MESSAGES,
    REPLACED_BY_PUT,
    ApiProblem,
    known_fields,
)
from connectors.buildium.sandbox_records import BuildiumRecords
from hub.sandbox.options import SandboxOptions
from hub.sandbox.query import BadParameter, int_param, time_param
from hub.sandbox.server import SandboxServer

__all__ = ["BuildiumSandbox"]


class BuildiumSandbox(SandboxServer):
    """Buildium's associations, rentals, owners and tenants on loopback."""

    vendor = "buildium"
    default_credentials = {
        "client_id": "buildium-sandbox-client",
        "client_secret": "buildium-sandbox-secret",
    }

    def __init__(
        self, options: SandboxOptions | None = None, credentials: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(options, credentials)
        #: an API key whose role may read but not write (Buildium answers 403)
        self.read_only = bool(self.options.extra.get("read_only", False))
        self.collections = seeded_collections(self.options.size, self.options.seed)
        self.records = BuildiumRecords(self.collections)

    # -- plumbing ------------------------------------------------------------------------------

    def error_response(self, status: int, message: str) -> web.Response:
        """Buildium's ApiErrorResponse."""
        code = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 429: "TooManyRequests"}
        return web.json_response(
            {
                "UserMessage": message,
                "ErrorCode": code.get(status, "InternalServerError"),
                "Errors": [],
            },
            status=status,
        )

    def _problem(self, problem: ApiProblem) -> web.Response:
        return web.json_response(
            {
                "UserMessage": problem.message,
                "ErrorCode": problem.code,
                "Errors": [{"Key": k, "Value": v} for k, v in problem.errors],
            },
            status=problem.status,
        )

    def connector_table(self, tenant: int = 0) -> dict[str, Any]:
        """A connector config table pointing at this sandbox, as ``tenant``."""
        credentials = self.tenant_credentials(tenant)
        return {
            "type": "buildium",
            "base_url": self.base_url,
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        }

    async def credential_of(self, request: web.Request) -> str | None:
        """The client id header names the tenant."""
        return request.headers.get("x-buildium-client-id")

    def _guard(self, handler: Callable[[web.Request], Any]) -> Any:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if (
                request.headers.get("x-buildium-client-id") != self.credentials["client_id"]
                or request.headers.get("x-buildium-client-secret")
                != self.credentials["client_secret"]
            ):
                return self.error_response(401, "Authorization has been denied for this request.")
            if request.method != "GET" and self.read_only:
                return self.error_response(403, "The API key does not have write permission.")
            try:
                response: web.StreamResponse = await handler(request)
                return response
            except ApiProblem as problem:
                return self._problem(problem)
            except BadParameter as bad:
                return self._problem(
                    ApiProblem(
                        400,
                        f"The {bad.name} parameter must be {bad.expected}.",
                        "InvalidParameter",
                        [(bad.name, f"The value '{bad.raw}' is not valid.")],
                    )
                )

        return guarded

    def add_routes(self, app: web.Application) -> None:
        """The implemented operations, paths exactly as in the spec."""
        r = self.records
        routes = (
            ("/v1/associations", "associations", "{associationId}", r.association),
            ("/v1/associations/units", "association-units", "{unitId}", r.unit),
            ("/v1/associations/owners", "association-owners", "{ownerId}", r.owner),
            (
                "/v1/associations/ownershipaccounts",
                "ownership-accounts",
                "{ownershipAccountId}",
                r.account,
            ),
            ("/v1/rentals", "rentals", "{propertyId}", r.rental),
            ("/v1/rentals/units", "rental-units", "{unitId}", r.rental_unit),
            ("/v1/rentals/owners", "rental-owners", "{rentalOwnerId}", r.rental_owner),
            ("/v1/leases/tenants", "tenants", "{tenantId}", None),
        )
        for path, name, var, save in routes:
            app.router.add_get(path, self._guard(self._lister(name)))
            app.router.add_get(f"{path}/{var}", self._guard(self._getter(name, var)))
            if save is not None:
                app.router.add_post(path, self._guard(self._creator(name, save)))
                app.router.add_put(f"{path}/{var}", self._guard(self._updater(name, var, save)))

    # -- generic handlers ----------------------------------------------------------------------

    def _lister(self, name: str) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            query = request.query
            offset = int_param(query, "offset", 0, 0)
            limit = int_param(query, "limit", 50, 1, 1000)
            since = time_param(query, "lastupdatedfrom")
            until = time_param(query, "lastupdatedto")
            ids = self._filtered_ids(name, query, since, until)
            pairs, total = self.collections[name].page_items(offset, limit, since, until, ids)
            body = [record for _, record in pairs]
            return web.json_response(body, headers={"X-Total-Count": str(total)})

        return handler

    def _filtered_ids(
        self, name: str, query: Mapping[str, str], since: datetime | None, until: datetime | None
    ) -> list[int] | None:
        collection = self.collections[name]
        order = query.get("orderby", "id").strip().lower()
        if order not in ("id", "id asc", "id desc"):
            raise ApiProblem(
                400,
                f"orderby '{query['orderby']}' is not supported",
                "InvalidParameter",
                [("orderby", "Unsupported sort field.")],
            )
        filters = self._filters(name, query)
        if not filters and order != "id desc":
            return None
        ids = [
            i
            for i in collection.ids(since, until)
            if all(test(collection.get(i) or {}) for test in filters)
        ]
        return ids[::-1] if order == "id desc" else ids

    def _filters(
        self, name: str, query: Mapping[str, str]
    ) -> list[Callable[[dict[str, Any]], bool]]:
        tests: list[Callable[[dict[str, Any]], bool]] = []
        if "associationids" in query:
            wanted = _ids(query, "associationids")
            if name in ("association-owners",):
                tests.append(
                    lambda r: any(
                        a.get("AssociationId") in wanted for a in r.get("OwnershipAccounts", [])
                    )
                )
            else:
                tests.append(lambda r: r.get("AssociationId") in wanted)
        if "propertyids" in query:
            props = _ids(query, "propertyids")
            if name in ("rental-owners",):
                tests.append(lambda r: bool(props & set(r.get("PropertyIds", []))))
            elif name == "tenants":
                tests.append(
                    lambda r: any(lease.get("PropertyId") in props for lease in r.get("Leases", []))
                )
            else:
                tests.append(lambda r: r.get("PropertyId", r.get("Id")) in props)
        if "email" in query:
            # "Filters results to only records whose email *contains* the specified value."
            email = query["email"].lower()
            tests.append(lambda r: email in str(r.get("Email") or "").lower())
        names = [query[k] for k in ("name", "ownername") if k in query]
        if names:
            needle = names[0].lower()
            tests.append(
                lambda r: (
                    needle
                    in str(r.get("Name") or f"{r.get('FirstName')} {r.get('LastName')}").lower()
                )
            )
        return tests

    def _getter(self, name: str, var: str) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            record_id = _path_id(request, var)
            record = self.collections[name].get(record_id)
            if record is None:
                raise ApiProblem(404, "The requested resource was not found.", "NotFound")
            return web.json_response(record)

        return handler

    async def _json(self, request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise ApiProblem(
                415, "The request content type is not supported.", "UnsupportedMediaType"
            )
        try:
            body = await request.json()
        except ValueError:
            raise ApiProblem(400, "The request body could not be parsed.", "BadRequest") from None
        if not isinstance(body, dict):
            raise ApiProblem(400, "The request body must be a JSON object.", "BadRequest")
        return body

    def _creator(
        self, name: str, save: Callable[..., dict[str, Any]]
    ) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            body = await self._json(request)
            known_fields(body, MESSAGES.get((name, "POST")))
            record = self.collections[name].create(lambda i: save(body, i, None))
            return web.json_response(record, status=201)

        return handler

    def _updater(
        self, name: str, var: str, save: Callable[..., dict[str, Any]]
    ) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            record_id = _path_id(request, var)
            current = self.collections[name].get(record_id)
            if current is None:
                raise ApiProblem(404, "The requested resource was not found.", "NotFound")
            body = await self._json(request)
            known_fields(body, MESSAGES.get((name, "PUT")))
            # A PUT replaces: what the request omits is gone, not kept from before.
            kept = {k: v for k, v in current.items() if k not in REPLACED_BY_PUT.get(name, ())}
            record = self.collections[name].put(record_id, save(body, record_id, kept))
            return web.json_response(record)

        return handler


def _ids(query: Mapping[str, str], name: str) -> set[int]:
    raw = ",".join(query.getall(name)) if hasattr(query, "getall") else query[name]
    try:
        return {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        raise ApiProblem(
            400,
            f"The {name} parameter must list integers.",
            "InvalidParameter",
            [(name, f"The value '{raw}' is not valid.")],
        ) from None


def _path_id(request: web.Request, var: str) -> int:
    raw = request.match_info[var.strip("{}")]
    if not raw.isdigit():
        raise ApiProblem(400, "The identifier is not valid.", "InvalidParameter")
    return int(raw)
