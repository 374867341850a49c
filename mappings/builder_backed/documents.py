"""Builder Backed documents: a home's documents, display dates kept to the second."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from hub.errors import MappingError
from hub.models import (
    Document,
)
from mappings.builder_backed.tables import (
    DOCUMENT_TYPE_NAMES,
    DOCUMENT_TYPES,
    VENDOR,
)
from mappings.builder_backed.values import drop_none, optional_text, required_field

__all__ = ["from_document", "to_document"]

DISPLAY_FORMAT = "%Y-%m-%d %H:%M:%S"


def _display(value: Any) -> date | datetime | None:
    """The guide's "YYYY-MM-DD HH:MM:SS.SSS" with its time of day (a midnight is a day)."""
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value).replace(" ", "T", 1))
    return moment.date() if moment.time() == time() and moment.tzinfo is None else moment


def _stamp(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        return f"{value.isoformat()} 00:00:00.000"
    return f"{value.strftime(DISPLAY_FORMAT)}.{value.microsecond // 1000:03d}"


def to_document(payload: Mapping[str, Any], home_external_id: str) -> Document:
    """A document of a home as a Document."""
    raw_type = str(required_field(payload, "type"))
    storage = DOCUMENT_TYPES.get(raw_type)
    if storage is None:
        raise MappingError(f"unknown document type {raw_type!r}", vendor=VENDOR, entity="document")
    key = (
        optional_text(payload, "externalId") or f"{VENDOR}:document:{required_field(payload, 'id')}"
    )
    try:
        return Document(
            key=key,
            home_key=home_external_id,
            category=required_field(payload, "category"),
            name=required_field(payload, "name"),
            url=required_field(payload, "url"),
            storage=storage,
            bucket=optional_text(payload, "bucket"),
            shareable=bool(payload.get("shareable", False)),
            display_from=_display(payload.get("displayStart")),
            display_until=_display(payload.get("displayEnd")),
        )
    except ValueError as exc:
        raise MappingError(f"document {key}: {exc}", vendor=VENDOR, entity="document") from exc


def from_document(document: Document) -> dict[str, Any]:
    """A Document as an item of ``POST /api/v2/documents``' ``documents`` array."""
    return drop_none(
        {
            "externalId": document.key,
            "category": document.category,
            "name": document.name,
            "url": document.url,
            "type": DOCUMENT_TYPE_NAMES[document.storage],
            "shareable": document.shareable,
            "bucket": document.bucket,
            "displayStart": _stamp(document.display_from),
            "displayEnd": _stamp(document.display_until),
        }
    )
