"""Reads whose next page the body names (an OData ``@odata.nextLink``, a cursor URL).

``VendorClient.paginate`` drives paginators that compute the next page from the params and
headers of the last one (offset and limit, page numbers). A vendor that names the next page
in the body instead is read with :func:`follow_links`: the same retries, limits and typed
errors, one page at a time, and a ``PaginationError`` when a link repeats.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from yarl import URL

from hub.client.paging import ReadTally
from hub.client.vendor import VendorClient
from hub.errors import PaginationError, ProtocolError

__all__ = ["LinkedPage", "follow_links"]

#: a page's decoded body -> (its items, the link to the next page or None)
LinkedPage = Callable[[Any], tuple[list[Any], str | None]]


async def follow_links(
    client: VendorClient,
    path: str,
    page: LinkedPage,
    *,
    params: Mapping[str, Any] | None = None,
    tally: ReadTally | None = None,
) -> AsyncIterator[list[Any]]:
    """Yield each page's items in order, following the links ``page`` finds in the bodies.

    A link may be absolute (under the client's base URL) or relative; its query string
    becomes the next request's params. A link away from the vendor's API is a
    ``ProtocolError``: following it would send the credentials elsewhere.
    """
    seen: set[str] = set()
    current_path = path
    current: Mapping[str, Any] | None = params
    while True:
        response = await client.request("GET", current_path, params=current)
        items, link = page(response.json())
        if tally is not None:
            tally.pages += 1
            tally.items += len(items)
        yield items
        if not link:
            return
        if link in seen:
            raise PaginationError(f"{client.vendor} {path}: the next link repeats ({link})")
        seen.add(link)
        current_path, current = _request_of(client, link, response.path)


def _request_of(client: VendorClient, link: str, asked: str) -> tuple[str, dict[str, str]]:
    """The path (under the client's base URL) and params a next link asks for; a relative
    link is read against the page that named it."""
    base = URL(client.base_url)
    target = URL(client.base_url + asked).join(URL(link))
    prefix = base.path.rstrip("/")
    same_host = (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
    if not same_host or not target.path.startswith(prefix):
        raise ProtocolError(
            "next link leads away from the vendor's API", vendor=client.vendor, path=asked
        )
    return target.path[len(prefix) :] or "/", dict(target.query)
