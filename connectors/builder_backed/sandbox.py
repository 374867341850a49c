"""A local Builder Backed V2 API that behaves as the vendor's integration guide documents.

Documented and implemented as documented: OAuth2 client credentials with scopes
(``location.write``, ``home.write``, ``document.write``; 401 without a valid token, 403 naming
the missing scope); regions pre-activated and listed as a bare array; divisions (region by exact,
case-sensitive name), master communities and neighborhoods created with POST and updated with
PUT, 404 naming an unknown parent, 409 for a reused externalId; homes with the guide's required
and optional fields, ``type`` exactly "Single Family" / "Multi Family", homeowners validated,
``homeDetails`` keys limited to a configured set, the whole chain checked on create; homeowners
added with ``POST /api/v2/homes/{externalHomeId}/users``; documents and the four DELETE forms;
400 naming a missing required field.

Our stated assumptions (the public material is silent; the connector keeps them configurable):

- the token endpoint is ``POST /oauth2/token`` (form-encoded; client credentials in the form or
  HTTP Basic) and tokens live ``token_lifetime`` seconds (default 3600);
- ``PUT /api/v2/homes`` (keyed by ``externalId`` in the body), ``GET /api/v2/homes/{externalId}``
  and paged ``GET`` lists of homes and of each location level;
- paging by ``page`` (1-based) and ``pageSize`` (default 50, at most 500), answered as
  ``{"content": [...], "page", "pageSize", "totalElements", "totalPages"}``; ``updatedSince``
  (ISO 8601) filters lists by last update, and every record carries ``updatedAt``;
- a home POST with a reused externalId answers 409, like locations;
- error bodies are ``{"status": 400, "error": "Bad Request", "message": "..."}``;

and where the guide is silent, the reading hardest on a client:

- a PUT replaces the whole record: a field it leaves out is gone (a home's homeowners, its
  ``homeDetails``...), as far as the guide can tell;
- a body field the guide does not name is rejected (400), ``fullName`` ("response only")
  included;
- ``POST /api/v2/homes/{externalHomeId}/users`` takes an array of homeowner objects only and
  answers 409 when an email (case-insensitive) is already on the home; the guide documents no
  homeowner update, so a homeowner changes only when the home is PUT with its homeowners.
"""

from __future__ import annotations

import base64
import math
import secrets
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web

from connectors.builder_backed.sandbox_data import BUILDER_ID, REGIONS
from connectors.builder_backed.sandbox_documents import SandboxDocuments
from connectors.builder_backed.sandbox_messages import (
    DEFAULT_DETAILS,
    SINGULAR,
    Problem,
    check_owner,
    json_body,
    owner_list,
)
from connectors.builder_backed.sandbox_records import BuilderBackedRecords
from hub.sandbox.options import SandboxOptions
from hub.sandbox.query import BadParameter, int_param, time_param
from hub.sandbox.server import SandboxServer

__all__ = ["BuilderBackedSandbox"]


