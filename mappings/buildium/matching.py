"""Exact matching of look-up candidates, and whether an owner lives in their unit.

Buildium's name and email filters match records that *contain* the value: every candidate
is checked here, and only an exact match counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.models import Person
from mappings.buildium.values import to_address

__all__ = ["email_matches", "name_matches", "occupies"]


def occupies(person: Person, unit: Mapping[str, Any]) -> bool:
    """Whether a homeowner lives in the unit: their mailing address is the unit's."""
    home = to_address(unit.get("Address")) if isinstance(unit.get("Address"), Mapping) else None
    mine = person.address
    if home is None or mine is None:
        return False

    def same(a: str | None, b: str | None) -> bool:
        return " ".join((a or "").lower().split()) == " ".join((b or "").lower().split())

    return (
        same(mine.line1, home.line1)
        and same(mine.line2, home.line2)
        and same((mine.postal_code or "")[:5], (home.postal_code or "")[:5])
    )


def email_matches(payload: Mapping[str, Any], email: str) -> bool:
    """Whether a record's email is this one (case-insensitive, around whitespace)."""
    mine = str(payload.get("Email") or "").strip().lower()
    return bool(mine) and mine == email.strip().lower()


def name_matches(value: Any, name: str) -> bool:
    """Whether a name is this one after trimming (and inner runs of spaces made one)."""
    return isinstance(value, str) and " ".join(value.split()) == " ".join(name.split())
