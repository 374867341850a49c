"""The Builder Backed sandbox's seeded records: a location chain above ``size`` homes.

Every record derives from the seed and its index (see :class:`~hub.sandbox.collection.Collection`):
25 homes a neighborhood, 4 neighborhoods a master community, 3 master communities a division,
the divisions spread over the account's regions.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from hub.sandbox.collection import Collection
from hub.sandbox.fake_data import fake_address, fake_person, fake_words

__all__ = [
    "BUILDER_ID",
    "HOMEOWNER_TYPES",
    "HOME_TYPES",
    "LEVELS",
    "REGIONS",
    "external_id",
    "seeded_collections",
]

REGIONS = ("Central Texas", "Phoenix Metro", "Denver Front Range", "Carolinas")
HOME_TYPES = ("Single Family", "Multi Family")
HOMEOWNER_TYPES = ("PRIMARY", "SECONDARY", "OTHER")
BUILDER_ID = 42
HOMES_PER_HOOD, HOODS_PER_MC, MCS_PER_DIVISION = 25, 4, 3

#: level -> (id prefix, parent field, parent level)
LEVELS: dict[str, tuple[str, str | None, str | None]] = {
    "divisions": ("bb-div", None, None),
    "master-communities": ("bb-mc", "divisionExternalId", "divisions"),
    "neighborhoods": ("bb-nh", "masterCommunityExternalId", "master-communities"),
    "homes": ("bb-home", "neighborhoodExternalId", "neighborhoods"),
}


def external_id(level: str, record_id: int) -> str:
    """The externalId of a seeded record (``bb-home-000042``)."""
    return f"{LEVELS[level][0]}-{record_id:06d}"


def seeded_collections(size: int, seed: int, regions: tuple[str, ...]) -> dict[str, Collection]:
    """The four levels' collections above ``size`` homes, each record made on demand."""
    hoods = math.ceil(size / HOMES_PER_HOOD)
    mcs = math.ceil(hoods / HOODS_PER_MC)
    divisions = math.ceil(mcs / MCS_PER_DIVISION)
    return {
        "divisions": Collection("divisions", divisions, partial(_division, regions)),
        "master-communities": Collection("master-communities", mcs, partial(_community, seed)),
        "neighborhoods": Collection("neighborhoods", hoods, partial(_neighborhood, seed)),
        "homes": Collection("homes", size, partial(_home, seed)),
    }


def _division(regions: tuple[str, ...], i: int) -> dict[str, Any]:
    name = f"{regions[(i - 1) % len(regions)]} Division {i}"
    return {
        "id": i,
        "externalId": external_id("divisions", i),
        "name": name,
        "displayName": name,
        "abbreviatedName": f"D{i}",
        "builderId": BUILDER_ID,
        "regionName": regions[(i - 1) % len(regions)],
        "active": True,
    }


def _community(seed: int, i: int) -> dict[str, Any]:
    name = fake_words(seed, i, "master-community")
    parent = (i - 1) // MCS_PER_DIVISION + 1
    return {
        "id": i,
        "externalId": external_id("master-communities", i),
        "name": name,
        "displayName": name,
        "abbreviatedName": f"MC{i}",
        "divisionExternalId": external_id("divisions", parent),
        "active": True,
    }


def _neighborhood(seed: int, i: int) -> dict[str, Any]:
    name = f"{fake_words(seed, i, 'neighborhood')} Phase {i % 3 + 1}"
    parent = (i - 1) // HOODS_PER_MC + 1
    return {
        "id": i,
        "externalId": external_id("neighborhoods", i),
        "name": name,
        "displayName": name,
        "abbreviatedName": f"NH{i}",
        "masterCommunityExternalId": external_id("master-communities", parent),
        "active": True,
    }


def _home(seed: int, i: int) -> dict[str, Any]:
    address = fake_address(seed, i)
    owners = []
    for n in range(1 + i % 2):
        person = fake_person(seed, i * 2 + n)
        owners.append(
            {
                "email": person["email"],
                "firstName": person["first"],
                "lastName": person["last"],
                "homeownerType": HOMEOWNER_TYPES[n],
            }
        )
    return {
        "id": i,
        "externalId": external_id("homes", i),
        "addressLine1": address["line1"],
        "city": address["city"],
        "state": address["state"],
        "postalCode": address["postal_code"],
        "type": HOME_TYPES[i % 7 == 0],
        "marketHome": i % 11 == 0,
        "model": ("Preston", "Laurel", "Aspen")[i % 3],
        "productCollection": ("Designer", "Classic")[i % 2],
        "jobId": f"JOB-{i:07d}",
        "neighborhoodExternalId": external_id("neighborhoods", (i - 1) // HOMES_PER_HOOD + 1),
        "homeDetails": {"Lot": str(i % 97 + 1), "Block": str(i % 13 + 1)},
        "homeowners": owners,
    }
