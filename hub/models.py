"""The canonical model every vendor is translated to and from.

A record carries a stable ``key`` from its source. The ids the same thing has in other systems
live in the state store's cross-reference, never in the record.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    computed_field,
    field_validator,
    model_validator,
)

__all__ = [
    "ENTITIES",
    "Address",
    "CanonicalRecord",
    "Document",
    "DocumentStorage",
    "Home",
    "HomeType",
    "HomeownerType",
    "Location",
    "LocationKind",
    "Organization",
    "OrganizationKind",
    "Person",
    "PersonRole",
    "Phone",
    "RoleKind",
    "digest_of",
    "entity_of",
    "json_schema",
    "record_hash",
    "serialised",
    "split_full_name",
]

US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "AS",
        "GU",
        "MP",
        "PR",
        "VI",
        "UM",
        "AA",
        "AE",
        "AP",
    ]
)
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")

Key = Annotated[str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Detail = str | int | float | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class Address(_Model):
    """A postal address; US state codes and ZIP / ZIP+4 are validated when the country is US."""

    line1: Text = ""
    line2: Text | None = None
    line3: Text | None = None
    city: Text = ""
    state: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)] | None = None
    postal_code: Text | None = None
    country: Annotated[str, StringConstraints(min_length=2, max_length=2, to_upper=True)] = "US"
    #: a vendor's country value the hub has no code for (``country`` is then "ZZ"), kept so
    #: it goes back to that vendor as it came, never turned into another country
    country_raw: Text | None = None

    @model_validator(mode="after")
    def _check_us(self) -> Address:
        # One Python validator per address (each costs a call out of pydantic-core): the
        # state is upper-cased by its constraints, and a blank one is no state, here.
        if self.state == "":
            self.__dict__["state"] = None
        if self.country == "US":
            if self.state is not None and self.state not in US_STATES:
                raise ValueError(f"state {self.state!r} is not a US state code")
            if self.postal_code is not None and not _ZIP.match(self.postal_code):
                raise ValueError(f"postal_code {self.postal_code!r} is not a ZIP or ZIP+4")
        return self


class CanonicalRecord(_Model):
    """Base of every canonical record: a stable key from its source."""

    entity: str = Field(default="", exclude=True, repr=False)
    key: Key


class LocationKind(StrEnum):
    """Levels of the location hierarchy, top down."""

    REGION = "region"
    DIVISION = "division"
    MASTER_COMMUNITY = "master_community"
    NEIGHBORHOOD = "neighborhood"


LOCATION_PARENT: dict[LocationKind, LocationKind | None] = {
    LocationKind.REGION: None,
    LocationKind.DIVISION: LocationKind.REGION,
    LocationKind.MASTER_COMMUNITY: LocationKind.DIVISION,
    LocationKind.NEIGHBORHOOD: LocationKind.MASTER_COMMUNITY,
}


class Location(CanonicalRecord):
    """A region, division, master community or neighborhood, with its parent's key."""

    entity: Literal["location"] = Field(default="location", exclude=True, repr=False)
    kind: LocationKind
    name: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    display_name: Text | None = None
    abbreviation: Text | None = None
    parent_key: Key | None = None
    parent_name: Text | None = None
    active: bool = True
    address: Address | None = None
    description: Text | None = None

    @model_validator(mode="after")
    def _region_has_no_parent(self) -> Location:
        if self.kind is LocationKind.REGION and self.parent_key is not None:
            raise ValueError("a region has no parent")
        return self


class HomeType(StrEnum):
    """Kinds of home; ``other`` keeps the vendor's raw value in ``home_type_raw``."""

    SINGLE_FAMILY = "single_family"
    MULTI_FAMILY = "multi_family"
    CONDO_TOWNHOME = "condo_townhome"
    OTHER = "other"


class HomeownerType(StrEnum):
    """Builder Backed's homeowner ranks, generalised."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    OTHER = "other"


class RoleKind(StrEnum):
    """What a person is to a home, an organization or the business."""

    HOMEOWNER = "homeowner"
    TENANT = "tenant"
    RENTAL_OWNER = "rental_owner"
    ASSOCIATION_OWNER = "association_owner"
    AGENT = "agent"
    LEAD = "lead"
    EMPLOYEE = "employee"
    OTHER = "other"


class Phone(_Model):
    """A phone number with its kind (mobile, home, work, fax, other)."""

    number: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    kind: Text = "other"


class PersonRole(_Model):
    """One role of a person, linked to a home or organization where it applies."""

    kind: RoleKind
    home_key: Key | None = None
    organization_key: Key | None = None
    homeowner_type: HomeownerType | None = None
    raw: Text | None = None
    #: whether this home is the person's default home (Builder Backed's ``defaultHome``)
    default_home: bool | None = None


class Person(CanonicalRecord):
    """A person or company with emails, phones and roles."""

    entity: Literal["person"] = Field(default="person", exclude=True, repr=False)
    prefix: Text | None = None  # "Mr.", "Dr."...
    first_name: Text = ""
    middle_name: Text | None = None
    last_name: Text = ""
    suffix: Text | None = None  # "Jr.", "III"...
    company_name: Text | None = None
    is_company: bool = False
    emails: list[EmailStr] = Field(default_factory=list)
    phones: list[Phone] = Field(default_factory=list)
    address: Address | None = None
    roles: list[PersonRole] = Field(default_factory=list)
    notes: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _ignore_derived(cls, data: Any) -> Any:
        # full_name is derived, so a serialised person validates again (JSON lines, the store).
        if isinstance(data, dict) and "full_name" in data:
            return {k: v for k, v in data.items() if k != "full_name"}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def full_name(self) -> str:
        """First, middle and last name joined; the company name for a company."""
        parts = [self.first_name, self.middle_name or "", self.last_name]
        name = " ".join(p for p in parts if p)
        return name or (self.company_name or "")

    @property
    def email(self) -> str | None:
        """The primary (first) email, if any."""
        return self.emails[0] if self.emails else None

    @model_validator(mode="after")
    def _has_a_name(self) -> Person:
        if not (self.first_name or self.last_name or self.company_name):
            raise ValueError("a person needs a first name, a last name or a company name")
        return self


class Home(CanonicalRecord):
    """A home (lot, unit or property) in a neighborhood."""

    entity: Literal["home"] = Field(default="home", exclude=True, repr=False)
    address: Address
    name: Text | None = None
    home_type: HomeType = HomeType.SINGLE_FAMILY
    home_type_raw: Text | None = None
    model: Text | None = None
    product_collection: Text | None = None
    job_id: Text | None = None
    market_home: bool = False
    closing_date: date | None = None
    scheduled_closing_date: date | None = None
    bedrooms: int | None = Field(default=None, ge=0)
    bathrooms: float | None = Field(default=None, ge=0)
    #: a vendor's bedroom or bathroom value the hub cannot read as a number, kept as it came
    bedrooms_raw: Text | None = None
    bathrooms_raw: Text | None = None
    square_feet: int | None = Field(default=None, ge=0)
    details: dict[str, Detail] = Field(default_factory=dict)
    neighborhood_key: Key | None = None
    homeowners: list[Person] = Field(default_factory=list)

    @field_validator("details")
    @classmethod
    def _sorted_details(cls, value: dict[str, Detail]) -> dict[str, Detail]:
        # One order for the same content, so a record's serialised form (and hash) is stable.
        return dict(sorted(value.items())) if len(value) > 1 else value


class DocumentStorage(StrEnum):
    """Where a document's bytes live."""

    EXTERNAL_URL = "external_url"
    AWS = "aws"
    SAPPHIRE = "sapphire"
    BUILDERBACKED = "builderbacked"


