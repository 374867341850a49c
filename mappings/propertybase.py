"""Propertybase GO payloads <-> the canonical model. Pure functions, no I/O.

Field names follow our stated assumption of Rails-style snake_case (the endpoint reference is
not public). Keys are ``propertybase:<resource>:<id>``.

Mapped: offices and teams (organizations; a team's ``team_office_id`` as its parent), agents and
employees (people with an ``agent``/``employee`` role in their office), leads (people with a
``lead`` role), developments (master communities at the first of their nested addresses) and
each development's nested floor plans (homes whose ``model`` is the plan name). Addresses and
floor plans are resources of their own under a development (the change log of 09/25/2019), so
they are passed in beside the development, never read from or written into its body.

Natural keys (what a look-up must match exactly, whatever the vendor's filter returned): a
lead's email, compared case-insensitively after trimming; a development's name, compared after
trimming and otherwise exactly.

Deliberately not mapped, with the reason:

- ``user_id``, ``propertybase_user_id``, ``bold_leads_id``, ``agent_mls_ids``/``office_mls_ids``:
  ids of other Propertybase products, meaningless elsewhere;
- lead ``agent_id``/``team_id``/``source``/``status``, agent ``team_id``/``title``: CRM
  assignment state that belongs to Propertybase; the hub never overwrites it (writes omit it);
- development ``status``, extra ``addresses`` beyond the first, floor plan ``price``: marketing
  data with no canonical field (price is kept in the floor plan home's ``details``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from hub.errors import MappingError
from hub.models import (
    Address,
    Home,
    HomeType,
    Location,
    LocationKind,
    Organization,
    OrganizationKind,
    Person,
    PersonRole,
    Phone,
    RoleKind,
)

__all__ = [
    "development_key",
    "development_matches",
    "email_key",
    "from_address",
    "from_development",
    "from_lead",
    "key",
    "lead_key",
    "lead_matches",
    "to_address",
    "to_agent",
    "to_development",
    "to_employee",
    "to_floor_plans",
    "to_lead",
    "to_office",
    "to_team",
]

VENDOR = "propertybase"
T = TypeVar("T")


def key(resource: str, record_id: Any) -> str:
    """The canonical key of a Propertybase GO record."""
    return f"{VENDOR}:{resource}:{record_id}"


def _id(payload: Mapping[str, Any]) -> int:
    value = payload.get("id")
    if not isinstance(value, int):
        raise MappingError(f"missing or non-integer id: {value!r}", vendor=VENDOR)
    return value


def _text(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return str(value).strip() or None if value is not None else None


def _wrap(entity: str, what: str, build: Callable[[], T]) -> T:
    try:
        return build()
    except MappingError:
        raise
    except ValueError as exc:
        raise MappingError(f"{what}: {exc}", vendor=VENDOR, entity=entity) from exc


def to_address(payload: Mapping[str, Any] | None) -> Address | None:
    """A Propertybase address object as an Address."""
    if not payload or not payload.get("street"):
        return None
    return Address(
        line1=str(payload["street"]),
        city=_text(payload, "city") or "",
        state=_text(payload, "state"),
        postal_code=_text(payload, "zip"),
        country=_text(payload, "country") or "US",
    )


#: the canonical country of an address whose vendor named one the hub has no code for
UNKNOWN_COUNTRY = "ZZ"


def from_address(address: Address) -> dict[str, Any]:
    """An Address as a Propertybase address object: its one street line holds every line
    (an apartment number must not be lost), and a country the hub has no code for goes as
    its source named it."""
    street = ", ".join(line for line in (address.line1, address.line2, address.line3) if line)
    country: str | None = address.country
    if country == UNKNOWN_COUNTRY:
        country = address.country_raw
    return {
        k: v
        for k, v in {
            "street": street,
            "city": address.city,
            "state": address.state,
            "zip": address.postal_code,
            "country": country,
        }.items()
        if v is not None
    }


def _phones(payload: Mapping[str, Any]) -> list[Phone]:
    number = _text(payload, "phone")
    return [Phone(number=number, kind="work")] if number else []


def to_office(payload: Mapping[str, Any]) -> Organization:
    """An office as an Organization."""
    record_id = _id(payload)
    return _wrap(
        "organization",
        f"office {record_id}",
        lambda: Organization(
            key=key("office", record_id),
            kind=OrganizationKind.OFFICE,
            name=_text(payload, "name") or f"Office {record_id}",
            email=_text(payload, "email"),
            phone=_text(payload, "phone"),
            address=to_address(payload.get("address")),
            active=payload.get("active") is not False,
        ),
    )


def to_team(payload: Mapping[str, Any]) -> Organization:
    """A team as an Organization under its office."""
    record_id = _id(payload)
    office = payload.get("team_office_id")
    return _wrap(
        "organization",
        f"team {record_id}",
        lambda: Organization(
            key=key("team", record_id),
            kind=OrganizationKind.TEAM,
            name=_text(payload, "name") or f"Team {record_id}",
            email=_text(payload, "email"),
            phone=_text(payload, "phone"),
            parent_key=key("office", office) if office else None,
            active=payload.get("active") is not False,
        ),
    )


def _person(resource: str, payload: Mapping[str, Any], roles: list[PersonRole]) -> Person:
    record_id = _id(payload)
    email = _text(payload, "email")
    return _wrap(
        "person",
        f"{resource} {record_id}",
        lambda: Person(
            key=key(resource, record_id),
            first_name=_text(payload, "first_name") or "",
            last_name=_text(payload, "last_name") or "",
            emails=[email] if email else [],
            phones=_phones(payload),
            address=to_address(payload.get("address")),
            notes=_text(payload, "notes"),
            roles=roles,
        ),
    )


def _office_role(kind: RoleKind, payload: Mapping[str, Any]) -> PersonRole:
    office = payload.get("office_id")
    return PersonRole(kind=kind, organization_key=key("office", office) if office else None)


def to_agent(payload: Mapping[str, Any]) -> Person:
    """An agent as a Person with an agent role in their office."""
    return _person("agent", payload, [_office_role(RoleKind.AGENT, payload)])


def to_employee(payload: Mapping[str, Any]) -> Person:
    """An employee as a Person with an employee role in their office."""
    return _person("employee", payload, [_office_role(RoleKind.EMPLOYEE, payload)])


def to_lead(payload: Mapping[str, Any]) -> Person:
    """A lead as a Person with a lead role."""
    return _person("lead", payload, [PersonRole(kind=RoleKind.LEAD)])


def from_lead(person: Person, flags: Mapping[str, bool] | None = None) -> dict[str, Any]:
    """A Person as a lead body; ``flags`` are the creation side-effect switches (POST only)."""
    if not person.emails:
        raise MappingError(
            f"{person.key}: a Propertybase lead needs an email", vendor=VENDOR, entity="person"
        )
    body: dict[str, Any] = {
        "first_name": person.first_name or person.company_name or "",
        "last_name": person.last_name,
        "email": person.emails[0],
    }
    if person.phones:
        body["phone"] = person.phones[0].number
    if person.address is not None:
        body["address"] = from_address(person.address)
    if person.notes:
        body["notes"] = person.notes
    return {**body, **(flags or {})}


def email_key(email: str) -> str:
    """An email as leads are matched on it: case-insensitive, surrounding blanks aside."""
    return email.strip().casefold()


def lead_key(payload: Mapping[str, Any]) -> str | None:
    """A lead's email as it is matched on, None when it has none."""
    found = payload.get("email")
    return email_key(found) if isinstance(found, str) else None


