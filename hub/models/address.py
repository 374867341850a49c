"""A postal address, and the US state codes and ZIP forms it is checked against."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints, model_validator

from hub.models.base import StrictModel, Text

__all__ = ["US_STATES", "Address"]

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


class Address(StrictModel):
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