class Document(CanonicalRecord):
    """A document attached to a home."""

    entity: Literal["document"] = Field(default="document", exclude=True, repr=False)
    home_key: Key
    category: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    name: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    url: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    storage: DocumentStorage = DocumentStorage.EXTERNAL_URL
    bucket: Text | None = None
    shareable: bool = False
    #: a day, or a day and its time of day (as the vendor states it; a midnight is a day)
    display_from: date | datetime | None = None
    display_until: date | datetime | None = None

    @model_validator(mode="after")
    def _check(self) -> Document:
        if self.storage is DocumentStorage.AWS and not self.bucket:
            raise ValueError("an AWS document needs a bucket")
        if (
            self.display_from
            and self.display_until
            and _moment(self.display_until) < _moment(self.display_from)
        ):
            raise ValueError("display_until is before display_from")
        return self


def _moment(value: date | datetime) -> datetime:
    """A display bound as a comparable wall-clock moment (a day starts at midnight)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.combine(value, datetime.min.time())


class OrganizationKind(StrEnum):
    """Kinds of organization."""

    OFFICE = "office"
    TEAM = "team"


class Organization(CanonicalRecord):
    """An office or a team."""

    entity: Literal["organization"] = Field(default="organization", exclude=True, repr=False)
    kind: OrganizationKind
    name: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    email: EmailStr | None = None
    phone: Text | None = None
    address: Address | None = None
    parent_key: Key | None = None
    active: bool = True


ENTITIES: dict[str, type[CanonicalRecord]] = {
    "location": Location,
    "home": Home,
    "person": Person,
    "document": Document,
    "organization": Organization,
}


# -- the entity graph: the one place that says what refers to what ----------------------------

#: the entities, parents first: a record refers only to entities before its own (a location
#: to its parent location, a home to its neighborhood, a person to homes, a document to a home)
ENTITY_ORDER = ("location", "organization", "home", "person", "document")
#: reference field (wherever it appears in a record) -> the entity it points at
REFERENCES: dict[str, str] = {
    "parent_key": "location",
    "neighborhood_key": "location",
    "home_key": "home",
    "organization_key": "organization",
}
_LOCATION_LEVEL = {kind: level for level, kind in enumerate(LOCATION_PARENT)}


def depth(record: CanonicalRecord) -> int:
    """How far down its entity's own hierarchy a record sits (a region 0, a neighborhood 3;
    records of other entities 0): records are written shallowest first."""
    return _LOCATION_LEVEL[record.kind] if isinstance(record, Location) else 0


def entity_of(name: str) -> type[CanonicalRecord]:
    """The model class for a canonical entity name; ``KeyError`` names the known ones."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise KeyError(f"unknown entity {name!r}; known: {', '.join(ENTITIES)}") from None


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of a canonical entity, as records are serialised."""
    return entity_of(name).model_json_schema(mode="serialization")


def record_hash(record: CanonicalRecord) -> str:
    """A stable SHA-256 of a record's content, for change detection."""
    return digest_of(record.model_dump_json())


def serialised(record: CanonicalRecord) -> tuple[str, str]:
    """A record's canonical JSON and its hash, from one serialisation (as ``record_hash``)."""
    raw = record.__pydantic_serializer__.to_json(record)  # model_dump_json, minus its wrapper
    return raw.decode(), hashlib.sha256(raw).hexdigest()


def digest_of(canonical_json: str) -> str:
    """The hash of a record already serialised by ``model_dump_json`` (fields in model order)."""
    return hashlib.sha256(canonical_json.encode()).hexdigest()


_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def split_full_name(full: str) -> tuple[str, str]:
    """Split a full name into (first, last): last word is the last name, suffixes stay with it."""
    words = full.split()
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], ""
    cut = len(words) - 1
    if words[-1].lower() in _SUFFIXES and len(words) > 2:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])
