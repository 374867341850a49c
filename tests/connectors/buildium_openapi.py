"""Validate Buildium exchanges against Buildium's official OpenAPI document (openapi-core).

The document is kept beside this module (a copy of the shared vendor reference, so a bare
checkout tests against it too; ``buildium/test_sandbox.py`` holds the two equal where both
exist); it takes a few seconds to load, so it is loaded once per test session.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

SPEC_PATH = Path(__file__).resolve().parent / "buildium-openapi.json"
#: the vendor reference it was copied from, beside the repository where there is one
SHARED_SPEC = Path(__file__).resolve().parents[3] / "shared/vendors/buildium/openapi.json"
SERVER = "https://api.buildium.com"


@dataclass(frozen=True)
class Exchange:
    """One request the sandbox served and the answer it gave."""

    method: str
    path_qs: str
    headers: Mapping[str, str]
    body: bytes
    status: int
    response_headers: Mapping[str, str]
    response_body: bytes


@functools.cache
def spec() -> OpenAPI:
    """The official document, loaded once."""
    return OpenAPI.from_file_path(str(SPEC_PATH))


def _query(path_qs: str) -> dict[str, list[str] | str]:
    pairs = parse_qsl(urlsplit(path_qs).query, keep_blank_values=True)
    query: dict[str, list[str] | str] = {}
    for key, value in pairs:
        # The spec's array filters are form-exploded; the connector may send "1,2".
        query[key] = value
    return query


def validate(exchange: Exchange, *, invalid_request: bool = False) -> None:
    """Raise AssertionError naming the violation if request or response break the document.

    With ``invalid_request`` the request must break the document (a deliberate error case)
    and only the answer is checked against it.
    """
    split = urlsplit(exchange.path_qs)
    content_type = exchange.headers.get("Content-Type", "application/json").split(";")[0]
    request = MockRequest(
        SERVER,
        exchange.method,
        split.path,
        args=_query(exchange.path_qs),
        headers=dict(exchange.headers),
        data=exchange.body or None,
        content_type=content_type,
    )
    answer_type = exchange.response_headers.get("Content-Type", "application/json").split(";")[0]
    response = MockResponse(
        exchange.response_body,
        exchange.status,
        headers=dict(exchange.response_headers),
        content_type=answer_type,
    )
    openapi = spec()
    where = f"{exchange.method} {exchange.path_qs} -> {exchange.status}"
    try:
        openapi.validate_request(request)
    except Exception as exc:  # openapi-core raises many error types; report whichever came
        if not invalid_request:
            raise AssertionError(f"request {where}: {_describe(exc)}") from None
    else:
        if invalid_request:
            raise AssertionError(f"request {where} was expected to break the document")
    try:
        openapi.validate_response(request, response)
    except Exception as exc:
        raise AssertionError(f"response {where}: {_describe(exc)}") from None


def validate_all(exchanges: Sequence[Exchange], *, invalid_request: bool = False) -> int:
    """Validate every exchange; returns how many were checked."""
    for exchange in exchanges:
        validate(exchange, invalid_request=invalid_request)
    return len(exchanges)


def _describe(exc: BaseException) -> str:
    inner = getattr(exc, "schema_errors", None) or getattr(exc, "__cause__", None)
    detail = ""
    if isinstance(inner, list | tuple):
        detail = "; ".join(str(getattr(e, "message", e)) for e in inner[:3])
    elif inner is not None:
        nested = getattr(inner, "schema_errors", None)
        detail = "; ".join(str(getattr(e, "message", e)) for e in (nested or [inner])[:3])
    return f"{type(exc).__name__}: {exc} {detail}".strip()
