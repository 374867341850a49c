"""What every canonical model shares: strict validation, the text and key types, and the
record base with its stable ``key``."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

__all__ = ["CanonicalRecord", "Detail", "Email", "Key", "StrictModel", "Text"]


def _email(value: str) -> str:
    """The address as pydantic's ``EmailStr`` normalises it."""
    # email-validator (and pydantic's networks) load on the first email validated, not with
    # the model: `prophub schema` and every mapping import start that much sooner.
    from pydantic.networks import validate_email

    return validate_email(value)[1]


#: an email address, validated as ``pydantic.EmailStr`` validates one
Email = Annotated[
    str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})
]

Key = Annotated[str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Detail = str | int | float | bool | None


class StrictModel(BaseModel):
    """A model that forbids unknown fields and validates assignments too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class CanonicalRecord(StrictModel):
    """Base of every canonical record: a stable key from its source."""

    entity: str = Field(default="", exclude=True, repr=False)
    key: Key
