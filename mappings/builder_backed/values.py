"""Builder Backed field values: required and optional fields, and the keys the hub makes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import MappingError
from mappings.builder_backed.tables import VENDOR

__all__ = ["homeowner_key", "region_key"]


def _get(payload: Mapping[str, Any], name: str) -> Any:
    value = payload.get(name)
    if value is None:
        raise MappingError(f"missing {name!r}", vendor=VENDOR)
    return value


def _opt(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return str(value) if value not in (None, "") else None


def _drop_none(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if v is not None}


def region_key(region_id: int | str) -> str:
    """The canonical key of a Builder Backed region."""
    return f"{VENDOR}:region:{region_id}"


def homeowner_key(home_external_id: str, email: str) -> str:
    """The canonical key of a homeowner of a home."""
    return f"{VENDOR}:homeowner:{home_external_id}:{email.lower()}"