def lead_matches(payload: Mapping[str, Any], email: str) -> bool:
    """Whether a lead's email is exactly ``email`` (case-insensitive, surrounding blanks aside)."""
    return lead_key(payload) == email_key(email)


def development_key(payload: Mapping[str, Any]) -> str | None:
    """A development's name as it is matched on (trimmed), None when it has none."""
    found = payload.get("name")
    return found.strip() if isinstance(found, str) else None


def development_matches(payload: Mapping[str, Any], name: str) -> bool:
    """Whether a development's name is exactly ``name`` once both are trimmed."""
    return development_key(payload) == name.strip()


def to_development(
    payload: Mapping[str, Any], addresses: Sequence[Mapping[str, Any]] = ()
) -> Location:
    """A development, with its nested addresses, as a master community at the first one."""
    record_id = _id(payload)
    return _wrap(
        "location",
        f"development {record_id}",
        lambda: Location(
            key=key("development", record_id),
            kind=LocationKind.MASTER_COMMUNITY,
            name=_text(payload, "name") or f"Development {record_id}",
            description=_text(payload, "description"),
            address=to_address(addresses[0]) if addresses else None,
            active=payload.get("active") is not False,
        ),
    )


def from_development(location: Location) -> dict[str, Any]:
    """A master community as a development body (its address goes to the nested resource)."""
    body: dict[str, Any] = {"name": location.name}
    if location.description:
        body["description"] = location.description
    return body


def _floor_plan(development: Location, plan: Mapping[str, Any]) -> Home:
    assert development.address is not None
    number = development.key.rsplit(":", 1)[1]
    details = {"development_key": development.key, "price": plan.get("price")}
    return Home(
        key=key("floor-plan", f"{number}-{plan.get('id')}"),
        address=development.address,
        name=_text(plan, "name"),
        model=_text(plan, "name"),
        home_type=HomeType.SINGLE_FAMILY,
        bedrooms=plan.get("bedrooms"),
        bathrooms=plan.get("bathrooms"),
        square_feet=plan.get("square_feet"),
        details={k: v for k, v in details.items() if v is not None},
    )


def to_floor_plans(
    payload: Mapping[str, Any],
    addresses: Sequence[Mapping[str, Any]],
    plans: Sequence[Mapping[str, Any]],
) -> list[Home]:
    """A development's nested floor plans as homes whose model is the plan (the home models),
    at the development's first nested address."""
    development = to_development(payload, addresses)
    if development.address is None:
        if not plans:
            return []
        # Homes need an address: plans without one would vanish without a word.
        raise MappingError(
            f"development {payload.get('id')} has {len(plans)} floor plan(s) and no address",
            vendor=VENDOR,
            entity="home",
        )
    homes = []
    for plan in plans:
        try:
            homes.append(_floor_plan(development, plan))
        except ValueError as exc:
            raise MappingError(
                f"floor plan {plan.get('id')}: {exc}", vendor=VENDOR, entity="home"
            ) from exc
    return homes
