"""The canonical records (locations, homes, people, documents, organizations) and the enums
their fields take.

A record carries a stable ``key`` from its source. The ids the same thing has in other systems
live in the state store's cross-reference, never in the record.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    StringConstraints,
    computed_field,
    field_validator,
    model_validator,
)

from hub.models.address import Address
from hub.models.base import CanonicalRecord, Detail, Email, Key, StrictModel, Text

__all__ = [
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
    "split_full_name",
]


class LocationKind(StrEnum):
    """Levels of the location hierarchy, top down."""

    REGION = "region"
    DIVISION = "division"
    MASTER_COMMUNITY = "master_community"
    NEIGHBORHOOD = "neighborhood"


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


class Phone(StrictModel):
    """A phone number with its kind (mobile, home, work, fax, other)."""

    number: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    kind: Text = "other"


class PersonRole(StrictModel):
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
    emails: list[Email] = Field(default_factory=list)
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
    email: Email | None = None
    phone: Text | None = None
    address: Address | None = None
    parent_key: Key | None = None
    active: bool = True


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
