"""Propertybase GO's request messages in the sandbox: the fields each resource takes, checks.

A refused message is a ``Failure``, which the server answers in the failure (or unauthorized)
envelope. A field the sandbox does not know is refused (422), the reading hardest on a client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hub.sandbox.collection import Collection

__all__ = [
    "CREATE_ONLY",
    "FIELDS",
    "LEAD_FLAGS",
    "NATURAL_KEYS",
    "NESTED",
    "REQUIRED",
    "RESOURCES",
    "SINGULAR",
    "Failure",
    "field_errors",
    "filters",
    "json_only",
    "office_name_taken",
    "refuse_repeat",
    "stamp",
]

RESOURCES = ("offices", "agents", "employees", "teams", "leads", "developments")
SINGULAR = {
    "offices": "Office",
    "agents": "Agent",
    "employees": "Employee",
    "teams": "Team",
    "leads": "Lead",
    "developments": "Development",
    "addresses": "Development address",
    "floor_plans": "Development floor plan",
}
REQUIRED = {
    "offices": ("name",),
    "agents": ("first_name", "last_name", "email"),
    "employees": ("first_name", "last_name", "email"),
    "teams": ("name",),
    "leads": ("first_name", "last_name", "email"),
    "developments": ("name",),
    "addresses": ("street",),
    "floor_plans": ("name",),
}
FIELDS = {
    "offices": ("name", "email", "phone", "address", "active"),
    "agents": (
        "first_name",
        "last_name",
        "email",
        "phone",
        "office_id",
        "team_id",
        "title",
        "active",
    ),
    "employees": ("first_name", "last_name", "email", "phone", "office_id", "title", "active"),
    "teams": ("name", "email", "phone", "team_office_id", "active"),
    "leads": (
        "first_name",
        "last_name",
        "email",
        "phone",
        "agent_id",
        "agent_email",
        "team_id",
        "source",
        "status",
        "notes",
        "address",
        "bold_leads_id",
    ),
    "developments": ("name", "description", "status", "active"),
    "addresses": ("street", "city", "state", "zip", "country"),
    "floor_plans": ("name", "bedrooms", "bathrooms", "square_feet", "price"),
}
LEAD_FLAGS = ("dont_send_email", "no_assignment_emails", "no_followup_task")
#: fields a create accepts beyond the record's own (documented POST parameters)
CREATE_ONLY = {
    "leads": (*LEAD_FLAGS, "search_attributes", "home_valuation_attributes"),
    "agents": ("no_assignment_emails",),
}
#: resources nested under a development (the change log's DevelopmentAddress, ...FloorPlans)
NESTED = ("addresses", "floor_plans")
#: resource -> the field a repeated create is recognised by (409)
NATURAL_KEYS = {"leads": "email", "developments": "name"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Failure(Exception):
    """An answer in the failure or unauthorized envelope."""

    def __init__(self, status: int, message: str, errors: list[str], kind: str = "failure") -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.kind = status, message, errors, kind


def stamp(moment: datetime) -> str:
    """A moment as Propertybase writes it (ISO 8601, UTC, ``Z``)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_only(request: web.Request, resource: str) -> None:
    """The overview: every call, reads included, says ``Content-Type: application/json``."""
    if request.content_type != "application/json":
        raise Failure(
            415,
            f"{SINGULAR[resource]} request refused",
            ["Requests must be JSON (Content-Type: application/json)"],
        )


def field_errors(resource: str, body: Mapping[str, Any], creating: bool) -> list[str]:
    """What is wrong with a body's fields: unknown, blank where required, a bad email."""
    known = (*FIELDS[resource], *(CREATE_ONLY.get(resource, ()) if creating else ()))
    errors = [f"unknown attribute '{name}'" for name in body if name not in known]
    errors += [
        f"{name} can't be blank" for name in REQUIRED[resource] if creating and not body.get(name)
    ]
    if body.get("email") and not EMAIL.match(str(body["email"])):
        errors.append("email is invalid")
    return errors


def office_name_taken(offices: Collection, name: str, record_id: int | None) -> bool:
    """Whether another office already has the name (office names are unique)."""
    return any((offices.get(i) or {}).get("name") == name and i != record_id for i in offices.ids())


def refuse_repeat(collection: Collection, resource: str, fields: Mapping[str, Any]) -> None:
    """409 for a create that repeats an existing record's natural key."""
    field = NATURAL_KEYS.get(resource)
    if field is None:
        return
    wanted = str(fields[field])
    fold = str.lower if field == "email" else str
    for i in collection.ids():
        if fold(str((collection.get(i) or {}).get(field, ""))) == fold(wanted):
            raise Failure(
                409,
                f"{SINGULAR[resource]} not created",
                [f"{field} has already been taken by {SINGULAR[resource].lower()} {i}"],
            )


def filters(query: Mapping[str, str]) -> list[Callable[[dict[str, Any]], bool]]:
    """The documented filters; any other query parameter is ignored, as a server that does
    not know it would."""
    tests: list[Callable[[dict[str, Any]], bool]] = []
    status = query.get("active_status")
    if status in ("active", "inactive"):
        tests.append(lambda r: bool(r.get("active", True)) == (status == "active"))
    elif status not in (None, "all"):
        raise Failure(400, "Invalid parameters", [f"active_status '{status}' is not valid"])
    if "email" in query:
        # How the email filter matches is not documented: loosely (a search box would).
        wanted = query["email"].lower()
        tests.append(lambda r: wanted in str(r.get("email", "")).lower())
    return tests
