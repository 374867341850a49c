"""The kit fails, with a message saying what is wrong, for deliberately broken copies of the
built-in connectors; and it holds the parts of itself a connector does not exercise."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
import structlog

from connectors.buildium import BuildiumConnector
from connectors.buildium import plugin as buildium
from connectors.propertybase import PropertybaseConnector
from connectors.propertybase import plugin as propertybase
from hub.conformance import WriteCase, conformance_tests
from hub.conformance.faults import corrupt_first_record
from hub.connector import ReadEnd, ReadFailure, SourceRecord
from hub.models import CanonicalRecord
from tests.conformance.test_builtin_connectors import BUILDIUM_HOOD


class DropsSince(PropertybaseConnector):
    """Reads everything, whatever ``since`` says."""

    def read(
        self,
        entity: str,
        since: datetime | None = None,
        *,
        collections: Sequence[str] | None = None,
    ) -> AsyncIterator[SourceRecord | ReadFailure | ReadEnd]:
        return super().read(entity, None, collections=collections)


class LeaksItsKey(PropertybaseConnector):
    """Logs its API key when checking."""

    async def check(self) -> None:
        structlog.get_logger("vendor").info(
            "checking", key=self.settings.api_key.get_secret_value()
        )
        await super().check()


class FindsNothing(BuildiumConnector):
    """Never finds an existing record, so a create settled after a lost answer is sent again."""

    async def lookup(
        self, entity: str, record: CanonicalRecord, *, by: str | None = None
    ) -> str | None:
        return None


def broken(plugin: Any, connector: type, **kw: Any) -> Any:
    """The kit's test class for a copy of ``plugin`` with another connector class."""
    return conformance_tests(replace(plugin, connector=connector), **kw)()


def test_a_connector_that_drops_since_fails() -> None:
    """An incremental read that ignores ``since`` is caught, naming the problem."""
    suite = broken(propertybase, DropsSince, size=120, page_size=25)
    with pytest.raises(
        AssertionError, match=r"since=.*yielded 146 of the 146 records.*since is ignored"
    ):
        suite.test_incremental_person()


def test_a_connector_that_leaks_its_key_fails() -> None:
    """A credential in a log line is caught, and the failure does not print it."""
    suite = broken(propertybase, LeaksItsKey, size=20)
    with pytest.raises(AssertionError, match="a credential appears in 1 log line") as caught:
        suite.test_credentials_never_shown()
    assert "<SECRET>" in str(caught.value) and "pb-sandbox-key" not in str(caught.value)


def test_a_connector_that_duplicates_a_retried_create_fails() -> None:
    """A create whose answer was lost, sent again because the look-up finds nothing, is
    caught as a duplicate."""
    case = WriteCase("location", BUILDIUM_HOOD, BUILDIUM_HOOD.model_copy(update={"name": "x"}))
    suite = broken(
        buildium,
        FindsNothing,
        size=10,
        writes=[case],
        untested={"write:home": "-", "write:person": "-"},
    )
    with pytest.raises(AssertionError, match=r"whose answer was lost.*a duplicate"):
        suite.test_create_with_lost_answer_location()
    with pytest.raises(AssertionError, match=r"after a crash, lookup\('location'\) .* found None"):
        suite.test_create_after_crash_location()


def test_a_declared_write_without_a_case_fails_unless_excused() -> None:
    """A capability the kit cannot check is a failure, or a skip with the reason given."""
    suite = conformance_tests(propertybase, writes=[])()
    with pytest.raises(
        AssertionError, match="declares writes of 'person' but gives the kit no WriteCase"
    ):
        suite.test_write_person()
    excused = conformance_tests(propertybase, untested={"write:person": "covered elsewhere"})()
    with pytest.raises(pytest.skip.Exception, match="covered elsewhere"):
        excused.test_write_person()


def test_corrupting_finds_the_outermost_list_of_records() -> None:
    """The first record of the outermost list of objects is replaced, in an envelope too."""
    body = {"status": "success", "data": [{"id": 1, "tags": [{"x": 1}]}, {"id": 2}]}
    garbage = json.loads(corrupt_first_record(json.dumps(body).encode(), scramble=False))
    assert garbage["data"] == ["garbage", {"id": 2}]
    scrambled = json.loads(corrupt_first_record(json.dumps([{"Id": 1}]).encode(), scramble=True))
    assert scrambled == [{"Id": {"unexpected": ["Id"]}}]
    assert corrupt_first_record(b"not json", scramble=True) == b"not json"
