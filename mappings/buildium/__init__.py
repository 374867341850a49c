"""Buildium payloads <-> the canonical model. Pure functions, no I/O.

Accepts omitted fields and explicit nulls alike (the spec marks nothing nullable; real
services send nulls). Keys are ``buildium:<collection>:<Id>``.

Deliberately not mapped, with the reason:

- association ``Reserve``, ``OperatingBankAccount(Id)``, ``FiscalYearEnd*``, ``TaxInformation``,
  ``AssociationManager``, ``YearBuilt``: accounting and staffing data no other vendor holds;
  writes send the required ``OperatingBankAccountId`` and fiscal year from connector settings.
- unit ``AssociationName``: derived by Buildium from ``AssociationId``.
- rental ``NumberUnits``, ``RentalManager``, ``Reserve``, ``OperatingBankAccountId``,
  ``MarketRent``, ``IsUnitListed``, ``IsUnitOccupied``, ``Description``: leasing and accounting
  data with no canonical home.
- owner ``AlternateEmail``/``AlternateAddress``, ``EmergencyContact``, ``Vehicles``,
  ``BoardMemberTerms``, ``TaxId``, ``DelinquencyStatus``, ``MailingPreference``,
  ``CreatedDateTime``, ``DateOfBirth``: personal or financial details the hub must not spread.
- tenant ``Leases`` beyond the unit they link to, ``SMSOptInStatus``: same reason.
"""

from __future__ import annotations

from mappings.buildium.matching import email_matches, name_matches, occupies
from mappings.buildium.reads import (
    to_association,
    to_association_owner,
    to_association_unit,
    to_rental,
    to_rental_owner,
    to_rental_unit,
    to_tenant,
)
from mappings.buildium.tables import BATHROOMS, BEDROOMS, COUNTRIES, PHONE_TYPES, SUBTYPES
from mappings.buildium.updates import (
    association_put,
    owner_put,
    put_from_get,
    rental_owner_put,
    unit_put,
)
from mappings.buildium.values import from_address, key, to_address
from mappings.buildium.writes import (
    from_association,
    from_association_owner,
    from_association_unit,
    from_rental_owner,
)

__all__ = [
    "BATHROOMS",
    "BEDROOMS",
    "COUNTRIES",
    "PHONE_TYPES",
    "SUBTYPES",
    "association_put",
    "email_matches",
    "from_address",
    "from_association",
    "from_association_owner",
    "from_association_unit",
    "from_rental_owner",
    "key",
    "name_matches",
    "occupies",
    "owner_put",
    "put_from_get",
    "rental_owner_put",
    "to_address",
    "to_association",
    "to_association_owner",
    "to_association_unit",
    "to_rental",
    "to_rental_owner",
    "to_rental_unit",
    "to_tenant",
    "unit_put",
]
