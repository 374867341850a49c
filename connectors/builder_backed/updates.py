"""Builder Backed's read-modify-write: an update that loses nothing, sent only when it
changes something.

The guide does not say a PUT merges, so an update carries the vendor's current value of every
writable field the hub leaves out; and a body whose every field already holds is not sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import AmbiguousMatch
from mappings import builder_backed as m

__all__ = ["HOMEOWNER_FIELDS", "WRITABLE", "owner_by_email", "unchanged", "update_body"]

#: what each level's PUT carries (the guide's create fields): where the hub leaves one out, an
#: update sends the vendor's current value, in case a PUT replaces the whole record
WRITABLE = {
    "divisions": ("externalId", "name", "regionName", "displayName", "abbreviatedName"),
    "master-communities": (
        "externalId",
        "name",
        "divisionExternalId",
        "displayName",
        "abbreviatedName",
    ),
    "neighborhoods": (
        "externalId",
        "name",
        "masterCommunityExternalId",
        "displayName",
        "abbreviatedName",
    ),
    "homes": (
        *m.REQUIRED_HOME_FIELDS,
        "addressLine2",
        "marketHome",
        "jobId",
        "productCollection",
        "model",
        "closingDate",
        "scheduledClosingDate",
        "homeDetails",
        "homeowners",
    ),
}
#: what a homeowner body may carry (``fullName`` is "response only" in the guide)
HOMEOWNER_FIELDS = (
    "email",
    "firstName",
    "lastName",
    "middleName",
    "prefix",
    "suffix",
    "homeownerType",
    "defaultHome",
)


def unchanged(sent: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether every field we would send already has that value at the vendor (of
    ``homeDetails``, the keys we send; homeowners are compared on their own)."""
    for name, value in sent.items():
        if name == "homeowners":
            continue
        held = current.get(name)
        if name == "homeDetails":
            held = held if isinstance(held, dict) else {}
            if any(not _equal(v, held.get(k)) for k, v in value.items()):
                return False
        elif not _equal(value, held):
            return False
    return True


def _equal(a: Any, b: Any) -> bool:
    return bool(a == b)


def update_body(
    level: str, body: dict[str, Any], current: Mapping[str, Any] | None
) -> dict[str, Any]:
    """An update body that loses nothing: the vendor's current value of every writable field
    the body leaves out, its other ``homeDetails`` keys, and (for a home) its homeowners."""
    if current is None:
        return body
    kept = {k: current[k] for k in WRITABLE[level] if current.get(k) is not None}
    merged = {**kept, **body}
    if level == "homes":
        held = current.get("homeDetails")
        if isinstance(held, dict) and held:
            merged["homeDetails"] = {**held, **body.get("homeDetails", {})}
        owners = body["homeowners"] if "homeowners" in body else current.get("homeowners")
        merged["homeowners"] = [
            {k: v for k, v in o.items() if k in HOMEOWNER_FIELDS}
            for o in owners or []
            if isinstance(o, dict)
        ]
        if not merged["homeowners"]:
            del merged["homeowners"]
    return merged


def owner_by_email(
    home: Mapping[str, Any], email: str, home_ref: str, vendor: str
) -> dict[str, Any] | None:
    """The home's homeowner with this email (case-insensitive, blanks aside), if any; two
    such homeowners are an ambiguity, never a guess."""
    wanted = email.strip().casefold()
    found = [
        o
        for o in home.get("homeowners") or []
        if isinstance(o, dict) and str(o.get("email", "")).strip().casefold() == wanted
    ]
    if len(found) > 1:
        raise AmbiguousMatch(
            f"ambiguous match: {len(found)} homeowners of home {home_ref} have email {email!r}",
            candidates=[f"{home_ref}/{o.get('email')}" for o in found],
            vendor=vendor,
        )
    return found[0] if found else None
