"""Paged reads: a list endpoint's pages in order, those after the first asked for together
where the first says how far the read goes."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hub.client.paging import Counted, Page, Paginator, ReadTally
from hub.client.response import Response, list_body
from hub.errors import PaginationError

if TYPE_CHECKING:  # the client calls this module; only its type is needed here
    from hub.client.vendor import VendorClient

__all__ = ["read_pages"]


async def read_pages(
    client: VendorClient,
    path: str,
    paginator: Paginator,
    *,
    params: Mapping[str, Any] | None = None,
    items: Callable[[Response], list[Any] | Counted] | None = None,
    tally: ReadTally | None = None,
) -> AsyncIterator[list[Any]]:
    """Yield each page's items in order; ``PaginationError`` on a loop.

    Where the first page says how far the read goes (the paginator's ``plan``), the
    pages after it are asked for together, as many at a time as the connector's
    concurrency allows, and still yielded in order: a vendor's latency is then paid once
    per window, not once per page, and memory holds at most a window of pages. A page
    that does not hold what the plan expected (the total moved, a page came short) ends
    the plan, and the read goes on page by page from there, as a read with no plan
    does. Where the end is unknown (a paginator with ``after``, whose reads end on a short
    page), the client's ``read_ahead`` pages are asked for at once, and those past the end
    dropped. ``tally``, if given, counts the pages and items and keeps the total the
    paginator reads off each page.
    """
    stated = getattr(paginator, "total", None)
    extract = items or list_body
    yielded: set[tuple[tuple[str, str], ...]] = set()

    def marker(page_params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((k, str(v)) for k, v in {**(params or {}), **page_params}.items()))

    async def fetch(page_params: dict[str, Any]) -> Page:
        if marker(page_params) in yielded:
            raise PaginationError(f"{client.vendor} {path}: the same page was asked twice")
        response = await client.request("GET", path, params={**(params or {}), **page_params})
        found = extract(response)
        if isinstance(found, Counted):
            return Page(page_params, found.items, response.headers, found.total)
        return Page(page_params, found, response.headers)

    def taken(page: Page) -> int | None:
        """Count a page about to be yielded; the total it states."""
        yielded.add(marker(page.params))
        total = stated(page) if stated is not None else None
        if tally is not None:
            tally.add(page, total)
        return total

    page = await fetch(paginator.first())
    total = taken(page)
    yield page.items
    planner = getattr(paginator, "plan", None)
    expected = getattr(paginator, "expected", None)
    planned = planner(page) if planner is not None and expected is not None else None
    if planned and total is not None and expected is not None:
        window = max(1, client.limits.max_concurrency)
        waiting = iter(planned)
        pending: deque[asyncio.Task[Page]] = deque()
        try:
            while True:
                while len(pending) < window and (ahead := next(waiting, None)) is not None:
                    pending.append(asyncio.ensure_future(fetch(ahead)))
                if not pending:
                    return  # every planned page came as planned
                page = await pending.popleft()
                as_planned = len(page.items) == expected(page.params, total)
                as_planned = taken(page) == total and as_planned
                yield page.items
                if not as_planned:
                    break
        finally:
            await _cancelled(pending)
    next_params = paginator.next(page)
    following = getattr(paginator, "after", None)
    ahead = min(client.read_ahead, client.limits.max_concurrency)
    if next_params is not None and following is not None and ahead > 1:
        # The end is unknown (a short page says it): the next few pages are asked for at
        # once, and what lies past the end is dropped unread.
        pending = deque()
        upcoming: dict[str, Any] = next_params
        try:
            while True:
                while len(pending) < ahead:
                    pending.append(asyncio.ensure_future(fetch(upcoming)))
                    upcoming = following(upcoming)
                page = await pending.popleft()
                taken(page)
                yield page.items
                if paginator.next(page) is None:
                    return
        finally:
            await _cancelled(pending)
    while next_params is not None:
        page = await fetch(next_params)
        taken(page)
        yield page.items
        next_params = paginator.next(page)


async def _cancelled(tasks: Iterable[asyncio.Task[Page]]) -> None:
    """Cancel pages asked for ahead and no longer wanted, and wait for them to end."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
        for task in tasks:
            if not task.cancelled():
                task.exception()  # retrieved: a page no longer wanted may have failed
