"""What every canonical model shares: strict validation, the text and key types, and the
record base with its stable ``key``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["CanonicalRecord", "Detail", "Key", "StrictModel", "Text"]

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
