"""A fresh PostgreSQL database per test, on the server this machine runs."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hub.state import async_url

#: set (to the server's URL) where a PostgreSQL server must be there: CI sets it in .ci/run,
#: and the PostgreSQL tests then fail rather than skip when it does not answer
REQUIRED = os.environ.get("PROPHUB_TEST_POSTGRES", "")
PG = REQUIRED or "postgresql://postgres@127.0.0.1:5432/test"


def postgres_up() -> bool:
    """Whether a PostgreSQL server answers where the tests expect one."""
    host = PG.split("@")[-1].split("/")[0]
    name, _, port = host.partition(":")
    try:
        with socket.create_connection((name, int(port or 5432)), timeout=1):
            return True
    except OSError:
        return False


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped afterwards (skips without a server)."""
    if not postgres_up():
        if REQUIRED:
            pytest.fail(f"PROPHUB_TEST_POSTGRES is set and no PostgreSQL server answers at {PG}")
        pytest.skip(f"no PostgreSQL server at {PG}")
    name = f"prophub_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(async_url(PG), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield PG.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()
