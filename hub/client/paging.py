"""Pagination strategies: the first request's params, then the next page's params or None."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Counted", "OffsetLimit", "Page", "PageNumber", "Paginator", "ReadTally", "SinglePage"]

Params = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Page:
    """One fetched page: the params that asked for it, its items and response headers, and
    the total its body stated (for a vendor that counts in the body, not a header)."""

    params: Params
    items: list[Any]
    headers: Mapping[str, str]
    total: int | None = None


@dataclass(frozen=True, slots=True)
class Counted:
    """What a page's ``items`` function returns where the body states the total: the items
    and that total (None where it is missing or no list can have it)."""

    items: list[Any]
    total: int | None


@dataclass(slots=True)
class ReadTally:
    """What a paged read learnt about its own completeness, for the caller to judge.

    ``stated_total`` is the total every page stated (None: the vendor stated none, a value
    no list can have, such as a negative count, or totals that moved during the read);
    ``items`` counts what the pages held.
    """

    stated_total: int | None = None
    items: int = 0
    pages: int = 0
    #: the total changed between pages: records came or went mid-read, and offset paging
    #: then skips or repeats one, so counts that match at the end prove nothing
    moved: bool = False

    def add(self, page: Page, total: int | None) -> None:
        """Count one page and keep the total it stated."""
        if self.pages and total != self.stated_total:
            self.moved = True
        self.pages += 1
        self.items += len(page.items)
        self.stated_total = None if self.moved else total


class Paginator(Protocol):
    """A paging strategy: where to start and where to go next."""

    def first(self) -> Params:
        """Params of the first page."""

    def next(self, page: Page) -> Params | None:
        """Params of the page after ``page``, or None when the read is complete."""


class SinglePage:
    """An endpoint that answers everything at once."""

    def first(self) -> Params:
        """No paging params."""
        return {}

    def next(self, page: Page) -> Params | None:
        """There is never a next page."""
        return None


@dataclass(frozen=True)
class OffsetLimit:
    """``offset``/``limit`` paging with the total in a header (Buildium).

    Stops at the total as the latest page reports it (it may change mid-read), on an empty
    page, or on a short page when no total is sent. A short page with more to come continues
    at the next unread offset rather than skipping.
    """

    limit: int = 1000
    offset_param: str = "offset"
    limit_param: str = "limit"
    total_header: str = "X-Total-Count"

    def first(self) -> Params:
        """Offset 0."""
        return {self.offset_param: 0, self.limit_param: self.limit}

    def next(self, page: Page) -> Params | None:
        """The next offset, unless the read is complete."""
        if not page.items:
            return None
        offset = int(page.params[self.offset_param]) + len(page.items)
        total = self.total(page)
        if total is None and len(page.items) < self.limit:
            return None
        if total is not None and offset >= total:
            return None
        return {self.offset_param: offset, self.limit_param: self.limit}

    def total(self, page: Page) -> int | None:
        """The total the page's header states; a missing, unreadable or negative one is None,
        so the read goes on to a short or empty page instead of stopping early."""
        return _int(page.headers.get(self.total_header))

    def plan(self, page: Page) -> list[Params] | None:
        """Every page after a full first one, where the first states how far the read goes
        (they may then be asked for together); None where it does not."""
        total = self.total(page)
        if total is None or len(page.items) != self.limit:
            return None
        start = int(page.params[self.offset_param]) + self.limit
        return [
            {self.offset_param: offset, self.limit_param: self.limit}
            for offset in range(start, total, self.limit)
        ]

    def expected(self, params: Params, total: int) -> int:
        """How many records the page at ``params`` holds if the total stays ``total``."""
        return max(0, min(self.limit, total - int(params[self.offset_param])))


@dataclass(frozen=True)
class PageNumber:
    """``page``/``per_page`` paging that stops on a short or empty page (Propertybase GO).

    Where the body states a total (Builder Backed's ``totalElements``, given through
    :class:`Counted`), a full first page plans the rest of the read.
    """

    per_page: int = 100
    page_param: str = "page"
    per_page_param: str = "per_page"
    start: int = 1

    def total(self, page: Page) -> int | None:
        """The total the page's body stated, if any."""
        return page.total

    def plan(self, page: Page) -> list[Params] | None:
        """Every page after a full first one, where the first states the total."""
        if page.total is None or len(page.items) != self.per_page:
            return None
        first = int(page.params[self.page_param])
        pages = -(-page.total // self.per_page)
        return [self.at(number) for number in range(first + 1, self.start + pages)]

    def expected(self, params: Params, total: int) -> int:
        """How many records the page at ``params`` holds if the total stays ``total``."""
        before = (int(params[self.page_param]) - self.start) * self.per_page
        return max(0, min(self.per_page, total - before))

    def at(self, number: int) -> Params:
        """The params of page ``number``."""
        return {self.page_param: number, self.per_page_param: self.per_page}

    def first(self) -> Params:
        """The first page."""
        return self.at(self.start)

    def next(self, page: Page) -> Params | None:
        """The following page, unless this one was short."""
        if len(page.items) < self.per_page:
            return None
        return self.after(page.params)

    def after(self, params: Params) -> Params:
        """The page after ``params``, whatever that one holds (for reading ahead)."""
        return self.at(int(params[self.page_param]) + 1)


def _int(value: str | None) -> int | None:
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None