class BuilderBackedSandbox(SandboxServer):
    """Builder Backed V2 on loopback, seeded with ``size`` homes in their location chain."""

    vendor = "builder_backed"
    default_credentials = {"client_id": "bb-sandbox-client", "client_secret": "bb-sandbox-secret"}

    def __init__(
        self, options: SandboxOptions | None = None, credentials: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(options, credentials)
        extra = self.options.extra
        self.token_lifetime = float(extra.get("token_lifetime", 3600))
        self.clock: Callable[[], float] = time.monotonic
        self.tokens: dict[str, tuple[frozenset[str], float]] = {}
        self.records = BuilderBackedRecords(
            self.options.size,
            self.options.seed,
            tuple(extra.get("regions", REGIONS)),
            frozenset(extra.get("allowed_home_details", DEFAULT_DETAILS)),
        )
        self.collections = self.records.collections
        self.created_ids = self.records.created_ids
        self.document_store = SandboxDocuments(self.records)
        #: each home's documents, by the home's externalId
        self.documents = self.document_store.by_home

    def _find(self, level: str, external_id: str) -> tuple[int, dict[str, Any]] | None:
        return self.records.find(level, external_id)

    # -- auth --------------------------------------------------------------------------------

    def _authorize(self, request: web.Request, scope: str) -> None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        grant = self.tokens.get(token or "")
        if grant is None or grant[1] <= self.clock():
            raise Problem(401, "Invalid or missing authentication token")
        if scope not in grant[0]:
            raise Problem(403, f"Token does not have required scope: {scope}")

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            decoded = base64.b64decode(basic[6:]).decode(errors="replace")
            client_id, _, client_secret = decoded.partition(":")
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if (client_id, client_secret) != (
            self.credentials["client_id"],
            self.credentials["client_secret"],
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        known = {"location.write", "home.write", "document.write"}
        asked = set(str(form.get("scope") or " ".join(sorted(known))).split())
        if not asked <= known:
            return web.json_response({"error": "invalid_scope"}, status=400)
        token = "eyJhbGciOiJSUzI1NiIs." + secrets.token_urlsafe(24)
        self.tokens[token] = (frozenset(asked), self.clock() + self.token_lifetime)
        self.claim(token)
        return web.json_response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": int(self.token_lifetime),
                "scope": " ".join(sorted(asked)),
            }
        )

    # -- routes ------------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """The documented API plus our stated assumptions (see the module docstring)."""
        app.router.add_post("/oauth2/token", self._token)
        r, d = app.router, self.document_store
        r.add_get("/api/v2/locations/regions", self._guard("location.write", self._regions))
        for level in ("divisions", "master-communities", "neighborhoods"):
            base = f"/api/v2/locations/{level}"
            self._level_routes(app, base, level, "location.write")
        self._level_routes(app, "/api/v2/homes", "homes", "home.write")
        r.add_post("/api/v2/homes/{ext}/users", self._guard("home.write", self._add_users))
        r.add_post("/api/v2/documents", self._guard("document.write", d.add))
        docs = "/api/v2/documents/externalHome/{home}"
        r.add_get(docs, self._guard("document.write", d.of_home))
        r.add_delete(docs, self._guard("document.write", d.delete_of_home))
        r.add_delete(docs + "/category/{category}", self._guard("document.write", d.delete_of_home))
        r.add_delete(docs + "/name/{name}", self._guard("document.write", d.delete_of_home))
        r.add_delete("/api/v2/documents/{ext}", self._guard("document.write", d.delete_one))

    def _level_routes(self, app: web.Application, base: str, level: str, scope: str) -> None:
        app.router.add_get(base, self._guard(scope, lambda rq: self._list(rq, level)))
        app.router.add_post(base, self._guard(scope, lambda rq: self._create(rq, level)))
        app.router.add_put(base, self._guard(scope, lambda rq: self._update(rq, level)))
        app.router.add_get(base + "/{ext}", self._guard(scope, lambda rq: self._get(rq, level)))

    def _guard(self, scope: str, handler: Callable[[web.Request], Any]) -> Any:
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                self._authorize(request, scope)
                response: web.StreamResponse = await handler(request)
                return response
            except Problem as problem:
                return self.error_response(problem.status, problem.message)
            except BadParameter as bad:
                return self.error_response(400, f"Parameter '{bad.name}' must be {bad.expected}")

        return guarded

    def error_response(self, status: int, message: str) -> web.Response:
        """Our stated error shape: status, reason phrase and message."""
        return web.json_response(
            {"status": status, "error": HTTPStatus(status).phrase, "message": message},
            status=status,
        )

    def connector_table(self, tenant: int = 0) -> dict[str, Any]:
        """A connector config table pointing at this sandbox, as ``tenant``."""
        credentials = self.tenant_credentials(tenant)
        return {
            "type": "builder_backed",
            "base_url": self.base_url,
            "token_url": self.base_url + "/oauth2/token",
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
        }

    async def credential_of(self, request: web.Request) -> str | None:
        """The bearer token (claimed by the tenant that issued it), or at the token endpoint
        the client id, from HTTP Basic or the form."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header.removeprefix("Bearer ")
        if request.path != "/oauth2/token" or request.method != "POST":
            return None
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode(errors="replace")
            except ValueError:
                return None  # the token endpoint refuses it
            return decoded.partition(":")[0]
        client_id = (await request.post()).get("client_id")
        return client_id if isinstance(client_id, str) else None

    # -- handlers ----------------------------------------------------------------------------

    async def _regions(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"id": i, "name": name, "builderId": BUILDER_ID, "active": True}
                for i, name in enumerate(self.records.regions, start=1)
            ]
        )

    async def _list(self, request: web.Request, level: str) -> web.Response:
        page = int_param(request.query, "page", 1, 1)
        size = int_param(request.query, "pageSize", 50, 1, 500)
        since = time_param(request.query, "updatedSince")
        collection = self.collections[level]
        pairs, total = collection.page_items((page - 1) * size, size, since=since)
        content = [self.records.present(level, i, r) for i, r in pairs]
        return web.json_response(
            {
                "content": content,
                "page": page,
                "pageSize": size,
                "totalElements": total,
                "totalPages": math.ceil(total / size) if total else 0,
            }
        )

    async def _get(self, request: web.Request, level: str) -> web.Response:
        ext = request.match_info["ext"]
        found = self._find(level, ext)
        if found is None:
            raise Problem(404, f"{SINGULAR[level]} with external ID '{ext}' not found")
        return web.json_response(self.records.present(level, *found))

    async def _create(self, request: web.Request, level: str) -> web.Response:
        body = self.records.validate(level, await json_body(request))
        ext = body["externalId"]
        if self._find(level, ext) is not None:
            what = "A location" if level != "homes" else "A home"
            raise Problem(409, f"{what} with external ID '{ext}' already exists")
        record = self.collections[level].create(
            lambda i: {"id": i, **self.records.defaults(level), **body}
        )
        self.created_ids[level][ext] = record["id"]
        return web.json_response(self.records.present(level, record["id"], record))

    async def _update(self, request: web.Request, level: str) -> web.Response:
        body = self.records.validate(level, await json_body(request))
        found = self._find(level, body["externalId"])
        if found is None:
            raise Problem(
                404, f"{SINGULAR[level]} with external ID '{body['externalId']}' not found"
            )
        record_id, record = found
        # The whole record is replaced: what the body leaves out is gone (see the docstring).
        kept: dict[str, Any] = {**self.records.defaults(level), "id": record_id}
        kept.update({k: record[k] for k in ("builderId", "active") if k in record})
        updated = self.collections[level].put(record_id, {**kept, **body})
        return web.json_response(self.records.present(level, record_id, updated))

    async def _add_users(self, request: web.Request) -> web.Response:
        ext = request.match_info["ext"]
        found = self._find("homes", ext)
        if found is None:
            raise Problem(404, f"Home with external ID '{ext}' not found")
        payload = await owner_list(request)
        for owner in payload:
            check_owner(owner)
        record_id, record = found
        owners = list(record.get("homeowners", []))
        emails = {o["email"].lower() for o in owners}
        for owner in payload:
            if owner["email"].lower() in emails:
                raise Problem(409, f"Homeowner '{owner['email']}' already exists on this home")
            owners.append(owner)
        updated = self.collections["homes"].put(record_id, {**record, "homeowners": owners})
        return web.json_response(self.records.present("homes", record_id, updated)["homeowners"])
