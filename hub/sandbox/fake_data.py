"""Seeded fake people, addresses and names: the same seed and index give the same record."""

from __future__ import annotations

import random

__all__ = ["fake_address", "fake_person", "fake_words"]

FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Steven",
    "Ashley",
    "Andrew",
    "Emily",
    "Joshua",
    "Michelle",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "Maria",
    "Carlos",
    "Wei",
    "Priya",
    "Omar",
    "Aisha",
    "Hiroshi",
    "Sofia",
    "Mateo",
    "Chloe",
    "Ethan",
    "Olivia",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Chen",
    "Patel",
]
STREETS = [
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Willow",
    "Birch",
    "Aspen",
    "Magnolia",
    "Juniper",
    "Sycamore",
    "Hickory",
    "Laurel",
    "Cypress",
    "Chestnut",
    "Dogwood",
    "Redwood",
    "Sequoia",
    "Spruce",
    "Walnut",
]
SUFFIXES = ("St", "Ave", "Ln", "Dr", "Ct", "Way", "Blvd", "Pl", "Trail", "Loop")
CITIES = (
    ("Austin", "TX", "787"),
    ("Round Rock", "TX", "786"),
    ("Phoenix", "AZ", "850"),
    ("Scottsdale", "AZ", "852"),
    ("Denver", "CO", "802"),
    ("Boise", "ID", "837"),
    ("Raleigh", "NC", "276"),
    ("Charlotte", "NC", "282"),
    ("Orlando", "FL", "328"),
    ("Tampa", "FL", "336"),
    ("Nashville", "TN", "372"),
    ("Atlanta", "GA", "303"),
    ("Las Vegas", "NV", "891"),
    ("Sacramento", "CA", "958"),
    ("Salt Lake City", "UT", "841"),
)
WORDS = [
    "Willow",
    "Creek",
    "Stone",
    "Ridge",
    "Meadow",
    "Brook",
    "Falcon",
    "Point",
    "Heritage",
    "Oaks",
    "Sunset",
    "Hills",
    "River",
    "Bend",
    "Eagle",
    "Crest",
    "Silver",
    "Lake",
    "Cedar",
    "Park",
    "Prairie",
    "View",
    "Harbor",
    "Pointe",
    "Aspen",
    "Grove",
    "Canyon",
    "Vista",
    "Mesa",
    "Verde",
    "Autumn",
    "Trace",
    "Bluebonnet",
    "Fields",
    "Highland",
    "Glen",
    "Copper",
    "Springs",
]


def _rng(seed: int, kind: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{kind}:{index}")


def fake_person(seed: int, index: int) -> dict[str, str]:
    """A realistic, deterministic person: first, last, email, phone."""
    rng = _rng(seed, "person", index)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "first": first,
        "last": last,
        "email": f"{first.lower()}.{last.lower()}{index}@example.com",
        "phone": f"{rng.randint(201, 989)}-555-{rng.randint(0, 9999):04d}",
    }


def fake_address(seed: int, index: int) -> dict[str, str]:
    """A realistic, deterministic US address: line1, city, state, postal_code."""
    rng = _rng(seed, "address", index)
    city, state, zip3 = rng.choice(CITIES)
    return {
        "line1": f"{rng.randint(100, 9999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}",
        "city": city,
        "state": state,
        "postal_code": f"{zip3}{rng.randint(1, 99):02d}",
    }


def fake_words(seed: int, index: int, kind: str = "community") -> str:
    """A realistic, deterministic two-word place name."""
    rng = _rng(seed, kind, index)
    return f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
