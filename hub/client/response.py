"""A vendor's answer, read whole: its JSON decoding and the messages of an error body.

Pure functions of status, headers and body (no session, no I/O), so a connector's own
parsing and the client's checks share them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from pydantic_core import from_json

from hub.client.retry import parse_retry_after
from hub.errors import ProtocolError, RateLimited, VendorError, error_for_status

__all__ = [
    "JSON_TYPE",
    "ErrorMessages",
    "Response",
    "decode_json",
    "default_error_messages",
    "error_for_response",
    "is_html",
    "json_object",
    "list_body",
    "reason",
    "request_id",
]

ErrorMessages = Callable[[int, Mapping[str, str], bytes], list[str]]
JSON_TYPE = "application/json"
_REQUEST_ID_HEADERS = ("X-Request-Id", "X-Amzn-RequestId", "Request-Id", "X-Correlation-Id")


@dataclass(slots=True)  # not frozen: one is made per request, and frozen init costs 4x
class Response:
    """A complete answer: status, headers and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    method: str
    path: str
    vendor: str = ""
    _decoded: list[Any] = field(default_factory=list, repr=False, compare=False)

    def json(self) -> Any:
        """The body as JSON; ``ProtocolError`` for HTML pages, truncated or invalid JSON."""
        if not self._decoded:  # decoded once: the client checks it, then the caller uses it
            self._decoded.append(
                decode_json(
                    self.vendor, self.method, self.path, self.status, self.headers, self.body
                )
            )
        return self._decoded[0]

    def unexpected(self, problem: str, **kw: Any) -> ProtocolError:
        """The ``ProtocolError`` for this answer: ``problem`` says what came instead of what."""
        return ProtocolError(
            problem,
            vendor=self.vendor,
            method=self.method,
            path=self.path,
            status=self.status,
            **kw,
        )


def decode_json(
    vendor: str, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
) -> Any:
    """Decode a JSON body or raise a ``ProtocolError`` saying what came instead."""
    context = {"vendor": vendor, "method": method, "path": path, "status": status}
    if is_html(headers, body):
        raise ProtocolError("HTML page instead of JSON", **context)  # type: ignore[arg-type]
    try:
        # pydantic-core's parser: twice as fast as json.loads on a page of records, and a
        # body nested past its depth limit is a ValueError here, not a RecursionError.
        return from_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProtocolError("body is not valid UTF-8", **context) from None  # type: ignore[arg-type]
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise ProtocolError(
                "JSON nested too deeply to read",
                worth_retrying=False,
                **context,
            ) from None
        problem = "empty body" if not body.strip() else "truncated or invalid JSON"
        raise ProtocolError(problem, **context) from None  # type: ignore[arg-type]


def is_html(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether an answer is a web page (a proxy's, a login's, an outage's), not API data."""
    if "html" in headers.get("Content-Type", "").lower():
        return True
    first = body[:1]
    return first == b"<" or (first.isspace() and body[:256].lstrip()[:1] == b"<")


def list_body(response: Response) -> list[Any]:
    """The body as a JSON list; ``ProtocolError`` for anything else."""
    data = response.json()
    if not isinstance(data, list):
        raise response.unexpected("expected a JSON list")
    return data


def error_for_response(response: Response, messages: list[str], create: bool) -> VendorError:
    """The typed error an error status stands for (``RateLimited`` with its ``Retry-After``).

    ``create``: the call was a create, so a 5xx leaves its outcome unknown.
    """
    status = response.status
    kw: dict[str, Any] = {
        "vendor": response.vendor,
        "method": response.method,
        "path": response.path,
        "status": status,
        "messages": messages,
        "request_id": request_id(response.headers),
        "outcome_unknown": create and status >= 500,
    }
    cls = error_for_status(status)
    if cls is RateLimited:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimited("rate limited", retry_after=retry_after, **kw)
    return cls(reason(status), **kw)


def request_id(headers: Mapping[str, str]) -> str | None:
    """The vendor's id for this exchange, from the first request-id header it sent."""
    for name in _REQUEST_ID_HEADERS:
        if name in headers:
            return headers[name]
    return None


def reason(status: int) -> str:
    """The standard phrase for an HTTP status, or ``HTTP <status>`` for an unknown one."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def json_object(body: bytes) -> dict[str, Any] | None:
    """An error body's JSON object, or None when the body is not JSON or not an object.

    Lenient on purpose: an error body is read for its messages, never trusted for data.
    """
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def default_error_messages(status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
    """A vendor-neutral guess at an error body's messages: JSON message fields, else text."""
    try:
        data = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return [text[:500]] if text and "html" not in headers.get("Content-Type", "") else []
    if isinstance(data, dict):
        found = [str(data[k]) for k in ("message", "error", "UserMessage", "detail") if data.get(k)]
        errors = data.get("errors")
        if isinstance(errors, list):
            found += [str(e)[:500] for e in errors]
        return found
    return []
