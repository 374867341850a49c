"""The Builder Backed sandbox's documents: added to a home, listed, and the four DELETE forms."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connectors.builder_backed.sandbox_messages import Problem, check_document, json_body
from connectors.builder_backed.sandbox_records import BuilderBackedRecords

__all__ = ["SandboxDocuments"]


class SandboxDocuments:
    """Each home's documents, by the home's externalId, and their request handlers."""

    def __init__(self, records: BuilderBackedRecords) -> None:
        self.records = records
        self.by_home: dict[str, list[dict[str, Any]]] = {}
        self.next_id = 1

    def _home(self, home: str) -> None:
        if self.records.find("homes", home) is None:
            raise Problem(404, f"Home with external ID '{home}' not found")

    async def add(self, request: web.Request) -> web.Response:
        """``POST /api/v2/documents``: a home's new documents, each given an id."""
        body = await json_body(request)
        home = body.get("externalHomeId")
        if not home:
            raise Problem(400, "Field 'externalHomeId' is required")
        if not isinstance(body.get("documents"), list) or not body["documents"]:
            raise Problem(400, "Field 'documents' is required")
        self._home(home)
        made = [self._made(check_document(doc)) for doc in body["documents"]]
        self.by_home.setdefault(home, []).extend(made)
        return web.json_response(made)

    def _made(self, doc: dict[str, Any]) -> dict[str, Any]:
        made = {**doc, "id": self.next_id}
        self.next_id += 1
        return made

    async def of_home(self, request: web.Request) -> web.Response:
        """``GET /api/v2/documents/externalHome/{home}``."""
        home = request.match_info["home"]
        self._home(home)
        return web.json_response(self.by_home.get(home, []))

    async def delete_of_home(self, request: web.Request) -> web.Response:
        """A home's documents: all of them, or one category's, or one name's."""
        home = request.match_info["home"]
        category, name = request.match_info.get("category"), request.match_info.get("name")
        kept = [
            d
            for d in self.by_home.get(home, [])
            if not (
                (category is None or d["category"] == category)
                and (name is None or d["name"] == name)
            )
        ]
        removed = len(self.by_home.get(home, [])) - len(kept)
        self.by_home[home] = kept
        return web.json_response({"deleted": removed})

    async def delete_one(self, request: web.Request) -> web.Response:
        """``DELETE /api/v2/documents/{ext}``: one document, by its externalId."""
        ext = request.match_info["ext"]
        for home, docs in self.by_home.items():
            kept = [d for d in docs if d.get("externalId") != ext]
            if len(kept) != len(docs):
                self.by_home[home] = kept
                return web.json_response({"deleted": 1})
        raise Problem(404, f"Document with external ID '{ext}' not found")
