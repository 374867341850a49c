"""Shared fixtures: loopback servers for small aiohttp apps, a recorded sleep, clean secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub import log

Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start aiohttp apps on loopback; yields a function returning each one's base URL."""
    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


class Sleeps:
    """A fake ``asyncio.sleep`` and clock: records each delay and advances virtual time."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.now = 0.0

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay

    def clock(self) -> float:
        """The virtual time."""
        return self.now


@pytest.fixture
def sleeps() -> Sleeps:
    """A recording sleep to inject instead of real backoff."""
    return Sleeps()


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """Each test starts with no registered secrets."""
    log.clear_secrets()
    yield
    log.clear_secrets()
