"""Sending a Builder Backed write: a 404 to a write means a parent the record names is missing."""

from __future__ import annotations

from typing import Any

from hub.client.response import Response
from hub.client.vendor import VendorClient
from hub.errors import MissingParent, NotFound

__all__ = ["missing_parent", "send"]


async def send(
    client: VendorClient,
    method: str,
    path: str,
    body: Any,
    *,
    create: bool = False,
    parse: bool = True,
) -> Response:
    """Send a write; ``parse=False`` when its answer's body is not used (only its status)."""
    try:
        return await client.request(method, path, json=body, create=create, expect_json=parse)
    except NotFound as exc:
        raise missing_parent(exc) from None


def missing_parent(exc: NotFound) -> MissingParent:
    """A write answered 404: Builder Backed does not have a parent the record names."""
    return MissingParent(
        exc.message,
        vendor=exc.vendor,
        method=exc.method,
        path=exc.path,
        status=404,
        messages=exc.messages,
    )
