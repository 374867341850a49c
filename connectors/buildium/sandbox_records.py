"""The Buildium sandbox's records: each POST or PUT message checked and stored as its resource.

One method per resource, called by the server's generic create and update handlers with the
request body, the record's id and (for a PUT) what the record keeps of before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.buildium.contract import phone_errors, rental_owner_errors
from connectors.buildium.sandbox_data import MANAGERS, SUBTYPES
from connectors.buildium.sandbox_messages import (
    BANK_ACCOUNTS,
    MAILING,
    MESSAGES,
    ApiProblem,
    address_errors,
    check,
    enum_errors,
    phones,
    pick,
    required,
    stamp,
    unit_errors,
)
from hub.sandbox.collection import Collection

__all__ = ["BuildiumRecords"]


class BuildiumRecords:
    """Stores each resource's messages in the sandbox's collections, checking them first."""

    def __init__(self, collections: Mapping[str, Collection]) -> None:
        self.collections = collections

    def association(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        """An association: its bank account and property manager must exist."""
        needed = ["Address", "Name", "OperatingBankAccountId"]
        if current is not None:
            needed += ["FiscalYearEndDay", "FiscalYearEndMonth"]
        check(required(body, needed) + address_errors(body, "Address"))
        if body["OperatingBankAccountId"] not in BANK_ACCOUNTS:
            raise ApiProblem(404, "The operating bank account was not found.", "NotFound")
        kept = pick(
            body,
            (
                "Name",
                "Description",
                "YearBuilt",
                "Reserve",
                "Address",
                "OperatingBankAccountId",
                "FiscalYearEndDay",
                "FiscalYearEndMonth",
                "IsActive",
            ),
        )
        base = current or {
            "Id": i,
            "IsActive": True,
            "FiscalYearEndDay": 31,
            "FiscalYearEndMonth": 12,
        }
        manager = body.get("PropertyManagerId")
        if manager is not None:
            if manager not in MANAGERS:
                raise ApiProblem(404, "The property manager was not found.", "NotFound")
            kept["AssociationManager"] = MANAGERS[manager]
        return {**base, **kept, "OperatingBankAccount": "Operating"}

    def unit(self, body: dict[str, Any], i: int, current: dict[str, Any] | None) -> dict[str, Any]:
        """An association unit, under an association that exists."""
        check(unit_errors(body, "AssociationId", creating=current is None))
        association_id = body.get("AssociationId") if current is None else current["AssociationId"]
        association = self.collections["associations"].get(int(association_id or 0))
        if association is None:
            raise ApiProblem(404, "The association was not found.", "NotFound")
        kept = pick(body, ("UnitNumber", "UnitSize", "Address", "UnitBedrooms", "UnitBathrooms"))
        base = current or {"Id": i, "AssociationId": association_id}
        return {**base, **kept, "AssociationName": association["Name"]}

    def owner(self, body: dict[str, Any], i: int, current: dict[str, Any] | None) -> dict[str, Any]:
        """An association owner; a new one joins its ownership account."""
        needed = ["FirstName", "LastName", "PrimaryAddress"]
        if current is None:
            needed += ["IsOwnerOccupied", "OwnershipAccountId", "SendWelcomeEmail"]
        check(
            required(body, needed)
            + _person_errors(body, "PrimaryAddress", "AlternateAddress")
            + enum_errors(body, "MailingPreference", MAILING)
        )
        base = current
        if base is None:
            accounts = self.collections["ownership-accounts"]
            account_id = int(body["OwnershipAccountId"])
            account = accounts.get(account_id)
            if account is None:
                raise ApiProblem(404, "The ownership account was not found.", "NotFound")
            account = {**account, "AssociationOwnerIds": [*account["AssociationOwnerIds"], i]}
            accounts.put(account_id, account)
            base = {
                "Id": i,
                "CreatedDateTime": stamp(datetime.now(UTC)),
                "DelinquencyStatus": "NoDelinquency",
                "OccupiesUnit": bool(body["IsOwnerOccupied"]),
                "OwnershipAccounts": [account],
            }
        kept = pick(
            body,
            (
                "FirstName",
                "LastName",
                "Email",
                "AlternateEmail",
                "PrimaryAddress",
                "AlternateAddress",
                "EmergencyContact",
                "Comment",
                "MailingPreference",
                "TaxId",
            ),
        )
        numbers = phones(body.get("PhoneNumbers"))
        return {**base, **kept, **({"PhoneNumbers": numbers} if numbers is not None else {})}

    def account(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        """An ownership account (POST: with its new owners; PUT: the purchase date only)."""
        if current is not None:
            check(required(body, ["DateOfPurchase"]))
            return {**current, "DateOfPurchase": body["DateOfPurchase"]}
        check(
            required(
                body,
                ["UnitId", "DateOfPurchase", "SendWelcomeEmail", "ReplaceExistingOwnershipAccount"],
            )
        )
        unit = self.collections["association-units"].get(int(body["UnitId"]))
        if unit is None:
            raise ApiProblem(404, "The unit was not found.", "NotFound")
        owner_ids = [int(o) for o in body.get("AssociationOwnerIds") or []]
        owners = self.collections["association-owners"]
        if any(owners.get(o) is None for o in owner_ids):
            raise ApiProblem(404, "The association owner was not found.", "NotFound")
        account = {
            "Id": i,
            "AssociationId": unit["AssociationId"],
            "UnitId": unit["Id"],
            "Status": "Active",
            "DateOfPurchase": body["DateOfPurchase"],
            "AssociationOwnerIds": owner_ids,
            "DelinquencyStatus": "NoDelinquency",
        }
        for new in body.get("AssociationOwners") or []:
            check(
                required(new, ["FirstName", "LastName", "PrimaryAddress", "IsOwnerOccupied"])
                + _person_errors(new, "PrimaryAddress", "AlternateAddress")
            )

            def owner(oid: int, new: dict[str, Any] = new) -> dict[str, Any]:
                return {
                    **pick(new, MESSAGES[("association-owners", "PUT")]),
                    "Id": oid,
                    "PhoneNumbers": phones(new.get("PhoneNumbers")) or [],
                    "CreatedDateTime": stamp(datetime.now(UTC)),
                    "DelinquencyStatus": "NoDelinquency",
                    "OccupiesUnit": bool(new["IsOwnerOccupied"]),
                    "OwnershipAccounts": [account],
                }

            created = owners.create(owner)
            account["AssociationOwnerIds"].append(created["Id"])
        return account

    def rental(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A rental property."""
        check(
            required(body, ["Address", "Name", "OperatingBankAccountId", "RentalSubType"])
            + address_errors(body, "Address")
            + enum_errors(
                body,
                "RentalSubType",
                (
                    *SUBTYPES,
                    "Industrial",
                    "Office",
                    "Retail",
                    "ShoppingCenter",
                    "Storage",
                    "ParkingSpace",
                ),
            )
        )
        kept = pick(
            body,
            (
                "Name",
                "StructureDescription",
                "Address",
                "YearBuilt",
                "RentalSubType",
                "OperatingBankAccountId",
                "Reserve",
            ),
        )
        base = current or {"Id": i, "IsActive": True, "NumberUnits": 0, "RentalType": "Residential"}
        return {**base, **kept}

    def rental_unit(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A rental unit, under a rental property that exists."""
        check(unit_errors(body, "PropertyId", creating=current is None))
        prop = body.get("PropertyId") if current is None else current["PropertyId"]
        if self.collections["rentals"].get(int(prop or 0)) is None:
            raise ApiProblem(404, "The rental property was not found.", "NotFound")
        kept = pick(
            body,
            (
                "UnitNumber",
                "Description",
                "MarketRent",
                "Address",
                "UnitBedrooms",
                "UnitBathrooms",
                "UnitSize",
            ),
        )
        base = current or {
            "Id": i,
            "PropertyId": prop,
            "IsUnitListed": False,
            "IsUnitOccupied": False,
        }
        return {**base, **kept}

    def rental_owner(
        self, body: dict[str, Any], i: int, current: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A rental owner of rental properties that exist."""
        check(
            required(body, ["Address", "IsCompany", "PropertyIds"])
            + rental_owner_errors(body)
            + _person_errors(body, "Address")
        )
        missing = [
            p for p in body["PropertyIds"] if self.collections["rentals"].get(int(p)) is None
        ]
        if missing:
            raise ApiProblem(404, f"The rental property {missing[0]} was not found.", "NotFound")
        kept = pick(
            body,
            (
                "FirstName",
                "LastName",
                "IsCompany",
                "CompanyName",
                "Email",
                "AlternateEmail",
                "Address",
                "Comment",
                "ManagementAgreementStartDate",
                "ManagementAgreementEndDate",
                "PropertyIds",
            ),
        )
        numbers = phones(body.get("PhoneNumbers"))
        base = current or {"Id": i, "IsActive": True}
        return {**base, **kept, **({"PhoneNumbers": numbers} if numbers is not None else {})}


def _person_errors(body: Mapping[str, Any], *addresses: str) -> list[tuple[str, str]]:
    """The errors of an owner message's addresses and phone numbers."""
    errors = [e for name in addresses for e in address_errors(body, name)]
    return errors + phone_errors(body)
