"""The conformance kit on the three built-in connectors, each against its own sandbox."""

from __future__ import annotations

from connectors.builder_backed import BuilderBackedSandbox
from connectors.builder_backed import plugin as builder_backed
from connectors.buildium import plugin as buildium
from connectors.propertybase import plugin as propertybase
from hub.conformance import WriteCase, conformance_tests
from hub.models import Address, Document, Home, Location, Person, PersonRole
from hub.sandbox.server import SandboxServer

ADDRESS = Address(line1="9 Elm St", city="Austin", state="TX", postal_code="78701")


def lead(email: str, last: str = "Lee") -> Person:
    """A person with an email (Propertybase's natural key)."""
    return Person(key="conformance-person", first_name="Ada", last_name=last, emails=[email])


TestPropertybase = conformance_tests(
    propertybase,
    size=120,  # three developments: a read since one changed holds a third of them
    page_size=25,
    writes=[
        WriteCase(
            "person", lead("ada.conformance@example.com"), lead("ada.conformance@example.com", "Li")
        ),
        WriteCase(
            "location",
            Location(key="l", kind="master_community", name="Conformance Park", address=ADDRESS),
            Location(
                key="l",
                kind="master_community",
                name="Conformance Park",
                address=ADDRESS,
                description="changed",
            ),
        ),
    ],
)

BUILDIUM_HOOD = Location(key="k1", kind="neighborhood", name="Elm HOA", address=ADDRESS)


def unit(association: str, number: str = "12") -> Home:
    """A unit of an association (by Buildium ref)."""
    return Home(key="h", name=number, address=ADDRESS, neighborhood_key=association, bedrooms=3)


TestBuildium = conformance_tests(
    buildium,
    size=45,  # three associations
    page_size=10,
    writes=[
        WriteCase("location", BUILDIUM_HOOD, BUILDIUM_HOOD.model_copy(update={"description": "d"})),
        WriteCase(
            "home",
            unit("1"),
            unit("1").model_copy(update={"bedrooms": 4}),
            orphan=unit("buildium:association:999"),
        ),
    ],
    untested={
        "write:person": "an owner needs a unit with an open ownership account, which only "
        "Buildium opens (tests/connectors/buildium covers it)",
    },
)

BB_HOOD = "bb-nh-000001"
BB_HOME = "bb-home-000001"


def owner(last: str = "Lee") -> Person:
    """A homeowner of the first seeded home."""
    role = PersonRole(kind="homeowner", home_key=BB_HOME)
    return Person(
        key="p-conf",
        first_name="Ann",
        last_name=last,
        emails=["ann.conf@example.com"],
        roles=[role],
    )


def bb_home(neighborhood: str, model: str = "Preston") -> Home:
    """A home in a neighborhood (by external id)."""
    return Home(key="conf-home", address=ADDRESS, neighborhood_key=neighborhood, model=model)


def division(name: str = "Div") -> Location:
    """A division of a seeded region."""
    return Location(key="conf-div", kind="division", name=name, parent_name="Carolinas")


def document(name: str = "W") -> Document:
    """A document of the first seeded home."""
    return Document(
        key="conf-doc",
        home_key=BB_HOME,
        category="Warranty",
        name=name,
        url="https://files.example.com/w.pdf",
    )


def nested(box: SandboxServer) -> dict[str, int]:
    """The records Builder Backed's sandbox keeps inside homes: homeowners and documents."""
    assert isinstance(box, BuilderBackedSandbox)
    homes = box.collections["homes"]
    owners = sum(len((homes.get(i) or {}).get("homeowners") or []) for i in homes.ids())
    return {"homeowners": owners, "documents": sum(len(d) for d in box.documents.values())}


TestBuilderBacked = conformance_tests(
    builder_backed,
    size=301,  # two divisions: a read since one location of each level changed holds a third
    page_size=50,
    fault_entity="home",
    count=nested,
    writes=[
        WriteCase(
            "location",
            division(),
            division("Div 2"),
            orphan=Location(key="conf-nh", kind="neighborhood", name="N", parent_key="zz-none"),
        ),
        WriteCase("home", bb_home(BB_HOOD), bb_home(BB_HOOD, "Laurel"), orphan=bb_home("zz")),
        WriteCase("person", owner(), owner("Li")),
        WriteCase("document", document(), document("W2")),
    ],
)
