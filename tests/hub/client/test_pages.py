"""Paged reads: where the first page states the total, the rest are asked for together, and
everything a page-by-page read guarantees still holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from hub.client.limits import Limits
from hub.client.paging import Counted, OffsetLimit, PageNumber, ReadTally
from hub.client.response import Response
from hub.client.vendor import VendorClient
from tests.conftest import Serve, Sleeps


class ListEndpoint:
    """An offset/limit list with the total in ``X-Total-Count`` that counts the requests in
    flight at once; ``after`` lets a test change the list once a given offset was served."""

    def __init__(self, size: int) -> None:
        self.rows = list(range(size))
        self.in_flight = 0
        self.most_in_flight = 0
        self.asked: list[int] = []
        self.after: dict[int, Any] = {}

    async def handle(self, request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        self.asked.append(offset)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        for _ in range(5):  # a vendor takes a while to answer: the others get a turn
            await asyncio.sleep(0)
        self.in_flight -= 1
        rows, total = self.rows[offset : offset + limit], len(self.rows)
        if offset in self.after:
            self.after.pop(offset)(self.rows)
        return web.json_response(rows, headers={"X-Total-Count": str(total)})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/rows", self.handle)
        return app


def client(url: str, sleeps: Sleeps, concurrency: int = 4) -> VendorClient:
    limits = Limits(0, max_concurrency=concurrency, clock=sleeps.clock, sleep=sleeps)
    return VendorClient(vendor="acme", base_url=url, sleep=sleeps, limits=limits)


async def read(c: VendorClient, limit: int, tally: ReadTally | None = None) -> list[int]:
    rows: list[int] = []
    async for page in c.paginate("/rows", OffsetLimit(limit=limit), tally=tally):
        rows += page
    return rows


async def test_pages_after_the_first_are_asked_for_together_and_come_in_order(
    serve: Serve, sleeps: Sleeps
) -> None:
    """Ten pages of a stated total: several in flight at once (never more than the cap),
    every row once, in order, and the tally says the read is complete."""
    endpoint = ListEndpoint(30)
    async with client(await serve(endpoint.app()), sleeps, concurrency=4) as c:
        tally = ReadTally()
        rows = await read(c, 3, tally)
    assert rows == list(range(30))
    assert 1 < endpoint.most_in_flight <= 4
    assert sorted(endpoint.asked) == list(range(0, 30, 3))
    assert (tally.stated_total, tally.items) == (30, 30)


async def test_a_total_that_grows_mid_read_is_followed_to_its_end(
    serve: Serve, sleeps: Sleeps
) -> None:
    """Rows added while the pages are read are read too: the plan ends where a page states
    another total, and the read goes on page by page."""
    endpoint = ListEndpoint(12)
    endpoint.after[3] = lambda rows: rows.extend([100, 101, 102, 103])
    async with client(await serve(endpoint.app()), sleeps, concurrency=2) as c:
        rows = await read(c, 3)
    assert rows[:12] == list(range(12)) and rows[12:] == [100, 101, 102, 103]
    assert len(rows) == len(set(rows))


async def test_a_short_page_ends_the_plan_and_skips_nothing(serve: Serve, sleeps: Sleeps) -> None:
    """Rows removed mid-read make a planned page short: what follows is read from the next
    unread offset, so nothing past the change is skipped and nothing is read twice."""
    endpoint = ListEndpoint(12)
    endpoint.after[6] = lambda rows: rows.__delitem__(slice(10, 12))  # the last two go
    async with client(await serve(endpoint.app()), sleeps, concurrency=1) as c:
        rows = await read(c, 3)
    assert rows == list(range(10))


async def test_a_record_deleted_mid_read_leaves_the_read_unproven(
    serve: Serve, sleeps: Sleeps
) -> None:
    """A record read on the first page is deleted before the second is asked for: offset
    paging then skips the record that moved into its place, and the counts still match (11
    stated, 11 read). The total moved, so the tally states none and no deletion follows."""
    endpoint = ListEndpoint(12)
    endpoint.after[0] = lambda rows: rows.remove(1)
    async with client(await serve(endpoint.app()), sleeps, concurrency=1) as c:
        tally = ReadTally()
        rows = await read(c, 3, tally)
    assert 3 not in rows and len(rows) == 11  # the skipped one
    assert tally.moved and tally.stated_total is None


async def test_a_read_closed_early_leaves_no_request_behind(serve: Serve, sleeps: Sleeps) -> None:
    """A consumer that stops after two pages leaves no page being fetched."""
    endpoint = ListEndpoint(60)
    async with client(await serve(endpoint.app()), sleeps, concurrency=4) as c:
        pages = c.paginate("/rows", OffsetLimit(limit=3))
        seen = [await anext(pages), await anext(pages)]
        await pages.aclose()  # type: ignore[attr-defined]
        before = len(asyncio.all_tasks())
        await asyncio.sleep(0)
    assert seen == [[0, 1, 2], [3, 4, 5]]
    assert len(asyncio.all_tasks()) <= before
    assert len(endpoint.asked) < 20


async def test_no_stated_total_reads_page_by_page(serve: Serve, sleeps: Sleeps) -> None:
    """Without a total there is no plan: one page at a time, to the first short page."""

    async def handle(request: web.Request) -> web.Response:
        offset = int(request.query["offset"])
        return web.json_response(list(range(20))[offset : offset + 3])

    app = web.Application()
    app.router.add_get("/rows", handle)
    async with client(await serve(app), sleeps) as c:
        rows = await read(c, 3)
    assert rows == list(range(20))


async def test_an_unknown_end_is_read_ahead_and_what_lies_past_it_dropped(
    serve: Serve, sleeps: Sleeps
) -> None:
    """Page-numbered reads that end on a short page ask for ``read_ahead`` pages at once;
    every row comes once and in order, and at most a few pages past the end are asked for."""
    rows = list(range(23))
    asked: list[int] = []
    in_flight = most = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        number, size = int(request.query["page"]), int(request.query["per_page"])
        asked.append(number)
        in_flight += 1
        most = max(most, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1
        return web.json_response(rows[(number - 1) * size : number * size])

    app = web.Application()
    app.router.add_get("/rows", handle)
    limits = Limits(0, max_concurrency=4, clock=sleeps.clock, sleep=sleeps)
    url = await serve(app)
    async with VendorClient(
        vendor="acme", base_url=url, sleep=sleeps, limits=limits, read_ahead=3
    ) as c:
        read_rows: list[int] = []
        async for page in c.paginate("/rows", PageNumber(per_page=5)):
            read_rows += page
    assert read_rows == rows
    assert most > 1 and max(asked) <= 5 + 2  # the short page is 5; at most two past it
    assert len(asked) == len(set(asked))


class CountedPages:
    """A page-numbered list that states its total in the body (as Builder Backed does);
    ``faults`` answers a page number with an error status once."""

    def __init__(self, size: int) -> None:
        self.rows = list(range(size))
        self.asked: list[int] = []
        self.in_flight = self.most_in_flight = 0
        self.after: dict[int, Any] = {}
        self.faults: dict[int, tuple[int, dict[str, str]]] = {}

    async def handle(self, request: web.Request) -> web.Response:
        number, size = int(request.query["page"]), int(request.query["pageSize"])
        self.asked.append(number)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        self.in_flight -= 1
        if number in self.faults:
            status, headers = self.faults.pop(number)
            return web.json_response({"message": "try later"}, status=status, headers=headers)
        rows = self.rows[(number - 1) * size : number * size]
        if number in self.after:
            self.after.pop(number)(self.rows)
        return web.json_response({"content": rows, "totalElements": len(self.rows)})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/rows", self.handle)
        return app

    @staticmethod
    def items(response: Response) -> Counted:
        body = response.json()
        return Counted(body["content"], body["totalElements"])


async def read_counted(c: VendorClient, per_page: int, tally: ReadTally | None = None) -> list[int]:
    rows: list[int] = []
    paginator = PageNumber(per_page=per_page, per_page_param="pageSize")
    async for page in c.paginate("/rows", paginator, items=CountedPages.items, tally=tally):
        rows += page
    return rows


async def test_a_total_in_the_body_plans_a_page_numbered_read(serve: Serve, sleeps: Sleeps) -> None:
    """Builder Backed's ``totalElements``: the pages after the first go out together, come
    in order, none is asked for past the end, and the tally holds the total."""
    endpoint = CountedPages(29)
    async with client(await serve(endpoint.app()), sleeps, concurrency=4) as c:
        tally = ReadTally()
        rows = await read_counted(c, 3, tally)
    assert rows == list(range(29))
    assert 1 < endpoint.most_in_flight <= 4
    assert sorted(endpoint.asked) == list(range(1, 11))
    assert (tally.stated_total, tally.items) == (29, 29)


async def test_page_numbers_follow_a_total_that_changes_mid_read(
    serve: Serve, sleeps: Sleeps
) -> None:
    """Rows added, or removed, while the planned pages are out: the read goes on page by
    page from where the plan broke, every row present at the end read once."""
    grown = CountedPages(12)
    grown.after[2] = lambda rows: rows.extend([100, 101, 102, 103])
    shrunk = CountedPages(12)
    shrunk.after[2] = lambda rows: rows.__delitem__(slice(10, 12))
    async with client(await serve(grown.app()), sleeps, concurrency=2) as c:
        more = await read_counted(c, 3)
    async with client(await serve(shrunk.app()), sleeps, concurrency=1) as c:
        fewer = await read_counted(c, 3)
    assert more[:12] == list(range(12)) and more[12:] == [100, 101, 102, 103]
    assert fewer == list(range(10))


async def test_throttled_and_failing_pages_mid_read_are_asked_again_in_place(
    serve: Serve, sleeps: Sleeps
) -> None:
    """A 429 (Retry-After in seconds, and as an HTTP date) and a 503 on planned pages: each
    is asked again after the wait it was told, and the rows still come once, in order."""
    endpoint = CountedPages(30)
    date = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    endpoint.faults = {3: (429, {"Retry-After": "2"}), 5: (429, {"Retry-After": date})}
    endpoint.faults[7] = (503, {})
    async with client(await serve(endpoint.app()), sleeps, concurrency=4) as c:
        rows = await read_counted(c, 3)
    assert rows == list(range(30))
    assert sorted(set(endpoint.asked)) == list(range(1, 11))
    assert [endpoint.asked.count(n) for n in (3, 5, 7)] == [2, 2, 2]
    assert 2 in sleeps.delays and any(20 < d <= 30 for d in sleeps.delays)
