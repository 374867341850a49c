"""Builder Backed documents through the connector: write, look-up, the delete forms, dates."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from connectors.builder_backed import BuilderBackedSandbox
from hub import errors
from hub.connector import ReadEnd, WriteAction
from hub.models import (
    Document,
    DocumentStorage,
)
from tests.connectors.builder_backed.helpers import connector


async def test_documents_write_lookup_and_delete(box: BuilderBackedSandbox) -> None:
    """A document is attached, found, replaced when it changes, and deleted."""
    doc = Document(
        key="doc-1",
        home_key="bb-home-000002",
        category="Warranty",
        name="W",
        url="https://files.example.com/w.pdf",
        storage=DocumentStorage.EXTERNAL_URL,
        shareable=True,
        display_from=date(2025, 1, 1),
    )
    async with connector(box) as warranty:
        assert (await warranty.write("document", doc, None)).action is WriteAction.CREATED
        assert (await warranty.write("document", doc, None)).action is WriteAction.UNCHANGED
        moved = doc.model_copy(update={"name": "Warranty 2025"})
        assert (await warranty.write("document", moved, "doc-1")).action is WriteAction.UPDATED
        assert await warranty.lookup("document", doc) == "doc-1"
        found = [i async for i in warranty.read("document") if not isinstance(i, ReadEnd)]
        await warranty.delete("document", "doc-1")
        assert await warranty.lookup("document", doc) is None
        with pytest.raises(errors.UnsupportedValue):
            await warranty.delete("home", "bb-home-000001")
    assert [i.record.name for i in found] == ["Warranty 2025"]  # type: ignore[union-attr]


async def test_every_documented_document_delete_form(box: BuilderBackedSandbox) -> None:
    """One document, a home's documents of a category, of a name, and all of them."""
    docs = [
        ("d1", "Warranty", "HVAC / Furnace"),
        ("d2", "Warranty", "Roof"),
        ("d3", "Manual", "Roof"),
        ("d4", "Home", "Floor Plan"),
        ("d5", "Home", "Survey"),
    ]
    async with connector(box) as warranty:
        for key, category, name in docs:
            doc = Document(
                key=key,
                home_key="bb-home-000002",
                category=category,
                name=name,
                url=f"https://files.example.com/{key}.pdf",
            )
            await warranty.write("document", doc, None)

        def left() -> list[str]:
            return [d["externalId"] for d in box.documents["bb-home-000002"]]

        await warranty.delete("document", "d1")
        assert left() == ["d2", "d3", "d4", "d5"]
        await warranty.delete_documents("bb-home-000002", name="Roof")
        assert left() == ["d4", "d5"]
        await warranty.delete_documents("bb-home-000002", category="Home")
        assert left() == []
        await warranty.write("document", doc, None)
        await warranty.delete_documents("bb-home-000002")
        assert left() == []
        with pytest.raises(errors.UnsupportedValue, match="not both"):
            await warranty.delete_documents("bb-home-000002", category="Home", name="Survey")


async def test_document_display_window_keeps_its_time_of_day(box: BuilderBackedSandbox) -> None:
    """displayStart and displayEnd reach Builder Backed with their time of day."""
    doc = Document(
        key="d-time",
        home_key="bb-home-000002",
        category="Warranty",
        name="W",
        url="https://files.example.com/w.pdf",
        display_from=datetime(2025, 1, 1, 8, 30),
        display_until=date(2035, 1, 1),
    )
    async with connector(box) as warranty:
        await warranty.write("document", doc, None)
        assert (await warranty.write("document", doc, None)).action is WriteAction.UNCHANGED
        found = [i.record async for i in warranty.read("document") if not isinstance(i, ReadEnd)]  # type: ignore[union-attr]
    stored = box.documents["bb-home-000002"][0]
    assert (stored["displayStart"], stored["displayEnd"]) == (
        "2025-01-01 08:30:00.000",
        "2035-01-01 00:00:00.000",
    )
    assert found == [doc]
