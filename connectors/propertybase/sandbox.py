"""A local Propertybase GO API: ``X-BL-API-Key`` auth with per-resource permissions and the
status/message/data/errors envelope on every answer.

Documented by the vendor and implemented as documented: the header, JSON only (every call,
reads included, must say ``Content-Type: application/json``: 415 otherwise), GET/POST/PATCH
(PUT accepted)/DELETE, the envelope (``status`` success/failure/unauthorized, ``message``, ``data``
object or list, ``errors`` list of strings, the HTTP status never in the body), 401
``unauthorized`` naming the missing permission, unique office names, ``active_status`` and
``email`` filters, the lead-creation flags ``dont_send_email``, ``no_assignment_emails`` and
``no_followup_task`` (recorded per lead in the admin collection ``lead-side-effects``), and a
development's addresses and floor plans as resources nested under it (the change log of
09/25/2019), never inline in the development.

Our stated assumptions (the endpoint reference is not public; the connector keeps them
configurable), each the reading hardest on a client where the reference is silent:

- resources at ``/api/v2/{offices,agents,employees,teams,leads,developments}`` with ``/{id}``
  for one record; nested ``/api/v2/developments/{id}/{addresses,floor_plans}[/{nested_id}]``;
  Rails-style snake_case fields; validation failures answer 422;
- paging by ``page`` (from 1) and ``per_page`` (default 25, at most 100); an ``updated_since``
  (ISO 8601) filter and an ``updated_at`` on every record; a nested change does not move its
  development's ``updated_at``;
- the ``email`` filter matches loosely (case-insensitive, part of the address): a client must
  check what comes back; filters the reference does not name (``name`` on developments...) are
  ignored, so the whole list comes back;
- a body field the sandbox does not know is rejected (422), not dropped;
- a repeated create answers 409: a lead whose email (case-insensitive) another lead has, a
  development whose name another development has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from connectors.propertybase.sandbox_data import seeded_collections
from connectors.propertybase.sandbox_messages import (
    FIELDS,
    LEAD_FLAGS,
    NESTED,
    RESOURCES,
    SINGULAR,
    Failure,
    field_errors,
    filters,
    json_only,
    office_name_taken,
    refuse_repeat,
    stamp,
)
from connectors.propertybase.sandbox_nested import NestedRecords
from hub.sandbox.collection import Collection
from hub.sandbox.options import SandboxOptions
from hub.sandbox.query import BadParameter, int_param, time_param
from hub.sandbox.server import SandboxServer

__all__ = ["RESOURCES", "PropertybaseSandbox"]


class PropertybaseSandbox(SandboxServer):
    """Propertybase GO on loopback, seeded with ``size`` leads and the rest in proportion."""

    vendor = "propertybase"
    default_credentials = {"api_key": "pb-sandbox-key"}

    def __init__(
        self, options: SandboxOptions | None = None, credentials: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(options, credentials)
        default = {name: ["read", "write", "delete"] for name in RESOURCES}
        self.permissions: dict[str, list[str]] = {
            **default,
            **self.options.extra.get("permissions", {}),
        }
        self.collections = seeded_collections(self.options.size, self.options.seed)
        self.seeded_developments = self.collections["developments"].size
        self.nested = NestedRecords(self.options.seed, self.seeded_developments)
        self.side_effects = Collection("lead-side-effects", 0, lambda i: {})
        self.collections["lead-side-effects"] = self.side_effects
        #: a test switch: answer every write with HTTP 200 and a failure envelope
        self.fail_with_200 = False

    def nested_records(self, resource: str, development: int) -> list[dict[str, Any]]:
        """A development's nested records (a copy of the list; the records are shared)."""
        return self.nested.records(resource, development)

    # -- envelope and auth -------------------------------------------------------------------

    def _envelope(self, status: int, body: dict[str, Any]) -> web.Response:
        return web.json_response(body, status=status)

    def error_response(self, status: int, message: str) -> web.Response:
        """The failure envelope (429s and injected 5xx use it too)."""
        return self._envelope(
            status, {"status": "failure", "message": message, "errors": [message]}
        )

    def connector_table(self, tenant: int = 0) -> dict[str, Any]:
        """A connector config table pointing at this sandbox, as ``tenant``."""
        return {
            "type": "propertybase",
            "base_url": self.base_url,
            "api_key": self.tenant_credentials(tenant)["api_key"],
        }

    async def credential_of(self, request: web.Request) -> str | None:
        """The API key names the tenant."""
        return request.headers.get("X-BL-API-Key")

    def _authorize(self, request: web.Request, resource: str, action: str) -> None:
        if request.headers.get("X-BL-API-Key") != self.credentials["api_key"]:
            raise Failure(401, "Unauthorized", ["Invalid or missing API key"], "unauthorized")
        if action not in self.permissions.get(resource, []):
            verb = {"read": "read", "write": "create or update", "delete": "delete"}[action]
            raise Failure(
                401,
                f"{SINGULAR[resource]} not authorized",
                [f"API Key does not have permissions to {verb} {resource}"],
                "unauthorized",
            )

    def _route(
        self,
        resource: str,
        action: str,
        handler: Callable[[web.Request, str], Any],
        permission: str | None = None,
    ) -> Any:
        async def routed(request: web.Request) -> web.StreamResponse:
            try:
                self._authorize(request, permission or resource, action)
                json_only(request, resource)
                status, message, data = await handler(request, resource)
            except (Failure, BadParameter) as caught:
                failure = (
                    caught
                    if isinstance(caught, Failure)
                    else Failure(400, "Invalid parameters", [str(caught)])
                )
                return self._envelope(
                    failure.status,
                    {"status": failure.kind, "message": failure.message, "errors": failure.errors},
                )
            return self._envelope(status, {"status": "success", "message": message, "data": data})

        return routed

    def add_routes(self, app: web.Application) -> None:
        """Index, show, create, update (PATCH or PUT) and delete for every resource, and for
        the addresses and floor plans nested under each development."""
        for resource in RESOURCES:
            base = f"/api/v2/{resource}"
            self._crud(app, base, resource, resource, self._index, self._show)
        for nested in NESTED:
            base = f"/api/v2/developments/{{development}}/{nested}"
            self._crud(app, base, nested, "developments", self._nested_index, self._show)

    def _crud(
        self,
        app: web.Application,
        base: str,
        resource: str,
        permission: str,
        index: Callable[[web.Request, str], Any],
        show: Callable[[web.Request, str], Any],
    ) -> None:
        def route(action: str, handler: Callable[[web.Request, str], Any]) -> Any:
            return self._route(resource, action, handler, permission)

        app.router.add_get(base, route("read", index))
        app.router.add_get(base + "/{id}", route("read", show))
        app.router.add_post(base, route("write", self._create))
        app.router.add_patch(base + "/{id}", route("write", self._update))
        app.router.add_put(base + "/{id}", route("write", self._update))
        app.router.add_delete(base + "/{id}", route("delete", self._delete))

    # -- handlers ----------------------------------------------------------------------------

    def _present(self, resource: str, record_id: int, record: dict[str, Any]) -> dict[str, Any]:
        if resource in NESTED:
            return dict(record)
        updated = self.collections[resource].updated_at(record_id)
        return {**record, "updated_at": stamp(updated)}

    async def _index(self, request: web.Request, resource: str) -> tuple[int, str, Any]:
        query = request.query
        page = int_param(query, "page", 1, 1)
        per_page = int_param(query, "per_page", 25, 1, 100)
        since = time_param(query, "updated_since")
        collection = self.collections[resource]
        tests = filters(query)
        ids = None
        if tests:
            ids = [
                i for i in collection.ids(since) if all(t(collection.get(i) or {}) for t in tests)
            ]
        pairs, total = collection.page_items((page - 1) * per_page, per_page, since, ids=ids)
        data = [self._present(resource, i, r) for i, r in pairs]
        return 200, f"{len(data)} of {total} {resource}", data

    async def _nested_index(self, request: web.Request, resource: str) -> tuple[int, str, Any]:
        records = self.nested_records(resource, self._development_of(request))
        page = int_param(request.query, "page", 1, 1)
        per_page = int_param(request.query, "per_page", 25, 1, 100)
        data = records[(page - 1) * per_page : page * per_page]
        return 200, f"{len(data)} of {len(records)} {resource}", data

    def _development_of(self, request: web.Request) -> int:
        raw = request.match_info["development"]
        if not raw.isdigit() or self.collections["developments"].get(int(raw)) is None:
            raise Failure(404, "Development not found", [f"Development {raw} does not exist"])
        return int(raw)

    def _find(self, request: web.Request, resource: str) -> tuple[int, dict[str, Any]]:
        raw = request.match_info["id"]
        record: dict[str, Any] | None = None
        if raw.isdigit() and resource in NESTED:
            records = self.nested_records(resource, self._development_of(request))
            record = next((r for r in records if r["id"] == int(raw)), None)
        elif raw.isdigit():
            record = self.collections[resource].get(int(raw))
        if record is None:
            raise Failure(
                404,
                f"{SINGULAR[resource]} not found",
                [f"{SINGULAR[resource]} {raw} does not exist"],
            )
        return int(raw), record

    async def _show(self, request: web.Request, resource: str) -> tuple[int, str, Any]:
        record_id, record = self._find(request, resource)
        return 200, f"{SINGULAR[resource]} found", self._present(resource, record_id, record)

    async def _body(self, request: web.Request, resource: str, verb: str) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise Failure(400, f"{SINGULAR[resource]} not {verb}", ["Malformed JSON"]) from None
        if not isinstance(body, dict):
            raise Failure(400, f"{SINGULAR[resource]} not {verb}", ["Body must be an object"])
        if self.fail_with_200:
            raise Failure(200, f"{SINGULAR[resource]} not {verb}", ["Record is locked"])
        return body

    def _validate(
        self, resource: str, body: dict[str, Any], verb: str, record_id: int | None, creating: bool
    ) -> dict[str, Any]:
        errors = field_errors(resource, body, creating)
        if (
            resource == "offices"
            and body.get("name")
            and office_name_taken(self.collections["offices"], str(body["name"]), record_id)
        ):
            errors.append("Office name must be unique")
        if errors:
            raise Failure(422, f"{SINGULAR[resource]} not {verb}", errors)
        return {k: body[k] for k in FIELDS[resource] if k in body}

    async def _create(self, request: web.Request, resource: str) -> tuple[int, str, Any]:
        body = await self._body(request, resource, "created")
        fields = self._validate(resource, body, "created", None, creating=True)
        if resource in NESTED:
            made = self.nested.add(resource, self._development_of(request), fields)
            return 201, f"{SINGULAR[resource]} created", made
        refuse_repeat(self.collections[resource], resource, fields)
        record = self.collections[resource].create(lambda i: {"id": i, "active": True, **fields})
        if resource == "leads":
            flags = {flag: bool(body.get(flag, False)) for flag in LEAD_FLAGS}
            self.side_effects.create(
                lambda i: {
                    "id": i,
                    "lead_id": record["id"],
                    **flags,
                    "emails_sent": not flags["dont_send_email"],
                    "followup_task": not flags["no_followup_task"],
                }
            )
        return 201, f"{SINGULAR[resource]} created", self._present(resource, record["id"], record)

    async def _update(self, request: web.Request, resource: str) -> tuple[int, str, Any]:
        record_id, record = self._find(request, resource)
        body = await self._body(request, resource, "updated")
        fields = self._validate(resource, body, "updated", record_id, creating=False)
        if resource in NESTED:
            updated = {**record, **fields}
            self.nested.replace(resource, self._development_of(request), record_id, updated)
            return 200, f"{SINGULAR[resource]} updated", updated
        updated = self.collections[resource].put(record_id, {**record, **fields})
        return 200, f"{SINGULAR[resource]} updated", self._present(resource, record_id, updated)

    async def _delete(self, request: web.Request, resource: str) -> tuple[int, str, Any]:
        record_id, _ = self._find(request, resource)
        if resource in NESTED:
            self.nested.remove(resource, self._development_of(request), record_id)
        else:
            self.collections[resource].delete(record_id)
        return 200, f"{SINGULAR[resource]} deleted", {"id": record_id}
