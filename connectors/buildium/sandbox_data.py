"""The Buildium sandbox's seeded records: ``size`` association units and rental units, their
associations, rentals, owners, ownership accounts and tenants.

Every record derives from the seed and its id (see :class:`~hub.sandbox.collection.Collection`),
drawing on the vendor's enum values, which the sandbox's validation checks against too.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from hub.sandbox.collection import Collection
from hub.sandbox.fake_data import fake_address, fake_person, fake_words

__all__ = [
    "ACCOUNT_ID_BASE",
    "BATHROOMS",
    "BEDROOMS",
    "MANAGERS",
    "RENTAL_ID_BASE",
    "SUBTYPES",
    "UNITS_PER_PROPERTY",
    "seeded_collections",
]

UNITS_PER_PROPERTY = 20
RENTAL_ID_BASE = 100_000  # rental properties share Buildium's property id space with associations
#: ownership accounts have ids of their own: a client that sends a unit's id as an account's
#: is refused here, as Buildium would refuse it
ACCOUNT_ID_BASE = 200_000
BEDROOMS = (
    "NotSet",
    "Studio",
    "OneBed",
    "TwoBed",
    "ThreeBed",
    "FourBed",
    "FiveBed",
    "SixBed",
    "SevenBed",
    "EightBed",
    "NineBedPlus",
)
BATHROOMS = (
    "NotSet",
    "OneBath",
    "OnePointFiveBath",
    "TwoBath",
    "TwoPointFiveBath",
    "ThreeBath",
    "FourBath",
    "FiveBath",
    "FivePlusBath",
    "ThreePointFiveBath",
    "FourPointFiveBath",
)
#: the property managers an association may name (``PropertyManagerId``)
MANAGERS = {
    7: {"Id": 7, "FirstName": "Morgan", "LastName": "Lane", "IsCompany": False,
        "Email": "morgan.lane@example.com",
        "PhoneNumbers": [{"Number": "512-555-0107", "Type": "Office"}]},
}  # fmt: skip
SUBTYPES = ("CondoTownhome", "MultiFamily", "SingleFamily")


def seeded_collections(size: int, seed: int) -> dict[str, Collection]:
    """Each collection above ``size`` units (20 a property), each record made on demand."""
    properties = math.ceil(size / UNITS_PER_PROPERTY)
    return {
        "associations": Collection("associations", properties, partial(_association, seed)),
        "association-units": Collection(
            "association-units", size, partial(_association_unit, seed)
        ),
        "association-owners": Collection("association-owners", size, partial(_owner, seed)),
        "ownership-accounts": Collection(
            "ownership-accounts", size, partial(_account, seed), first_id=ACCOUNT_ID_BASE + 1
        ),
        "rentals": Collection(
            "rentals", properties, partial(_rental, seed), first_id=RENTAL_ID_BASE
        ),
        "rental-units": Collection(
            "rental-units", size, partial(_rental_unit, seed), first_id=RENTAL_ID_BASE
        ),
        "rental-owners": Collection("rental-owners", properties, partial(_rental_owner, seed)),
        "tenants": Collection("tenants", size, partial(_tenant, seed)),
    }


def _address(seed: int, index: int, unit: str | None = None) -> dict[str, Any]:
    fake = fake_address(seed, index)
    address = {
        "AddressLine1": fake["line1"],
        "City": fake["city"],
        "State": fake["state"],
        "PostalCode": fake["postal_code"],
        "Country": "UnitedStates",
    }
    if unit:
        address["AddressLine2"] = unit
    return address


def _association(seed: int, i: int) -> dict[str, Any]:
    name = f"{fake_words(seed, i, 'association')} HOA"
    return {
        "Id": i,
        "Name": name,
        "IsActive": True,
        "Reserve": 25000.0,
        "Description": f"Homeowners association of {name}",
        "YearBuilt": 1990 + i % 30,
        "OperatingBankAccountId": 1,
        "OperatingBankAccount": "Operating",
        "Address": _address(seed, 10_000_000 + i),
        "AssociationManager": MANAGERS[7],
        "FiscalYearEndDay": 31,
        "FiscalYearEndMonth": 12,
        "TaxInformation": {"TaxPayerIdType": "EIN", "TaxPayerId": f"74-{1000000 + i}"},
    }


def _association_unit(seed: int, i: int) -> dict[str, Any]:
    association = (i - 1) // UNITS_PER_PROPERTY + 1
    number = str(100 + (i - 1) % UNITS_PER_PROPERTY)
    return {
        "Id": i,
        "AssociationId": association,
        "AssociationName": _association(seed, association)["Name"],
        "UnitNumber": number,
        "Address": _address(seed, i),
        "UnitBedrooms": BEDROOMS[2 + i % 4],
        "UnitBathrooms": BATHROOMS[1 + i % 4],
        "UnitSize": 900 + (i % 12) * 150,
    }


def _owner(seed: int, i: int) -> dict[str, Any]:
    person = fake_person(seed, i)
    unit = _association_unit(seed, i)
    return {
        "Id": i,
        "FirstName": person["first"],
        "LastName": person["last"],
        "Email": person["email"],
        "AlternateEmail": f"owner{i}@mail.example.org",
        "PhoneNumbers": [
            {"Number": person["phone"], "Type": "Cell"},
            {"Number": f"512-555-{i % 10000:04d}", "Type": "Home"},
        ],
        "PrimaryAddress": unit["Address"],
        "AlternateAddress": _address(seed, 50_000_000 + i),
        "Comment": "Prefers email",
        "EmergencyContact": {
            "Name": f"Contact of {person['first']}",
            "RelationshipDescription": "Sibling",
            "Phone": f"512-555-{(i + 5000) % 10000:04d}",
            "Email": f"contact{i}@mail.example.org",
        },
        "MailingPreference": "PrimaryAddress",
        "TaxId": f"900-{i % 100:02d}-{i % 10000:04d}",
        "Vehicles": [],
        "BoardMemberTerms": [],
        "OccupiesUnit": i % 3 != 0,
        "CreatedDateTime": "2023-06-01T12:00:00Z",
        "DelinquencyStatus": "NoDelinquency",
        "OwnershipAccounts": [_account(seed, ACCOUNT_ID_BASE + i)],
    }


def _account(seed: int, account_id: int) -> dict[str, Any]:
    i = account_id - ACCOUNT_ID_BASE
    unit = _association_unit(seed, i)
    return {
        "Id": account_id,
        "AssociationId": unit["AssociationId"],
        "UnitId": i,
        "Status": "Active",
        "DateOfPurchase": "2020-03-01",
        "AssociationOwnerIds": [i],
        "DelinquencyStatus": "NoDelinquency",
    }


def _rental(seed: int, i: int) -> dict[str, Any]:
    index = i - RENTAL_ID_BASE
    return {
        "Id": i,
        "Name": f"{fake_words(seed, index, 'rental')} Apartments",
        "NumberUnits": UNITS_PER_PROPERTY,
        "IsActive": True,
        "OperatingBankAccountId": 2,
        "Reserve": 10000.0,
        "Address": _address(seed, 20_000_000 + index),
        "YearBuilt": 1980 + index % 40,
        "RentalType": "Residential",
        "RentalSubType": SUBTYPES[index % 3],
    }


def _rental_unit(seed: int, i: int) -> dict[str, Any]:
    index = i - RENTAL_ID_BASE
    prop = RENTAL_ID_BASE + index // UNITS_PER_PROPERTY
    number = str(1 + index % UNITS_PER_PROPERTY)
    rental = _rental(seed, prop)
    return {
        "Id": i,
        "PropertyId": prop,
        "UnitNumber": number,
        "Address": {**rental["Address"], "AddressLine2": f"Unit {number}"},
        "MarketRent": 1200.0 + (index % 10) * 75,
        "UnitBedrooms": BEDROOMS[1 + index % 4],
        "UnitBathrooms": BATHROOMS[1 + index % 3],
        "UnitSize": 600 + (index % 8) * 100,
        "IsUnitListed": index % 5 == 0,
        "IsUnitOccupied": index % 5 != 0,
    }


def _rental_owner(seed: int, i: int) -> dict[str, Any]:
    person = fake_person(seed, 30_000_000 + i)
    rental = _rental(seed, RENTAL_ID_BASE + i - 1)
    return {
        "Id": i,
        "IsCompany": False,
        "IsActive": True,
        "FirstName": person["first"],
        "LastName": person["last"],
        "Email": person["email"],
        "PhoneNumbers": [{"Number": person["phone"], "Type": "Home"}],
        "AlternateEmail": f"rental-owner{i}@mail.example.org",
        "Comment": "Owner since 2019",
        "Address": rental["Address"],
        "ManagementAgreementStartDate": "2019-01-01",
        "ManagementAgreementEndDate": "2029-12-31",
        "CompanyName": "",
        "PropertyIds": [rental["Id"]],
        "TaxInformation": {
            "TaxPayerIdType": "SSN",
            "TaxPayerId": f"900-{i % 100:02d}-{i % 10000:04d}",
            "TaxPayerName1": f"{person['first']} {person['last']}",
            "IncludeIn1099": True,
            "Address": rental["Address"],
        },
    }


def _tenant(seed: int, i: int) -> dict[str, Any]:
    person = fake_person(seed, 40_000_000 + i)
    unit = _rental_unit(seed, RENTAL_ID_BASE + i - 1)
    return {
        "Id": i,
        "FirstName": person["first"],
        "LastName": person["last"],
        "Email": person["email"],
        "PhoneNumbers": [{"Number": person["phone"], "Type": "Cell"}],
        "CreatedDateTime": "2024-02-01T09:00:00Z",
        "Address": unit["Address"],
        "MailingPreference": "PrimaryAddress",
        "Leases": [
            {
                "Id": i,
                "PropertyId": unit["PropertyId"],
                "UnitId": unit["Id"],
                "UnitNumber": unit["UnitNumber"],
                "LeaseStatus": "Active",
            }
        ],
    }
