"""Buildium's request messages in the sandbox: the fields each may carry, a PUT's reach, checks.

The field lists follow the official OpenAPI document's schemas; a failed check is an
``ApiProblem``, which the server answers in Buildium's ``ApiErrorResponse`` shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.buildium.contract import UNIT_NUMBER_LENGTH, address_errors, too_long
from connectors.buildium.sandbox_data import BATHROOMS, BEDROOMS

__all__ = [
    "ADDRESS_MESSAGE",
    "BANK_ACCOUNTS",
    "MAILING",
    "MESSAGES",
    "REPLACED_BY_PUT",
    "ApiProblem",
    "address_errors",
    "check",
    "enum_errors",
    "invalid",
    "known_fields",
    "phones",
    "pick",
    "required",
    "stamp",
    "unit_errors",
]

BANK_ACCOUNTS = frozenset({1, 2, 3})
MAILING = ("PrimaryAddress", "AlternateAddress")
#: per collection, the GET message fields a PUT replaces: each one the request omits is gone
#: afterwards (the document: "Any field not included in the update request will be set to
#: either an empty string or null")
REPLACED_BY_PUT = {
    "associations": (
        "Name", "Description", "YearBuilt", "OperatingBankAccountId", "OperatingBankAccount",
        "Reserve", "Address", "AssociationManager", "FiscalYearEndDay", "FiscalYearEndMonth",
    ),
    "association-units": ("UnitNumber", "UnitSize", "Address", "UnitBedrooms", "UnitBathrooms"),
    "association-owners": (
        "FirstName", "LastName", "PrimaryAddress", "AlternateAddress", "Email", "AlternateEmail",
        "PhoneNumbers", "EmergencyContact", "Comment", "MailingPreference", "TaxId",
    ),
    "rental-owners": (
        "FirstName", "LastName", "IsCompany", "CompanyName", "ManagementAgreementStartDate",
        "ManagementAgreementEndDate", "Email", "AlternateEmail", "PhoneNumbers", "Address",
        "Comment", "PropertyIds",
    ),
    "rentals": (
        "Name", "StructureDescription", "Address", "YearBuilt", "RentalSubType",
        "OperatingBankAccountId", "Reserve",
    ),
    "rental-units": (
        "UnitNumber", "Description", "MarketRent", "Address", "UnitBedrooms", "UnitBathrooms",
        "UnitSize",
    ),
}  # fmt: skip
#: the fields each request message may carry (the document's schemas): any other is refused,
#: as the hardest reading of a contract that does not say what an unknown field does
ADDRESS_MESSAGE = ("AddressLine1", "AddressLine2", "AddressLine3", "City", "State", "PostalCode",
                   "Country")  # fmt: skip
MESSAGES = {
    ("associations", "POST"): ("Name", "Description", "YearBuilt", "OperatingBankAccountId",
                               "Reserve", "Address", "IsActive", "PropertyManagerId",
                               "TaxInformation"),
    ("associations", "PUT"): ("Name", "Description", "YearBuilt", "OperatingBankAccountId",
                              "Reserve", "Address", "PropertyManagerId", "FiscalYearEndDay",
                              "FiscalYearEndMonth"),
    ("association-units", "POST"): ("AssociationId", "UnitNumber", "UnitSize", "Address",
                                    "UnitBedrooms", "UnitBathrooms"),
    ("association-units", "PUT"): ("UnitNumber", "UnitSize", "Address", "UnitBedrooms",
                                   "UnitBathrooms"),
    ("association-owners", "POST"): ("OwnershipAccountId", "SendWelcomeEmail", "PrimaryAddress",
                                     "AlternateAddress", "FirstName", "LastName",
                                     "BoardMemberTerm", "IsOwnerOccupied", "Email",
                                     "AlternateEmail", "PhoneNumbers", "DateOfBirth",
                                     "EmergencyContact", "Comment", "MailingPreference", "TaxId"),
    ("association-owners", "PUT"): ("FirstName", "LastName", "PrimaryAddress", "AlternateAddress",
                                    "Email", "AlternateEmail", "PhoneNumbers", "EmergencyContact",
                                    "Comment", "MailingPreference", "TaxId"),
    ("ownership-accounts", "POST"): ("UnitId", "DateOfPurchase", "AssociationFee",
                                     "RecurringFrequency", "AssociationOwnerIds",
                                     "AssociationOwners", "SendWelcomeEmail",
                                     "ReplaceExistingOwnershipAccount"),
    ("ownership-accounts", "PUT"): ("DateOfPurchase",),
    ("rental-owners", "POST"): ("FirstName", "LastName", "IsCompany", "CompanyName",
                                "DateOfBirth", "ManagementAgreementStartDate",
                                "ManagementAgreementEndDate", "Email", "AlternateEmail",
                                "PhoneNumbers", "Address", "Comment", "PropertyIds",
                                "TaxInformation"),
    ("rental-owners", "PUT"): ("FirstName", "LastName", "IsCompany", "CompanyName", "DateOfBirth",
                               "ManagementAgreementStartDate", "ManagementAgreementEndDate",
                               "Email", "AlternateEmail", "PhoneNumbers", "Address", "Comment",
                               "PropertyIds"),
}  # fmt: skip


class ApiProblem(Exception):
    """An error answer in Buildium's ApiErrorResponse shape."""

    def __init__(
        self, status: int, message: str, code: str, errors: Iterable[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.errors = status, message, code, list(errors)


def invalid(errors: list[tuple[str, str]]) -> ApiProblem:
    """Buildium's 422 for a message whose fields fail their checks."""
    return ApiProblem(422, "Validation failed", "ValidationError", errors)


def check(errors: list[tuple[str, str]]) -> None:
    """Refuse the message when any of its checks found an error."""
    if errors:
        raise invalid(errors)


def required(
    body: Mapping[str, Any], names: Iterable[str], prefix: str = ""
) -> list[tuple[str, str]]:
    """An error for each named field the message leaves out or empty."""
    return [
        (f"{prefix}{n}", f"The {n} field is required.") for n in names if body.get(n) in (None, "")
    ]


def enum_errors(
    body: Mapping[str, Any], name: str, allowed: Iterable[str]
) -> list[tuple[str, str]]:
    """An error when the field holds a value its enum does not list."""
    value = body.get(name)
    if value is None or value in allowed:
        return []
    return [(name, f"The value '{value}' is not valid for {name}.")]


def unit_errors(body: Mapping[str, Any], parent: str, creating: bool) -> list[tuple[str, str]]:
    """The errors of a unit message (an association's or a rental's, under ``parent``)."""
    needed = ["Address", "UnitNumber"] + ([parent] if creating else [])
    return (
        required(body, needed)
        + too_long(body, ("UnitNumber",), UNIT_NUMBER_LENGTH)
        + address_errors(body, "Address")
        + enum_errors(body, "UnitBedrooms", BEDROOMS)
        + enum_errors(body, "UnitBathrooms", BATHROOMS)
    )


def stamp(moment: datetime) -> str:
    """A moment as Buildium writes it (UTC, whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def known_fields(body: Mapping[str, Any], allowed: Iterable[str] | None) -> None:
    """Refuse a request body field its message does not define."""
    if allowed is None:
        return
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise invalid([(name, f"The {name} field is not recognised.") for name in unknown])


def pick(body: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The fields of a message the sandbox stores."""
    return {name: body[name] for name in names if name in body}


def phones(value: Any) -> list[dict[str, str]] | None:
    """A PhoneNumbersMessage (Home/Work/Mobile/Fax) as stored PhoneNumberMessage items."""
    if not isinstance(value, dict):
        return None
    kinds = {"Home": "Home", "Work": "Office", "Mobile": "Cell", "Fax": "Fax"}
    return [{"Number": str(value[k]), "Type": t} for k, t in kinds.items() if value.get(k)]
