"""The Buildium sandbox, every exchange validated against Buildium's OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from connectors.buildium import BuildiumSandbox
from hub.sandbox.options import SandboxOptions
from tests.connectors.buildium.helpers import ADDRESS, call
from tests.connectors.buildium_openapi import SHARED_SPEC, SPEC_PATH, validate_all
from tests.connectors.conftest import RecordingBuildium

LISTS = [
    "/v1/associations",
    "/v1/associations/units",
    "/v1/associations/owners",
    "/v1/rentals",
    "/v1/rentals/units",
    "/v1/rentals/owners",
    "/v1/leases/tenants",
]


GETS = [
    "/v1/associations/1",
    "/v1/associations/units/2",
    "/v1/associations/owners/3",
    "/v1/rentals/100000",
    "/v1/rentals/units/100001",
    "/v1/rentals/owners/1",
    "/v1/leases/tenants/4",
]


async def test_every_read_operation_validates(
    box: RecordingBuildium, api: aiohttp.ClientSession
) -> None:
    """Each list (with X-Total-Count) and get answers as the document says."""
    for path in LISTS:
        status, body, headers = await call(api, "GET", path, params={"limit": 10})
        assert status == 200 and isinstance(body, list) and int(headers["X-Total-Count"]) > 0
    for path in GETS:
        status, body, _ = await call(api, "GET", path)
        assert status == 200 and body["Id"] == int(path.rsplit("/", 1)[1])
    assert validate_all(box.exchanges) == len(LISTS) + len(GETS)


WRITES = [
    (
        "POST",
        "/v1/associations",
        {"Name": "Oak HOA", "Address": ADDRESS, "OperatingBankAccountId": 1},
        201,
    ),
    (
        "PUT",
        "/v1/associations/1",
        {
            "Name": "Oak HOA 2",
            "Address": ADDRESS,
            "OperatingBankAccountId": 1,
            "FiscalYearEndDay": 31,
            "FiscalYearEndMonth": 12,
        },
        200,
    ),
    (
        "POST",
        "/v1/associations/units",
        {"AssociationId": 1, "UnitNumber": "9", "Address": ADDRESS, "UnitBedrooms": "TwoBed"},
        201,
    ),
    ("PUT", "/v1/associations/units/1", {"UnitNumber": "9A", "Address": ADDRESS}, 200),
    (
        "POST",
        "/v1/associations/owners",
        {
            "FirstName": "A",
            "LastName": "B",
            "PrimaryAddress": ADDRESS,
            "IsOwnerOccupied": True,
            "OwnershipAccountId": 200_002,
            "SendWelcomeEmail": False,
        },
        201,
    ),
    (
        "PUT",
        "/v1/associations/owners/2",
        {"FirstName": "A", "LastName": "C", "PrimaryAddress": ADDRESS},
        200,
    ),
    (
        "POST",
        "/v1/rentals",
        {
            "Name": "Elm Apts",
            "Address": ADDRESS,
            "OperatingBankAccountId": 2,
            "RentalSubType": "MultiFamily",
        },
        201,
    ),
    (
        "PUT",
        "/v1/rentals/100000",
        {
            "Name": "Elm Apts 2",
            "Address": ADDRESS,
            "OperatingBankAccountId": 2,
            "RentalSubType": "MultiFamily",
        },
        200,
    ),
    (
        "POST",
        "/v1/rentals/units",
        {"PropertyId": 100000, "UnitNumber": "21", "Address": ADDRESS},
        201,
    ),
    ("PUT", "/v1/rentals/units/100001", {"UnitNumber": "21B", "Address": ADDRESS}, 200),
    (
        "POST",
        "/v1/rentals/owners",
        {
            "IsCompany": False,
            "FirstName": "R",
            "LastName": "O",
            "Address": ADDRESS,
            "PropertyIds": [100000],
        },
        201,
    ),
    (
        "PUT",
        "/v1/rentals/owners/1",
        {"IsCompany": True, "CompanyName": "RO LLC", "Address": ADDRESS, "PropertyIds": [100000]},
        200,
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES]
)
async def test_every_write_operation_validates(
    box: RecordingBuildium,
    api: aiohttp.ClientSession,
    method: str,
    path: str,
    body: dict[str, Any],
    expected: int,
) -> None:
    """Creates answer 201 and updates 200, both shaped as the document says."""
    status, answer, _ = await call(api, method, path, json=body)
    assert status == expected, answer
    validate_all(box.exchanges)


# (method, path, request options, status, whether the request itself breaks the document)
ERRORS = [
    ("GET", "/v1/associations", {"params": {"limit": "0"}}, 400, False),
    ("GET", "/v1/associations/units", {"params": {"limit": "1001"}}, 400, False),
    ("GET", "/v1/associations/owners", {"params": {"lastupdatedfrom": "yesterday"}}, 400, True),
    ("GET", "/v1/associations/999999", {}, 404, False),
    ("GET", "/v1/rentals/units/5", {}, 404, False),
    (
        "POST",
        "/v1/associations",
        {"data": "Name=x", "headers": {"Content-Type": "text/plain"}},
        415,
        True,
    ),
    ("POST", "/v1/associations", {"json": {"Name": "x"}}, 422, True),
    (
        "POST",
        "/v1/associations/units",
        {
            "json": {
                "AssociationId": 1,
                "UnitNumber": "1",
                "Address": ADDRESS,
                "UnitBedrooms": "TenBed",
            }
        },
        422,
        True,
    ),
    ("PUT", "/v1/associations/owners/1", {"json": {"FirstName": "A"}}, 422, True),
    (
        "POST",
        "/v1/associations/units",
        {"json": {"AssociationId": 999, "UnitNumber": "1", "Address": ADDRESS}},
        404,
        False,
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "kw", "expected", "invalid"),
    ERRORS,
    ids=[f"{e[0]} {e[1]} {e[3]}" for e in ERRORS],
)
async def test_error_cases_validate(
    box: RecordingBuildium,
    api: aiohttp.ClientSession,
    method: str,
    path: str,
    kw: dict[str, Any],
    expected: int,
    invalid: bool,
) -> None:
    """Bad parameters, unknown ids, wrong content type and invalid input answer as documented."""
    status, body, _ = await call(api, method, path, **kw)
    assert status == expected
    assert set(body) == {"UserMessage", "ErrorCode", "Errors"}
    if expected == 422:
        assert body["Errors"] and all({"Key", "Value"} == set(e) for e in body["Errors"])
    validate_all(box.exchanges, invalid_request=invalid)


async def test_missing_or_wrong_credentials_are_401(box: RecordingBuildium) -> None:
    """Both headers are required and must match."""
    async with aiohttp.ClientSession(base_url=box.base_url) as session:
        for headers in (
            {},
            {"x-buildium-client-id": box.credentials["client_id"]},
            {
                "x-buildium-client-id": box.credentials["client_id"],
                "x-buildium-client-secret": "wrong",
            },
        ):
            async with session.get("/v1/associations", headers=headers) as resp:
                assert resp.status == 401
                assert (await resp.json())["ErrorCode"] == "Unauthorized"
    # No header at all breaks the document's security; one header satisfies it (the document
    # lists the two schemes as alternatives), yet Buildium needs both, as the sandbox does.
    validate_all(box.exchanges[:1], invalid_request=True)
    validate_all(box.exchanges[1:])


async def test_paging_filters_and_incremental(
    box: RecordingBuildium, api: aiohttp.ClientSession
) -> None:
    """offset/limit page in id order; associationids and lastupdatedfrom filter."""
    _, first, headers = await call(
        api, "GET", "/v1/associations/units", params={"offset": "40", "limit": "10"}
    )
    assert [u["Id"] for u in first] == [41, 42, 43, 44, 45] and headers["X-Total-Count"] == "45"
    _, units, headers = await call(
        api, "GET", "/v1/associations/units", params={"associationids": "2"}
    )
    assert {u["AssociationId"] for u in units} == {2} and headers["X-Total-Count"] == "20"
    since = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    box.collections["association-units"].put(7, box.collections["association-units"].get(7) or {})
    _, changed, headers = await call(
        api, "GET", "/v1/associations/units", params={"lastupdatedfrom": since}
    )
    assert [u["Id"] for u in changed] == [7] and headers["X-Total-Count"] == "1"
    _, desc, _ = await call(api, "GET", "/v1/associations", params={"orderby": "id desc"})
    assert [a["Id"] for a in desc] == [3, 2, 1]
    validate_all(box.exchanges)


async def test_a_million_records_cost_no_memory() -> None:
    """A sandbox of a million units starts at once and serves a deep page from derived data."""
    async with BuildiumSandbox(SandboxOptions(size=1_000_000)) as big:
        headers = {
            "x-buildium-client-id": big.credentials["client_id"],
            "x-buildium-client-secret": big.credentials["client_secret"],
        }
        query = {"offset": "999000", "limit": "1000"}
        async with (
            aiohttp.ClientSession(base_url=big.base_url, headers=headers) as session,
            session.get("/v1/associations/units", params=query) as resp,
        ):
            units = await resp.json()
            assert resp.headers["X-Total-Count"] == "1000000"
        assert len(units) == 1000 and units[-1]["Id"] == 1_000_000
        assert all(not c.changed for c in big.collections.values())


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="no vendor references beside the checkout")
def test_the_contract_copy_is_buildiums_document() -> None:
    """The OpenAPI document the tests validate against is the vendor reference, unchanged."""
    assert SPEC_PATH.read_bytes() == SHARED_SPEC.read_bytes()
