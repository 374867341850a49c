"""Buildium refs: ids from refs and keys, an association owner's ref, and which owner API."""

from __future__ import annotations

from typing import Any

from hub.models import Person, RoleKind

__all__ = ["id_of", "is_rental_owner", "owner_ref"]


def id_of(ref: str | None, collection: str) -> int | None:
    """A Buildium id from a ref or a canonical key of that collection."""
    if ref is None:
        return None
    tail = ref.removeprefix(f"buildium:{collection}:")
    return int(tail) if tail.isdigit() else None


def owner_ref(owner: dict[str, Any]) -> str:
    """An association owner's ref: its id, and its one active ownership account's where it
    has exactly one (the unit <-> account <-> owner chain)."""
    accounts = [
        a["Id"]
        for a in owner.get("OwnershipAccounts") or []
        if isinstance(a, dict)
        and isinstance(a.get("Id"), int)
        and a.get("Status") in (None, "Active")
    ]
    return f"{owner['Id']}/{accounts[0]}" if len(accounts) == 1 else str(owner["Id"])


def is_rental_owner(person: Person) -> bool:
    """A rental owner who is not also an association owner or homeowner."""
    roles = {r.kind for r in person.roles}
    return RoleKind.RENTAL_OWNER in roles and not roles & {
        RoleKind.ASSOCIATION_OWNER,
        RoleKind.HOMEOWNER,
    }
