"""Bad input: a corpus of malformed vendor answers, each a typed error or a dead-letter entry.

Every case serves one malformed answer where a connector expects a page of records. The read
must either raise a typed ``HubError`` naming the vendor, or yield ``SourceRecord``s and
``ReadFailure``s (which the engine dead-letters with the reason). Nothing else may escape, and
no half-mapped record may come out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from connectors.builder_backed import BuilderBackedConnector, BuilderBackedSettings
from connectors.buildium import BuildiumConnector, BuildiumSettings
from connectors.propertybase import PropertybaseConnector, PropertybaseSettings
from hub.client.retry import RetryPolicy
from hub.connector import ReadEnd, ReadFailure, SourceRecord
from hub.errors import HubError
from hub.models import ENTITIES
from tests.conftest import Serve, Sleeps

JSON = "application/json"
HTML = "text/html"
HUGE = "x" * 3_000_000

# (status, content type, body) shared by every vendor: answers no vendor may send
GENERIC: list[tuple[str, int, str, bytes]] = [
    ("html 200", 200, HTML, b"<html><body>Maintenance</body></html>"),
    ("html 502", 502, HTML, b"<html><head><title>502 Bad Gateway</title></head></html>"),
    ("html as json", 200, JSON, b"<!DOCTYPE html><html></html>"),
    ("truncated", 200, JSON, b'[{"Id": 1, "Name": "Oak'),
    ("empty", 200, JSON, b""),
    ("invalid utf-8", 200, JSON, b'[{"Name": "\xff\xfe"}]'),
    ("null", 200, JSON, b"null"),
    ("number", 200, JSON, b"42"),
    ("string", 200, JSON, b'"ok"'),
    ("plain text 500", 500, "text/plain", b"Internal Server Error"),
    ("json 503", 503, JSON, b'{"message": "down"}'),
    ("huge string", 200, JSON, json.dumps([{"Id": 1, "Name": HUGE}]).encode()),
]

BUILDIUM: list[tuple[str, int, str, bytes]] = [
    ("object not list", 200, JSON, b'{"Id": 1}'),
    ("id as string", 200, JSON, b'[{"Id": "1", "Address": {"AddressLine1": "1 A St"}}]'),
    ("missing id", 200, JSON, b'[{"UnitNumber": "1"}]'),
    ("address is a list", 200, JSON, b'[{"Id": 1, "Address": ["1 A St"]}]'),
    (
        "bad state",
        200,
        JSON,
        b'[{"Id": 1, "Address": {"AddressLine1": "1 A", "State": "Texas", "Country": '
        b'"UnitedStates"}}]',
    ),
    (
        "bad zip",
        200,
        JSON,
        b'[{"Id": 1, "Address": {"AddressLine1": "1 A", "PostalCode": "ABCDE"}}]',
    ),
    ("no address", 200, JSON, b'[{"Id": 1, "UnitNumber": "1"}]'),
    (
        "unknown enums",
        200,
        JSON,
        b'[{"Id": 1, "UnitBedrooms": "Mansion", "UnitBathrooms": "Spa", '
        b'"Address": {"AddressLine1": "1 A St", "Country": "Atlantis"}}]',
    ),
    (
        "nulls everywhere",
        200,
        JSON,
        b'[{"Id": 1, "AssociationId": null, "UnitNumber": null, "UnitSize": null, '
        b'"Address": {"AddressLine1": "1 A St", "City": null, "State": null}}]',
    ),
    ("list of lists", 200, JSON, b"[[1, 2]]"),
    ("error body 200", 200, JSON, b'{"UserMessage": "oops", "ErrorCode": "X", "Errors": []}'),
    (
        "api error 422",
        422,
        JSON,
        b'{"UserMessage": "Validation failed", "Errors": [{"Key": "limit", "Value": "bad"}]}',
    ),
    ("bad total header", 200, JSON, b"[]"),
    (
        "negative size",
        200,
        JSON,
        b'[{"Id": 1, "UnitSize": -5, "Address": {"AddressLine1": "1 A St"}}]',
    ),
    ("nested junk", 200, JSON, b'[{"Id": 1, "Address": {"AddressLine1": {"x": 1}}}]'),
]

BUILDER_BACKED: list[tuple[str, int, str, bytes]] = [
    ("page without content", 200, JSON, b'{"page": 1, "totalElements": 0}'),
    ("content not a list", 200, JSON, b'{"content": {"externalId": "h"}}'),
    ("missing external id", 200, JSON, b'{"content": [{"addressLine1": "1 A St"}]}'),
    (
        "unknown home type",
        200,
        JSON,
        b'{"content": [{"externalId": "h", "addressLine1": "1 A", "city": "A", "state": "TX", '
        b'"postalCode": "78701", "type": "Castle"}]}',
    ),
    (
        "bad state",
        200,
        JSON,
        b'{"content": [{"externalId": "h", "addressLine1": "1 A", "city": "A", "state": "ZZ", '
        b'"postalCode": "78701", "type": "Single Family"}]}',
    ),
    (
        "bad date",
        200,
        JSON,
        b'{"content": [{"externalId": "h", "addressLine1": "1 A", "city": "A", "state": "TX", '
        b'"postalCode": "78701", "type": "Single Family", "closingDate": "soon"}]}',
    ),
    (
        "homeowner without email",
        200,
        JSON,
        b'{"content": [{"externalId": "h", "addressLine1": "1 A", "city": "A", "state": "TX", '
        b'"postalCode": "78701", "homeowners": [{"firstName": "A"}]}]}',
    ),
    (
        "homeowner bad email",
        200,
        JSON,
        b'{"content": [{"externalId": "h", "addressLine1": "1 A", "city": "A", "state": "TX", '
        b'"postalCode": "78701", "homeowners": [{"email": "nope", "firstName": "A"}]}]}',
    ),
    (
        "details not an object",
        200,
        JSON,
        b'{"content": [{"externalId": "h", "addressLine1": "1 A", "city": "A", "state": "TX", '
        b'"postalCode": "78701", "homeDetails": [1, 2]}]}',
    ),
    ("message 401", 401, JSON, b'{"status": 401, "message": "Invalid token"}'),
    ("bare array", 200, JSON, b'[{"externalId": "h"}]'),
    (
        "bad updatedAt",
        200,
        JSON,
        b'{"content": [{"externalId": "h", "addressLine1": "1 A", "city": "A", "state": "TX", '
        b'"postalCode": "78701", "updatedAt": "yesterday"}]}',
    ),
    ("content of numbers", 200, JSON, b'{"content": [1, 2, 3]}'),
]

PROPERTYBASE: list[tuple[str, int, str, bytes]] = [
    ("no envelope", 200, JSON, b'[{"id": 1}]'),
    ("unknown status", 200, JSON, b'{"status": "maybe", "data": []}'),
    (
        "failure with 200",
        200,
        JSON,
        b'{"status": "failure", "message": "Leads not listed", "errors": ["index locked"]}',
    ),
    (
        "unauthorized with 200",
        200,
        JSON,
        b'{"status": "unauthorized", "message": "no", "errors": ["API Key does not have '
        b'permissions to read leads"]}',
    ),
    ("success without data", 200, JSON, b'{"status": "success", "message": "ok"}'),
    ("data object for index", 200, JSON, b'{"status": "success", "data": {"id": 1}}'),
    ("errors not a list", 422, JSON, b'{"status": "failure", "errors": "bad"}'),
    (
        "lead without id",
        200,
        JSON,
        b'{"status": "success", "data": [{"first_name": "A", "email": "a@example.com"}]}',
    ),
    (
        "lead bad email",
        200,
        JSON,
        b'{"status": "success", "data": [{"id": 1, "first_name": "A", "email": "nope"}]}',
    ),
    ("lead without name", 200, JSON, b'{"status": "success", "data": [{"id": 1}]}'),
    (
        "bad updated_at",
        200,
        JSON,
        b'{"status": "success", "data": [{"id": 1, "first_name": "A", "updated_at": "x"}]}',
    ),
    ("data of strings", 200, JSON, b'{"status": "success", "data": ["a", "b"]}'),
    (
        "id as object",
        200,
        JSON,
        b'{"status": "success", "data": [{"id": {"x": 1}, "first_name": "A"}]}',
    ),
]


def app_serving(status: int, content_type: str, body: bytes) -> web.Application:
    """A vendor stand-in: a working token endpoint, and the malformed answer everywhere else."""

    async def token(request: web.Request) -> web.Response:
        return web.json_response(
            {"access_token": "tok-abcdef", "token_type": "Bearer", "expires_in": 3600}
        )

    async def anything(request: web.Request) -> web.Response:
        headers = {"X-Total-Count": "lots"} if body == b"[]" else {}
        return web.Response(status=status, body=body, content_type=content_type, headers=headers)

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


Factory = Callable[[str, Sleeps], Any]


def buildium(url: str, sleeps: Sleeps) -> Any:
    settings = BuildiumSettings(base_url=url, client_id="c", client_secret="s")  # type: ignore[arg-type]
    return BuildiumConnector(settings, sleep=sleeps, retry=RetryPolicy(max_attempts=2)), "home"


def builder_backed(url: str, sleeps: Sleeps) -> Any:
    settings = BuilderBackedSettings(base_url=url, client_id="c", client_secret="s")  # type: ignore[arg-type]
    return BuilderBackedConnector(settings, sleep=sleeps, retry=RetryPolicy(max_attempts=2)), "home"


def propertybase(url: str, sleeps: Sleeps) -> Any:
    settings = PropertybaseSettings(base_url=url, api_key="k")  # type: ignore[arg-type]
    return PropertybaseConnector(
        settings, sleep=sleeps, retry=RetryPolicy(max_attempts=2)
    ), "person"


CASES = [
    (name, factory, case)
    for name, factory, cases in (
        ("buildium", buildium, GENERIC + BUILDIUM),
        ("builder_backed", builder_backed, GENERIC + BUILDER_BACKED),
        ("propertybase", propertybase, GENERIC + PROPERTYBASE),
    )
    for case in cases
]


def test_the_corpus_is_large_enough() -> None:
    """At least fifty malformed answers are tried."""
    assert len(CASES) >= 50


@pytest.mark.parametrize(
    ("vendor", "factory", "case"), CASES, ids=[f"{c[0]}: {c[2][0]}" for c in CASES]
)
async def test_malformed_answer_is_typed_error_or_read_failure(
    serve: Serve, sleeps: Sleeps, vendor: str, factory: Factory, case: tuple[str, int, str, bytes]
) -> None:
    """The read raises a typed error naming the vendor, or yields records and ReadFailures."""
    _, status, content_type, body = case
    url = await serve(app_serving(status, content_type, body))
    connector, entity = factory(url, sleeps)
    items: list[Any] = []
    try:
        async with connector:
            async for item in connector.read(entity):
                items.append(item)
    except HubError as exc:
        assert vendor in str(exc) or getattr(exc, "vendor", "") == vendor
        assert HUGE not in str(exc) and len(str(exc)) < 2000
        return
    for item in items:
        assert isinstance(item, SourceRecord | ReadFailure | ReadEnd)
        if isinstance(item, ReadEnd):
            continue
        if isinstance(item, ReadFailure):
            assert item.reason and HUGE not in item.reason
        else:
            model = ENTITIES[entity]
            assert model.model_validate(item.record.model_dump()) == item.record


def test_read_that_skipped_records_exits_1_and_names_the_field(tmp_path: Any) -> None:
    """``prophub read`` prints what it could read, names each malformed record, and exits 1."""
    from typer.testing import CliRunner

    from hub.cli import app
    from tests.conftest import served_in_thread

    good = {
        "Id": 1,
        "Name": "Oak",
        "Address": {"AddressLine1": "1 Oak St", "Country": "UnitedStates"},
    }
    body = json.dumps([good, {"Id": 2, "Name": "Bad", "Address": "nowhere"}])
    with served_in_thread(app_serving(200, JSON, body.encode())) as (url,):
        path = tmp_path / "prophub.toml"
        path.write_text(
            f'[state]\nurl = "sqlite:///{tmp_path / "s.db"}"\n[connectors.hoa]\n'
            f'type = "buildium"\nbase_url = "{url}"\nclient_id = "i"\nclient_secret = "s"\n'
        )
        result = CliRunner().invoke(app, ["read", "hoa", "location", "--config", str(path)])
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1  # the good record
    assert "association 2: Address: expected an object" in result.output
    assert "skipped 1 malformed record(s) of 2 read" in result.output
