"""Builder Backed's request messages in the sandbox: the fields each may carry, and checks.

A refused message is a ``Problem``, which the server answers in our stated error shape. Where
the guide is silent the reading hardest on a client holds: a field it does not name is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from connectors.builder_backed.sandbox_data import HOME_TYPES, HOMEOWNER_TYPES

__all__ = [
    "DEFAULT_DETAILS",
    "DOCUMENT_TYPES",
    "HOMEOWNER_FIELDS",
    "OPTIONAL",
    "REQUIRED",
    "SINGULAR",
    "Problem",
    "check_document",
    "check_fields",
    "check_home",
    "check_owner",
    "full_name",
    "json_body",
    "owner_list",
    "stamp",
]

DEFAULT_DETAILS = ("AgreementApprovalDate", "SurveyHomeType", "Elevation", "Lot", "Block")
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
DOCUMENT_TYPES = ("EXTERNAL_URL", "AWS", "SAPPHIRE", "BUILDERBACKED")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

SINGULAR = {
    "divisions": "Division",
    "master-communities": "Master community",
    "neighborhoods": "Neighborhood",
    "homes": "Home",
}
REQUIRED = {
    "divisions": ("externalId", "name", "regionName"),
    "master-communities": ("externalId", "name", "divisionExternalId"),
    "neighborhoods": ("externalId", "name", "masterCommunityExternalId"),
    "homes": (
        "externalId",
        "addressLine1",
        "city",
        "state",
        "postalCode",
        "type",
        "neighborhoodExternalId",
    ),
}
OPTIONAL = {
    "divisions": ("displayName", "abbreviatedName"),
    "master-communities": ("displayName", "abbreviatedName"),
    "neighborhoods": ("displayName", "abbreviatedName"),
    "homes": (
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


class Problem(Exception):
    """A request the vendor refuses: becomes an error response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def stamp(moment: datetime) -> str:
    """A moment as Builder Backed writes it (ISO 8601, UTC, ``Z``)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def full_name(owner: Mapping[str, Any]) -> str:
    """The guide's fullName: "Mr. John James Smith Jr." from the name parts."""
    parts = ("prefix", "firstName", "middleName", "lastName", "suffix")
    return " ".join(str(owner[p]) for p in parts if owner.get(p))


async def _json(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise Problem(415, "Content-Type must be application/json")
    try:
        return await request.json()
    except ValueError:
        raise Problem(400, "Malformed JSON body") from None


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object."""
    body = await _json(request)
    if not isinstance(body, dict):
        raise Problem(400, "Request body must be a JSON object")
    return body


async def owner_list(request: web.Request) -> list[Any]:
    """The request's non-empty JSON array of homeowners."""
    payload = await _json(request)
    if not isinstance(payload, list) or not payload:
        raise Problem(400, "Request body must be a non-empty array of homeowners")
    return payload


def check_fields(level: str, body: Mapping[str, Any]) -> None:
    """Refuse a level's body missing a required field or carrying an unknown one."""
    for name in REQUIRED[level]:
        if body.get(name) in (None, ""):
            raise Problem(400, f"Field '{name}' is required")
    unknown = set(body) - set(REQUIRED[level]) - set(OPTIONAL[level])
    if unknown:
        raise Problem(400, f"Unknown field '{sorted(unknown)[0]}'")


def check_home(body: Mapping[str, Any], allowed_details: frozenset[str]) -> None:
    """Refuse a home's type, state, homeDetails keys or homeowners the guide would refuse."""
    if body["type"] not in HOME_TYPES:
        raise Problem(400, "Invalid value for 'type' field")
    if not re.fullmatch(r"[A-Z]{2}", str(body["state"])):
        raise Problem(400, "Field 'state' must be a 2-letter code")
    details = body.get("homeDetails") or {}
    if not isinstance(details, dict) or set(details) - allowed_details:
        bad = sorted(set(details) - allowed_details) if isinstance(details, dict) else []
        raise Problem(400, f"homeDetails key '{bad[0] if bad else '?'}' is not configured")
    for owner in body.get("homeowners") or []:
        check_owner(owner)


def check_owner(owner: Any) -> None:
    """Refuse a homeowner object the guide would refuse."""
    if not isinstance(owner, dict):
        raise Problem(400, "Homeowner must be an object")
    unknown = sorted(set(owner) - set(HOMEOWNER_FIELDS))
    if unknown:
        raise Problem(400, f"Unknown field 'homeowners.{unknown[0]}'")
    if "defaultHome" in owner and not isinstance(owner["defaultHome"], bool):
        raise Problem(400, "Invalid value for 'defaultHome' field")
    for name in ("email", "firstName", "lastName"):
        if not owner.get(name):
            raise Problem(400, f"Field 'homeowners.{name}' is required")
    if not EMAIL.match(str(owner["email"])):
        raise Problem(400, "Email address is invalid")
    if owner.get("homeownerType", "PRIMARY") not in HOMEOWNER_TYPES:
        raise Problem(400, "Invalid value for 'homeownerType' field")


def check_document(doc: Any) -> dict[str, Any]:
    """A document object the guide would accept, refused otherwise."""
    if not isinstance(doc, dict):
        raise Problem(400, "Document must be an object")
    for name in ("category", "name", "url", "type", "shareable"):
        if doc.get(name) in (None, ""):
            raise Problem(400, f"Field 'documents.{name}' is required")
    if doc["type"] not in DOCUMENT_TYPES:
        raise Problem(400, "Invalid value for 'type' field")
    if doc["type"] == "AWS" and not doc.get("bucket"):
        raise Problem(400, "Field 'documents.bucket' is required for AWS documents")
    for name in ("displayStart", "displayEnd"):
        value = doc.get(name)
        if value and not re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", str(value)):
            raise Problem(400, f"Field '{name}' must be formatted YYYY-MM-DD HH:MM:SS.SSS")
    return doc
