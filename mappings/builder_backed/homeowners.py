"""Builder Backed homeowners: people keyed by their home and email."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import MappingError, UnsupportedValue
from hub.models import (
    HomeownerType,
    Person,
    PersonRole,
    RoleKind,
)
from mappings.builder_backed.tables import (
    HOMEOWNER_TYPE_NAMES,
    HOMEOWNER_TYPES,
    VENDOR,
    log,
)
from mappings.builder_backed.values import drop_none, homeowner_key, optional_text, required_field

__all__ = ["from_homeowner", "to_homeowner"]


def to_homeowner(payload: Mapping[str, Any], home_external_id: str) -> Person:
    """A homeowner of a home as a Person with a homeowner role."""
    email = str(required_field(payload, "email"))
    raw_type = payload.get("homeownerType")
    rank = HOMEOWNER_TYPES.get(str(raw_type)) if raw_type else None
    if raw_type and rank is None:
        log.warning("unknown homeowner type", vendor=VENDOR, value=raw_type)
        rank = HomeownerType.OTHER
    default_home = payload.get("defaultHome")
    try:
        role = PersonRole(
            kind=RoleKind.HOMEOWNER,
            home_key=home_external_id,
            homeowner_type=rank,
            raw=str(raw_type) if raw_type and str(raw_type) not in HOMEOWNER_TYPES else None,
            default_home=default_home,
        )
        return Person(
            key=homeowner_key(home_external_id, email),
            prefix=optional_text(payload, "prefix"),
            first_name=payload.get("firstName") or "",
            middle_name=optional_text(payload, "middleName"),
            last_name=payload.get("lastName") or "",
            suffix=optional_text(payload, "suffix"),
            emails=[email],
            roles=[role],
        )
    except ValueError as exc:
        raise MappingError(f"homeowner: {exc}", vendor=VENDOR, entity="person") from exc


def from_homeowner(person: Person, home_ref: str | None = None) -> dict[str, Any]:
    """A Person as a homeowner body (email, first and last name required)."""
    if not person.emails:
        raise UnsupportedValue(
            f"{person.key}: Builder Backed homeowners need an email", vendor=VENDOR
        )
    if not (person.first_name and person.last_name):
        raise UnsupportedValue(
            f"{person.key}: Builder Backed homeowners need first and last names", vendor=VENDOR
        )
    role = next(
        (
            r
            for r in person.roles
            if r.kind is RoleKind.HOMEOWNER and (home_ref is None or r.home_key == home_ref)
        ),
        None,
    )
    rank = role.homeowner_type if role and role.homeowner_type else None
    return drop_none(
        {
            "email": person.emails[0],
            "prefix": person.prefix,
            "firstName": person.first_name,
            "middleName": person.middle_name,
            "lastName": person.last_name,
            "suffix": person.suffix,
            "homeownerType": HOMEOWNER_TYPE_NAMES[rank] if rank else None,
            "defaultHome": role.default_home if role else None,
        }
    )
