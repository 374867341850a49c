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
import re
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web

from connectors.builder_backed.sandbox_data import (
    BUILDER_ID,
    HOME_TYPES,
    HOMEOWNER_TYPES,
    LEVELS,
    REGIONS,
    seeded_collections,
)
from hub.sandbox.options import SandboxOptions
from hub.sandbox.query import BadParameter, int_param, time_param
from hub.sandbox.server import SandboxServer

__all__ = ["BuilderBackedSandbox"]

DEFAULT_DETAILS = ("AgreementApprovalDate", "SurveyHomeType", "Elevation", "Lot", "Block")
HOMEOWNER_FIELDS = (
    "email",
    "firstName",
    "lastName",
    "middleName",
    "prefix",
    "suffix",
    "homeownerType",
    "defaultHome",
)
DOCUMENT_TYPES = ("EXTERNAL_URL", "AWS", "SAPPHIRE", "BUILDERBACKED")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

SINGULAR = {
    "divisions": "Division",
    "master-communities": "Master community",
    "neighborhoods": "Neighborhood",
    "homes": "Home",
}
REQUIRED = {
    "divisions": ("externalId", "name", "regionName"),
    "master-communities": ("externalId", "name", "divisionExternalId"),
    "neighborhoods": ("externalId", "name", "masterCommunityExternalId"),
    "homes": (
        "externalId",
        "addressLine1",
        "city",
        "state",
        "postalCode",
        "type",
        "neighborhoodExternalId",
    ),
}
OPTIONAL = {
    "divisions": ("displayName", "abbreviatedName"),
    "master-communities": ("displayName", "abbreviatedName"),
    "neighborhoods": ("displayName", "abbreviatedName"),
    "homes": (
        "addressLine2",
        "marketHome",
        "jobId",
        "productCollection",
        "model",
        "closingDate",
        "scheduledClosingDate",
        "homeDetails",
        "homeowners",
    ),
}


