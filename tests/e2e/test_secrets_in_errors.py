"""Secrets in error text: a vendor that echoes the credentials in its error bodies never gets
them into an error line, ``check``'s output or a stored dead-letter reason.

The log lines were masked before; the error text built from the vendor's own messages was
not. A fake Buildium on loopback (run in a thread, since the command line runs its own event
loop) answers every write with a 422 and every check with a 401 that repeat the secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from typer.testing import CliRunner

from hub.cli import app
from tests.conftest import served_in_thread

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
    """Three fake Buildiums: a source, a target that refuses every write with the secret in
    its answer, and one that refuses the credentials the same way."""
    apps = [
        echoing_buildium(refuse_reads=False, holds=True),
        echoing_buildium(refuse_reads=False, holds=False),
        echoing_buildium(refuse_reads=True, holds=False),
    ]
    with served_in_thread(*apps) as urls:
        yield dict(zip(("source", "target", "bad"), urls, strict=True))


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
