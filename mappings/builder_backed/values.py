"""Builder Backed field values: required and optional fields, and the keys the hub makes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import MappingError
from mappings.builder_backed.tables import VENDOR

__all__ = ["drop_none", "homeowner_key", "optional_text", "region_key", "required_field"]


def required_field(payload: Mapping[str, Any], name: str) -> Any:
    """A field the payload must carry; a MappingError when it is missing."""
    value = payload.get(name)
    if value is None:
        raise MappingError(f"missing {name!r}", vendor=VENDOR)
    return value


def optional_text(payload: Mapping[str, Any], name: str) -> str | None:
    """A field as text, or None when it is missing or empty."""
    value = payload.get(name)
    return str(value) if value not in (None, "") else None


def drop_none(payload: dict[str, Any]) -> dict[str, Any]:
    """The body without its None values (the vendor is not sent nulls)."""
    return {k: v for k, v in payload.items() if v is not None}


def region_key(region_id: int | str) -> str:
    """The canonical key of a Builder Backed region."""
    return f"{VENDOR}:region:{region_id}"


def homeowner_key(home_external_id: str, email: str) -> str:
    """The canonical key of a homeowner of a home."""
    return f"{VENDOR}:homeowner:{home_external_id}:{email.lower()}"