class Problem(Exception):
    """A request the vendor refuses: becomes an error response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


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
        self.allowed_details = frozenset(extra.get("allowed_home_details", DEFAULT_DETAILS))
        self.regions = tuple(extra.get("regions", REGIONS))
        self.clock: Callable[[], float] = time.monotonic
        self.tokens: dict[str, tuple[frozenset[str], float]] = {}
        self.documents: dict[str, list[dict[str, Any]]] = {}
        self.next_document_id = 1
        self._build_collections()

    # -- seeded data -------------------------------------------------------------------------

    def _build_collections(self) -> None:
        self.collections = seeded_collections(self.options.size, self.options.seed, self.regions)
        self.created_ids: dict[str, dict[str, int]] = {level: {} for level in LEVELS}

    def _find(self, level: str, external_id: str) -> tuple[int, dict[str, Any]] | None:
        collection = self.collections[level]
        record_id = self.created_ids[level].get(external_id)
        prefix = LEVELS[level][0] + "-"
        if record_id is None and external_id.startswith(prefix):
            tail = external_id.removeprefix(prefix)
            if tail.isdigit() and len(tail) == 6:
                record_id = int(tail)
        record = collection.get(record_id) if record_id is not None else None
        if record is None or record.get("externalId") != external_id:
            return None
        return record_id, record  # type: ignore[return-value]

    def _present(self, level: str, record_id: int, record: dict[str, Any]) -> dict[str, Any]:
        body = {**record, "updatedAt": _stamp(self.collections[level].updated_at(record_id))}
        if level == "homes":
            body["homeowners"] = [
                {**h, "fullName": _full_name(h)} for h in record.get("homeowners", [])
            ]
            body.update(self._chain(record["neighborhoodExternalId"]))
        return body

    def _chain(self, hood_ext: str) -> dict[str, Any]:
        chain: dict[str, Any] = {}
        current = ("neighborhoods", hood_ext)
        for name in ("neighborhood", "masterCommunity", "division"):
            found = self._find(*current)
            if found is None:
                return chain
            record = found[1]
            chain[name] = {"externalId": record["externalId"], "name": record["name"]}
            _, parent_field, parent_level = LEVELS[current[0]]
            if parent_field and parent_level:
                current = (parent_level, record[parent_field])
            else:
                chain["region"] = {"name": record["regionName"]}
        return chain

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
        r = app.router
        r.add_get("/api/v2/locations/regions", self._guard("location.write", self._regions))
        for level in ("divisions", "master-communities", "neighborhoods"):
            base = f"/api/v2/locations/{level}"
            self._level_routes(app, base, level, "location.write")
        self._level_routes(app, "/api/v2/homes", "homes", "home.write")
        r.add_post("/api/v2/homes/{ext}/users", self._guard("home.write", self._add_users))
        r.add_post("/api/v2/documents", self._guard("document.write", self._add_documents))
        docs = "/api/v2/documents/externalHome/{home}"
        r.add_get(docs, self._guard("document.write", self._home_documents))
        r.add_delete(docs, self._guard("document.write", self._delete_documents))
        r.add_delete(
            docs + "/category/{category}", self._guard("document.write", self._delete_documents)
        )
        r.add_delete(docs + "/name/{name}", self._guard("document.write", self._delete_documents))
        r.add_delete(
            "/api/v2/documents/{ext}", self._guard("document.write", self._delete_document)
        )

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

    def connector_table(self) -> dict[str, Any]:
        """A connector config table pointing at this sandbox."""
        return {
            "type": "builder_backed",
            "base_url": self.base_url,
            "token_url": self.base_url + "/oauth2/token",
            "client_id": self.credentials["client_id"],
            "client_secret": self.credentials["client_secret"],
        }

    # -- handlers ----------------------------------------------------------------------------

    async def _regions(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {"id": i, "name": name, "builderId": BUILDER_ID, "active": True}
                for i, name in enumerate(self.regions, start=1)
            ]
        )

    async def _list(self, request: web.Request, level: str) -> web.Response:
        page = int_param(request.query, "page", 1, 1)
        size = int_param(request.query, "pageSize", 50, 1, 500)
        since = time_param(request.query, "updatedSince")
        collection = self.collections[level]
        pairs, total = collection.page_items((page - 1) * size, size, since=since)
        content = [self._present(level, i, r) for i, r in pairs]
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
        return web.json_response(self._present(level, *found))

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise Problem(415, "Content-Type must be application/json")
        try:
            body = await request.json()
        except ValueError:
            raise Problem(400, "Malformed JSON body") from None
        if not isinstance(body, dict):
            raise Problem(400, "Request body must be a JSON object")
        return body

    def _validate(self, level: str, body: dict[str, Any]) -> dict[str, Any]:
        for name in REQUIRED[level]:
            if body.get(name) in (None, ""):
                raise Problem(400, f"Field '{name}' is required")
        unknown = set(body) - set(REQUIRED[level]) - set(OPTIONAL[level])
        if unknown:
            raise Problem(400, f"Unknown field '{sorted(unknown)[0]}'")
        if level == "homes":
            self._validate_home(body)
        self._check_parent(level, body)
        return {k: body[k] for k in (*REQUIRED[level], *OPTIONAL[level]) if k in body}

    def _validate_home(self, body: dict[str, Any]) -> None:
        if body["type"] not in HOME_TYPES:
            raise Problem(400, "Invalid value for 'type' field")
        if not re.fullmatch(r"[A-Z]{2}", str(body["state"])):
            raise Problem(400, "Field 'state' must be a 2-letter code")
        details = body.get("homeDetails") or {}
        if not isinstance(details, dict) or set(details) - self.allowed_details:
            bad = sorted(set(details) - self.allowed_details) if isinstance(details, dict) else []
            raise Problem(400, f"homeDetails key '{bad[0] if bad else '?'}' is not configured")
        for owner in body.get("homeowners") or []:
            self._validate_owner(owner)

    def _validate_owner(self, owner: Any) -> None:
        if not isinstance(owner, dict):
            raise Problem(400, "Homeowner must be an object")
        unknown = sorted(set(owner) - set(HOMEOWNER_FIELDS))
        if unknown:
            raise Problem(400, f"Unknown field 'homeowners.{unknown[0]}'")
        if "defaultHome" in owner and not isinstance(owner["defaultHome"], bool):
            raise Problem(400, "Invalid value for 'defaultHome' field")
        for name in ("email", "firstName", "lastName"):
            if not owner.get(name):
                raise Problem(400, f"Field 'homeowners.{name}' is required")
        if not EMAIL.match(str(owner["email"])):
            raise Problem(400, "Email address is invalid")
        if owner.get("homeownerType", "PRIMARY") not in HOMEOWNER_TYPES:
            raise Problem(400, "Invalid value for 'homeownerType' field")

    def _check_parent(self, level: str, body: dict[str, Any]) -> None:
        if level == "divisions":
            if body["regionName"] not in self.regions:
                raise Problem(404, f"Region '{body['regionName']}' not found")
            return
        _, parent_field, parent_level = LEVELS[level]
        assert parent_field and parent_level
        current: tuple[str, str] | None = (parent_level, body[parent_field])
        while current is not None:
            found = self._find(*current)
            if found is None or not found[1].get("active", True):
                raise Problem(
                    404, f"{SINGULAR[current[0]]} with external ID '{current[1]}' not found"
                )
            _, field, up = LEVELS[current[0]]
            current = (up, found[1][field]) if field and up else None

    async def _create(self, request: web.Request, level: str) -> web.Response:
        body = self._validate(level, await self._body(request))
        ext = body["externalId"]
        if self._find(level, ext) is not None:
            what = "A location" if level != "homes" else "A home"
            raise Problem(409, f"{what} with external ID '{ext}' already exists")
        record = self.collections[level].create(
            lambda i: {"id": i, **self._defaults(level), **body}
        )
        self.created_ids[level][ext] = record["id"]
        return web.json_response(self._present(level, record["id"], record))

    def _defaults(self, level: str) -> dict[str, Any]:
        base: dict[str, Any] = {"active": True}
        if level == "divisions":
            base["builderId"] = BUILDER_ID
        if level == "homes":
            base.update(marketHome=False, homeowners=[], homeDetails={})
        return base

    async def _update(self, request: web.Request, level: str) -> web.Response:
        body = self._validate(level, await self._body(request))
        found = self._find(level, body["externalId"])
        if found is None:
            raise Problem(
                404, f"{SINGULAR[level]} with external ID '{body['externalId']}' not found"
            )
        record_id, record = found
        # The whole record is replaced: what the body leaves out is gone (see the docstring).
        kept: dict[str, Any] = {**self._defaults(level), "id": record_id}
        kept.update({k: record[k] for k in ("builderId", "active") if k in record})
        updated = self.collections[level].put(record_id, {**kept, **body})
        return web.json_response(self._present(level, record_id, updated))

    async def _add_users(self, request: web.Request) -> web.Response:
        ext = request.match_info["ext"]
        found = self._find("homes", ext)
        if found is None:
            raise Problem(404, f"Home with external ID '{ext}' not found")
        payload = await self._owner_list(request)
        for owner in payload:
            self._validate_owner(owner)
        record_id, record = found
        owners = list(record.get("homeowners", []))
        emails = {o["email"].lower() for o in owners}
        for owner in payload:
            if owner["email"].lower() in emails:
                raise Problem(409, f"Homeowner '{owner['email']}' already exists on this home")
            owners.append(owner)
        updated = self.collections["homes"].put(record_id, {**record, "homeowners": owners})
        return web.json_response(self._present("homes", record_id, updated)["homeowners"])

    async def _owner_list(self, request: web.Request) -> list[Any]:
        if request.content_type != "application/json":
            raise Problem(415, "Content-Type must be application/json")
        try:
            payload = await request.json()
        except ValueError:
            raise Problem(400, "Malformed JSON body") from None
        if not isinstance(payload, list) or not payload:
            raise Problem(400, "Request body must be a non-empty array of homeowners")
        return payload

    async def _add_documents(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        home = body.get("externalHomeId")
        if not home:
            raise Problem(400, "Field 'externalHomeId' is required")
        if not isinstance(body.get("documents"), list) or not body["documents"]:
            raise Problem(400, "Field 'documents' is required")
        if self._find("homes", home) is None:
            raise Problem(404, f"Home with external ID '{home}' not found")
        made = [self._document(doc) for doc in body["documents"]]
        self.documents.setdefault(home, []).extend(made)
        return web.json_response(made)

    def _document(self, doc: Any) -> dict[str, Any]:
        if not isinstance(doc, dict):
            raise Problem(400, "Document must be an object")
        for name in ("category", "name", "url", "type", "shareable"):
            if doc.get(name) in (None, ""):
                raise Problem(400, f"Field 'documents.{name}' is required")
        if doc["type"] not in DOCUMENT_TYPES:
            raise Problem(400, "Invalid value for 'type' field")
        if doc["type"] == "AWS" and not doc.get("bucket"):
            raise Problem(400, "Field 'documents.bucket' is required for AWS documents")
        for name in ("displayStart", "displayEnd"):
            value = doc.get(name)
            if value and not re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", str(value)):
                raise Problem(400, f"Field '{name}' must be formatted YYYY-MM-DD HH:MM:SS.SSS")
        made = {**doc, "id": self.next_document_id}
        self.next_document_id += 1
        return made

    async def _home_documents(self, request: web.Request) -> web.Response:
        home = request.match_info["home"]
        if self._find("homes", home) is None:
            raise Problem(404, f"Home with external ID '{home}' not found")
        return web.json_response(self.documents.get(home, []))

    async def _delete_documents(self, request: web.Request) -> web.Response:
        home = request.match_info["home"]
        category, name = request.match_info.get("category"), request.match_info.get("name")
        kept = [
            d
            for d in self.documents.get(home, [])
            if not (
                (category is None or d["category"] == category)
                and (name is None or d["name"] == name)
            )
        ]
        removed = len(self.documents.get(home, [])) - len(kept)
        self.documents[home] = kept
        return web.json_response({"deleted": removed})

    async def _delete_document(self, request: web.Request) -> web.Response:
        ext = request.match_info["ext"]
        for home, docs in self.documents.items():
            kept = [d for d in docs if d.get("externalId") != ext]
            if len(kept) != len(docs):
                self.documents[home] = kept
                return web.json_response({"deleted": 1})
        raise Problem(404, f"Document with external ID '{ext}' not found")


def _full_name(owner: Mapping[str, Any]) -> str:
    """The guide's fullName: "Mr. John James Smith Jr." from the name parts."""
    parts = ("prefix", "firstName", "middleName", "lastName", "suffix")
    return " ".join(str(owner[p]) for p in parts if owner.get(p))


