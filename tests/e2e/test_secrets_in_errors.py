"""Secrets in error text: a vendor that echoes the credentials in its error bodies never gets
them into an error line, ``check``'s output or a stored dead-letter reason.

The log lines were masked before; the error text built from the vendor's own messages was
not. A fake Buildium on loopback (run in a thread, since the command line runs its own event
loop) answers every write with a 422 and every check with a 401 that repeat the secret.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from typer.testing import CliRunner

from hub.cli import app

SECRET = "s3cr3t-client-secret-value"
ASSOCIATION = {
    "Id": 1,
    "Name": "Oak HOA",
    "Address": {
        "AddressLine1": "1 Oak St",
        "City": "Austin",
        "State": "TX",
        "PostalCode": "78701",
        "Country": "UnitedStates",
    },
}


def echoing_buildium(*, refuse_reads: bool, holds: bool) -> web.Application:
    def echo(status: int) -> web.Response:
        return web.json_response(
            {
                "UserMessage": f"key {SECRET} rejected",
                "ErrorCode": "ValidationError",
                "Errors": [{"Key": "Authorization", "Value": f"Bearer {SECRET}"}],
            },
            status=status,
        )

    async def associations(request: web.Request) -> web.Response:
        if refuse_reads:
            return echo(401)
        listed = [ASSOCIATION] if holds else []
        return web.json_response(listed, headers={"X-Total-Count": str(len(listed))})

    async def create(request: web.Request) -> web.Response:
        return echo(422)

    application = web.Application()
    application.router.add_get("/v1/associations", associations)
    application.router.add_post("/v1/associations", create)
    return application


@pytest.fixture
def vendors() -> Iterator[dict[str, str]]:
    """Three fake Buildiums in a thread: a source, a target that refuses every write with
    the secret in its answer, and one that refuses the credentials the same way."""
    loop = asyncio.new_event_loop()
    runners: list[web.AppRunner] = []
    urls: dict[str, str] = {}

    async def start() -> None:
        for name, refuse in (("source", False), ("target", False), ("bad", True)):
            application = echoing_buildium(refuse_reads=refuse, holds=name == "source")
            runner = web.AppRunner(application)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            port = runner.addresses[0][1]
            urls[name] = f"http://127.0.0.1:{port}"

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield urls

    async def stop() -> None:
        for runner in runners:
            await runner.cleanup()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def config(tmp_path: Path, urls: dict[str, str]) -> Path:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    blocks = [f'[state]\nurl = "sqlite:///{tmp_path / "state.db"}"\n']
    for name, url in urls.items():
        blocks.append(
            f'[connectors.{name}]\ntype = "buildium"\nbase_url = "{url}"\nclient_id = "id"\n'
            f'client_secret_file = "{secret_file}"\nrate_limit = 0\nmax_retries = 0\n'
        )
    blocks.append(
        '[[flows]]\nname = "copy"\nsource = "source"\ntarget = "target"\nentity = "location"\n'
    )
    path = tmp_path / "prophub.toml"
    path.write_text("\n".join(blocks))
    return path


def test_no_secret_in_sync_check_or_dead_letters(tmp_path: Path, vendors: dict[str, str]) -> None:
    """The vendor's echo of the secret is masked wherever the error text goes."""
    path = str(config(tmp_path, vendors))
    runner = CliRunner()
    outputs: list[Any] = []
    synced = runner.invoke(app, ["sync", "--config", path])
    outputs.append(synced.output)
    assert synced.exit_code == 1  # one record dead-lettered
    letters = runner.invoke(app, ["dlq", "list", "--config", path, "--json"])
    outputs.append(letters.output)
    assert "rejected" in letters.output and "***" in letters.output
    checked = runner.invoke(app, ["check", "--config", path])
    outputs.append(checked.output)
    assert checked.exit_code == 1 and "bad:" in checked.output and "***" in checked.output
    for output in outputs:
        assert SECRET not in output
