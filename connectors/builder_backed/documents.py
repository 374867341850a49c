"""Builder Backed documents: listed per home, written by delete and re-add, deleted by form."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connectors.builder_backed.updates import unchanged
from connectors.builder_backed.writes import send
from hub.client.vendor import VendorClient
from hub.connector import WriteAction, WriteResult
from hub.errors import MissingParent, NotFound, UnsupportedValue
from hub.models import Document
from mappings import builder_backed as m

__all__ = ["Documents"]


class Documents:
    """A Builder Backed connector's document calls."""

    def __init__(self, client: VendorClient, vendor: str) -> None:
        self.client, self.vendor = client, vendor

    async def of_home(self, home: str) -> list[dict[str, Any]]:
        """The home's documents as the vendor lists them."""
        response = await self.client.request("GET", f"/api/v2/documents/externalHome/{home}")
        data = response.json()
        # Read as none, a home's documents would look gone (and a write would add copies).
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise response.unexpected("expected a list of document objects")
        return data

    async def find(self, home: str, key: str) -> dict[str, Any] | None:
        """The home's document of that externalId; a home the vendor lacks is a MissingParent."""
        try:
            docs = await self.of_home(home)
        except NotFound:
            raise MissingParent(
                "home not found", vendor=self.vendor, messages=[f"home {home}"]
            ) from None
        return next((d for d in docs if d.get("externalId") == key), None)

    async def write(self, document: Document) -> WriteResult:
        """Add the document, or replace it when it differs."""
        body = m.from_document(document)
        current = await self.find(document.home_key, document.key)
        if current is not None:
            if unchanged(body, current):
                return WriteResult(document.key, WriteAction.UNCHANGED)
            # Documents have no update call: delete and re-add (the guide's advice).
            await self.client.request("DELETE", f"/api/v2/documents/{document.key}")
        await send(
            self.client,
            "POST",
            "/api/v2/documents",
            {"externalHomeId": document.home_key, "documents": [body]},
            create=True,
        )
        action = WriteAction.CREATED if current is None else WriteAction.UPDATED
        return WriteResult(document.key, action)

    async def delete(self, ref: str) -> None:
        """Delete one document by its externalId."""
        await self.client.request("DELETE", f"/api/v2/documents/{quote(ref, safe='')}")

    async def delete_of_home(
        self, home: str, *, category: str | None = None, name: str | None = None
    ) -> None:
        """All of a home's documents, or those of one category, or those of one name."""
        if category is not None and name is not None:
            raise UnsupportedValue(
                "Builder Backed deletes a home's documents by category or by name, not both",
                vendor=self.vendor,
            )
        path = f"/api/v2/documents/externalHome/{quote(home, safe='')}"
        if category is not None:
            path += f"/category/{quote(category, safe='')}"
        elif name is not None:
            path += f"/name/{quote(name, safe='')}"
        await self.client.request("DELETE", path)
