"""What a Builder Backed read yields: a page's content, and the records each payload maps to."""

from __future__ import annotations

from typing import Any

from hub.client.paging import Counted
from hub.client.response import Response
from hub.connector import ReadFailure, SourceRecord, parse_timestamp, safe_record
from mappings import builder_backed as m

__all__ = ["document_records", "home_records", "page_content", "payload_field"]


def page_content(response: Response) -> Counted:
    """A page's ``content`` list, with its ``totalElements`` where that is a valid count."""
    data = response.json()
    content = data.get("content") if isinstance(data, dict) else data
    total = data.get("totalElements") if isinstance(data, dict) else None
    valid = isinstance(total, int) and not isinstance(total, bool) and total >= 0
    if not isinstance(content, list):
        raise response.unexpected("expected a page with a content list")
    return Counted(content, total if valid else None)


def home_records(entity: str, payload: Any) -> list[SourceRecord | ReadFailure]:
    """The home, or its homeowners, that one home payload yields."""
    if not isinstance(payload, dict):
        return [ReadFailure("?", f"malformed payload: a home is not an object: {payload!r:.80}")]
    home = str(payload.get("externalId"))
    stamp = parse_timestamp(payload.get("updatedAt"))
    if entity == "home":
        return [safe_record(lambda: m.to_home(payload), home, stamp, payload)]
    owners = payload.get("homeowners")
    if owners is not None and not isinstance(owners, list):
        return [ReadFailure(home, f"malformed payload: homeowners is not a list: {owners!r:.80}")]
    return [
        safe_record(
            lambda o=owner: m.to_homeowner(o, home),  # type: ignore[misc]
            f"{home}/{_email_of(owner)}",
            stamp,
            owner,
        )
        for owner in owners or []
    ]


def document_records(docs: list[dict[str, Any]], home: str) -> list[SourceRecord | ReadFailure]:
    """The documents the vendor lists for one home."""
    return [
        safe_record(
            lambda d=doc: m.to_document(d, home),  # type: ignore[misc]
            _document_id(doc),
            None,
            doc,
        )
        for doc in docs
    ]


def payload_field(payload: Any, name: str) -> Any:
    """A field of a payload that may not be an object (a read failure's key, then)."""
    return payload.get(name) if isinstance(payload, dict) else None


def _email_of(owner: Any) -> str:
    return str(owner.get("email", "")).lower() if isinstance(owner, dict) else "?"


def _document_id(doc: Any) -> str:
    return str(doc.get("externalId") or doc.get("id")) if isinstance(doc, dict) else "?"
