"""The document's prose rules on request messages, which the sandbox answers with a 422.

Most of them are written only in the fields' descriptions, so a schema validator passes the
requests; each case here is one rule broken in one message the connector sends, and the
sandbox must refuse it in Buildium's ApiErrorResponse shape, naming the field.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from connectors.buildium.contract import COUNTRIES
from tests.connectors.buildium.helpers import ADDRESS, call
from tests.connectors.buildium_openapi import SPEC_PATH, validate_all
from tests.connectors.conftest import RecordingBuildium

OWNER = {"FirstName": "A", "LastName": "B", "PrimaryAddress": ADDRESS}
RENTAL_OWNER = {
    "IsCompany": False,
    "FirstName": "R",
    "LastName": "O",
    "Address": ADDRESS,
    "PropertyIds": [100000],
}
UNIT = {"AssociationId": 1, "UnitNumber": "1", "Address": ADDRESS}
NOWHERE = {**ADDRESS, "Country": "Nowhere"}
NARNIA = {**ADDRESS, "State": "Narnia"}

# (method, path, body, the Errors key, whether a schema validator sees the request as invalid)
BROKEN: list[tuple[str, str, dict[str, Any], str, bool]] = [
    ("POST", "/v1/associations/units", {**UNIT, "Address": NOWHERE}, "Address.Country", True),
    ("POST", "/v1/associations/units", {**UNIT, "Address": NARNIA}, "Address.State", False),
    ("POST", "/v1/associations/units", {**UNIT, "UnitNumber": "U" * 45}, "UnitNumber", False),
    ("PUT", "/v1/associations/units/2", {"UnitNumber": "U" * 31, "Address": ADDRESS},
     "UnitNumber", False),
    ("PUT", "/v1/rentals/units/100001", {"UnitNumber": "U" * 31, "Address": ADDRESS},
     "UnitNumber", False),
    ("PUT", "/v1/associations/1",
     {"Name": "N", "OperatingBankAccountId": 1, "Address": NARNIA, "FiscalYearEndDay": 31,
      "FiscalYearEndMonth": 12}, "Address.State", False),
    ("PUT", "/v1/rentals/100000",
     {"Name": "R", "OperatingBankAccountId": 1, "RentalSubType": "SingleFamily",
      "Address": {**ADDRESS, "Country": "Canada", "State": "Yukon"}}, "Address.State", False),
    ("PUT", "/v1/associations/owners/1", {**OWNER, "PhoneNumbers": {"Home": "123"}},
     "PhoneNumbers.Home", False),
    ("PUT", "/v1/associations/owners/1",
     {**OWNER, "PhoneNumbers": {"Mobile": "1" * 21}}, "PhoneNumbers.Mobile", False),
    ("PUT", "/v1/associations/owners/1", {**OWNER, "AlternateAddress": NOWHERE},
     "AlternateAddress.Country", True),
    ("POST", "/v1/associations/owners",
     {**OWNER, "OwnershipAccountId": 200001, "IsOwnerOccupied": False, "SendWelcomeEmail": False,
      "PhoneNumbers": {"Work": "123"}}, "PhoneNumbers.Work", False),
    ("POST", "/v1/rentals/owners", {**RENTAL_OWNER, "PropertyIds": []}, "PropertyIds", False),
    ("PUT", "/v1/rentals/owners/1", {**RENTAL_OWNER, "PropertyIds": []}, "PropertyIds", False),
    ("POST", "/v1/rentals/owners", {**RENTAL_OWNER, "FirstName": ""}, "FirstName", False),
    ("PUT", "/v1/rentals/owners/1",
     {k: v for k, v in RENTAL_OWNER.items() if k != "LastName"}, "LastName", False),
    ("POST", "/v1/rentals/owners", {**RENTAL_OWNER, "IsCompany": True}, "CompanyName", False),
    ("POST", "/v1/rentals/owners", {**RENTAL_OWNER, "PhoneNumbers": {"Fax": "123"}},
     "PhoneNumbers.Fax", False),
    ("POST", "/v1/rentals/owners", {**RENTAL_OWNER, "Address": NOWHERE}, "Address.Country",
     True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "key", "schema_invalid"),
    BROKEN,
    ids=[f"{b[0]} {b[1]} {b[3]}" for b in BROKEN],
)
async def test_a_message_breaking_a_documented_rule_is_refused(
    box: RecordingBuildium,
    api: aiohttp.ClientSession,
    method: str,
    path: str,
    body: dict[str, Any],
    key: str,
    schema_invalid: bool,
) -> None:
    """Nothing is stored, and the 422 names the field that breaks the rule."""
    before = {name: dict(c.changed) for name, c in box.collections.items()}
    status, answer, _ = await call(api, method, path, json=body)
    assert status == 422, answer
    assert answer["ErrorCode"] == "ValidationError"
    assert key in [e["Key"] for e in answer["Errors"]]
    assert {name: dict(c.changed) for name, c in box.collections.items()} == before
    validate_all(box.exchanges, invalid_request=schema_invalid)


KEPT: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/associations/units",
     {**UNIT, "UnitNumber": "U" * 30, "Address": {**ADDRESS, "State": "texas"}}),
    ("PUT", "/v1/associations/owners/1",
     {**OWNER, "PhoneNumbers": {"Home": "5125550107", "Work": "+1 (512) 555-0107 x1"}}),
    ("PUT", "/v1/rentals/100000",
     {"Name": "R", "OperatingBankAccountId": 1, "RentalSubType": "SingleFamily",
      "Address": {**ADDRESS, "Country": "Canada", "State": "QC"}}),
    ("PUT", "/v1/rentals/owners/1",
     {"IsCompany": True, "CompanyName": "RO LLC", "Address": {**ADDRESS, "Country": "France",
      "State": "Narnia"}, "PropertyIds": [100000]}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), KEPT, ids=[f"{k[0]} {k[1]}" for k in KEPT])
async def test_a_message_at_the_rules_edges_is_accepted(
    box: RecordingBuildium, api: aiohttp.ClientSession, method: str, path: str, body: dict[str, Any]
) -> None:
    """A state by name in any case, 10- and 20-character numbers, a 30-character unit number,
    an unchecked state outside the US and Canada: all stored."""
    status, answer, _ = await call(api, method, path, json=body)
    assert status in (200, 201), answer
    validate_all(box.exchanges)


def test_the_countries_are_the_documents_enum() -> None:
    """The sandbox checks Country against exactly the document's enumeration."""
    spec = json.loads(SPEC_PATH.read_text())
    enum = spec["components"]["schemas"]["SaveAddressMessage"]["properties"]["Country"]["enum"]
    assert set(enum) == COUNTRIES
