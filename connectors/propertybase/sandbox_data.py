"""The Propertybase GO sandbox's seeded records: ``size`` leads and the rest in proportion.

Every record derives from the seed and its index (one office a hundred leads, ten agents,
three employees and two teams an office, one development per fifty leads).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from hub.sandbox.collection import Collection
from hub.sandbox.fake_data import fake_address, fake_person, fake_words

__all__ = ["PER_OFFICE", "seeded_collections", "seeded_nested"]

PER_OFFICE = 10


def seeded_collections(size: int, seed: int) -> dict[str, Collection]:
    """Each resource's collection above ``size`` leads, each record made on demand."""
    offices = max(1, math.ceil(size / 100))
    agents = offices * PER_OFFICE
    counts = {
        "offices": (offices, partial(_office, seed)),
        "agents": (agents, partial(_agent, seed)),
        "employees": (offices * 3, partial(_employee, seed)),
        "teams": (offices * 2, partial(_team, seed)),
        "leads": (size, partial(_lead, seed, agents)),
        "developments": (max(1, math.ceil(size / 50)), partial(_development, seed)),
    }
    return {name: Collection(name, count, make) for name, (count, make) in counts.items()}


def seeded_nested(seed: int, seeded: int, resource: str, development: int) -> list[dict[str, Any]]:
    """A seeded development's addresses (one) or floor plans (three); none past the ``seeded``
    developments."""
    if development > seeded:
        return []
    if resource == "addresses":
        return [{"id": 1, **_address(seed, 90_000_000 + development)}]
    return [
        {
            "id": n,
            "name": ("The Preston", "The Laurel", "The Aspen")[n - 1],
            "bedrooms": 2 + n,
            "bathrooms": 1.5 + n,
            "square_feet": 1400 + n * 350,
            "price": 350000 + n * 60000,
        }
        for n in (1, 2, 3)
    ]


def _address(seed: int, index: int) -> dict[str, Any]:
    fake = fake_address(seed, index)
    return {
        "street": fake["line1"],
        "city": fake["city"],
        "state": fake["state"],
        "zip": fake["postal_code"],
        "country": "US",
    }


def _office(seed: int, i: int) -> dict[str, Any]:
    city = fake_address(seed, 50_000_000 + i)["city"]
    return {
        "id": i,
        "name": f"{city} Office {i}",
        "email": f"office{i}@example.com",
        "phone": f"512-555-{1000 + i:04d}",
        "address": _address(seed, 50_000_000 + i),
        "active": True,
    }


def _person(seed: int, i: int, offset: int) -> dict[str, Any]:
    fake = fake_person(seed, offset + i)
    return {
        "id": i,
        "first_name": fake["first"],
        "last_name": fake["last"],
        "email": fake["email"],
        "phone": fake["phone"],
    }


def _agent(seed: int, i: int) -> dict[str, Any]:
    return {
        **_person(seed, i, 60_000_000),
        "office_id": (i - 1) // PER_OFFICE + 1,
        "team_id": (i - 1) // (PER_OFFICE // 2) + 1,
        "title": "Agent",
        "active": True,
    }


def _employee(seed: int, i: int) -> dict[str, Any]:
    return {
        **_person(seed, i, 70_000_000),
        "office_id": (i - 1) // 3 + 1,
        "title": ("Office Manager", "Coordinator", "Marketing")[i % 3],
        "active": True,
    }


def _team(seed: int, i: int) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"{fake_words(seed, i, 'team')} Team",
        "email": f"team{i}@example.com",
        "team_office_id": (i - 1) // 2 + 1,
        "active": True,
    }


def _lead(seed: int, agents: int, i: int) -> dict[str, Any]:
    return {
        **_person(seed, i, 80_000_000),
        "agent_id": (i - 1) % max(1, agents) + 1,
        "source": ("Website", "Zillow", "Referral", "Open House")[i % 4],
        "status": ("new", "active", "nurture")[i % 3],
    }


def _development(seed: int, i: int) -> dict[str, Any]:
    name = fake_words(seed, i, "development")
    return {
        "id": i,
        "name": f"{name} Estates",
        "description": f"New homes at {name}",
        "status": "selling",
        "active": True,
    }
