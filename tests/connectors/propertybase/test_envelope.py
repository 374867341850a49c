"""Decoding Propertybase's envelope from an answer, sans I/O."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.propertybase.connector import decode_envelope
from hub import errors
from hub.client.response import Response


def answer(status: int, body: bytes) -> Response:
    return Response(
        status, {"Content-Type": "application/json"}, body, "POST", "/api/v2/leads", "propertybase"
    )


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b'{"status":"success","message":"ok","data":[{"id":1}]}', [{"id": 1}]),
        (200, b'{"status":"success","message":"ok","data":{"id":1}}', {"id": 1}),
        (
            200,
            b'{"status":"failure","message":"Lead not created","errors":["locked"]}',
            errors.InvalidRecord,
        ),
        (
            200,
            b'{"status":"unauthorized","message":"no","errors":["API Key does not have '
            b'permissions to create leads"]}',
            errors.PermissionDenied,
        ),
        (200, b'{"status":"unauthorized","message":"no","errors":["bad key"]}', errors.AuthFailed),
        (200, b'{"data":[]}', errors.ProtocolError),
        (200, b'{"status":"success","message":"ok"}', errors.ProtocolError),
        (200, b"[1,2]", errors.ProtocolError),
        (200, b'{"status":"success","data":[', errors.ProtocolError),
        (200, b"<html>oops</html>", errors.ProtocolError),
    ],
)
def test_decode_envelope(status: int, body: bytes, expected: Any) -> None:
    """Envelopes decode to data, or to the error their status word means, whatever HTTP said."""
    if isinstance(expected, type):
        with pytest.raises(expected):
            decode_envelope(answer(status, body))
    else:
        assert decode_envelope(answer(status, body)) == expected
