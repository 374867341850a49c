"""A vendor sandbox in a child process, as a vendor runs on its own machine.

The sandbox's work (generating pages, keeping its rate limit, sleeping out its latency) is
then not charged to the client being measured, which has the benchmark's process to itself.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any

import aiohttp

__all__ = ["SandboxProcess"]


class SandboxProcess:
    """``prophub sandbox VENDOR`` in a child process, for as long as the ``async with`` lasts.

    ``options`` are more ``prophub sandbox`` options, e.g. ``["--latency-ms", "500"]``.
    """

    def __init__(self, vendor: str, size: int, options: Sequence[str] = ()) -> None:
        self.vendor = vendor
        self.size = size
        self.options = list(options)
        self.base_url = ""
        self.credentials: dict[str, str] = {}
        #: the line the sandbox announced itself with
        self.announced: dict[str, Any] = {}
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> SandboxProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub",
            "sandbox",
            self.vendor,
            "--size",
            str(self.size),
            *self.options,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        self.announced = json.loads(await self._process.stdout.readline())
        self.base_url = self.announced["base_url"]
        self.credentials = self.announced["credentials"]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.terminate()
        await self._process.wait()

    def connector_table(self) -> dict[str, Any]:
        """A connector table pointing at this sandbox."""
        table: dict[str, Any] = {"type": self.vendor, "base_url": self.base_url}
        table.update(self.credentials)
        if self.vendor == "builder_backed":
            table["token_url"] = self.base_url + "/oauth2/token"
        return table

    async def _admin(self, method: str, path: str) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, f"{self.base_url}/_sandbox/{path}") as resp,
        ):
            return await resp.json()

    async def count(self, collection: str) -> int:
        """How many records the sandbox holds in ``collection``."""
        return int((await self._admin("GET", "records"))[collection])

    async def stats(self) -> dict[str, Any]:
        """The sandbox's request counts since its start or last :meth:`reset`."""
        stats: dict[str, Any] = await self._admin("GET", "stats")
        return stats

    async def reset(self) -> None:
        """Zero the sandbox's request counts."""
        await self._admin("POST", "reset")
