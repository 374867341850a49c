"""The connector SDK: one import for plugin authors, lazy, and its own two pieces (bearer
auth, next-link reads)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from hub import sdk
from hub.client.retry import RetryPolicy
from hub.client.vendor import VendorClient
from hub.errors import PaginationError, ProtocolError
from hub.secrets import mask
from tests.conftest import Serve, Sleeps


def test_every_exported_name_resolves() -> None:
    """Each name in ``hub.sdk.__all__`` is importable, and the contract version is there."""
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None, name
    declared = sdk.ConnectorPlugin.__dataclass_fields__["contract"].default
    assert declared == sdk.CONTRACT_VERSION
    with pytest.raises(AttributeError):
        sdk.FlowRun  # noqa: B018  (the engine is not the SDK)


def test_importing_the_sdk_loads_nothing_until_used() -> None:
    """``import hub.sdk`` costs neither aiohttp nor the engine; using the contract costs no
    HTTP stack either."""
    code = (
        "import sys, hub.sdk; a = 'aiohttp' in sys.modules; "
        "hub.sdk.ConnectorPlugin; b = 'aiohttp' in sys.modules; "
        "hub.sdk.HTTPConnector; print(a, b, 'aiohttp' in sys.modules, 'hub.sync' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "False", "True", "False"]


def pages_app(seen: list[str], links: list[str | None]) -> web.Application:
    """An OData-like list: page ``n`` names ``links[n]`` as the next one."""

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path_qs)
        n = int(request.query.get("$skip", "0")) // 2
        body: dict[str, Any] = {"value": [{"n": 2 * n}, {"n": 2 * n + 1}]}
        if links[n] is not None:
            body["@odata.nextLink"] = links[n]
        return web.json_response(
            body, headers={"Authorization-Seen": request.headers["Authorization"]}
        )

    app = web.Application()
    app.router.add_get("/odata/Property", handler)
    return app


def odata(body: Any) -> tuple[list[Any], str | None]:
    return body["value"], body.get("@odata.nextLink")


async def test_follow_links_reads_each_linked_page_with_a_bearer_token(
    serve: Serve, sleeps: Sleeps
) -> None:
    """Absolute and relative next links are followed in order; the bearer token is sent
    and is never shown in text."""
    seen: list[str] = []
    links: list[str | None] = ["", "Property?$skip=4&$top=2", None]
    url = await serve(pages_app(seen, links))
    links[0] = f"{url}/odata/Property?$skip=2&$top=2"  # absolute, as OData servers write it
    auth = sdk.BearerAuth(SecretStr("token-abc-123456"))
    client = VendorClient(vendor="reso", base_url=url + "/odata", auth=auth, sleep=sleeps)
    async with client:
        pages = [p async for p in sdk.follow_links(client, "/Property", odata, params={"$top": 2})]
    assert [[i["n"] for i in p] for p in pages] == [[0, 1], [2, 3], [4, 5]]
    assert seen == [
        "/odata/Property?$top=2",
        "/odata/Property?$skip=2&$top=2",
        "/odata/Property?$skip=4&$top=2",
    ]
    assert "token-abc-123456" not in repr(auth) and mask("token-abc-123456") == "***"


async def test_a_repeated_or_foreign_link_is_refused(serve: Serve, sleeps: Sleeps) -> None:
    """A link that repeats is a loop; one to another host would carry the token away."""
    seen: list[str] = []
    url = await serve(pages_app(seen, ["Property?$skip=2", "Property?$skip=2", None]))
    retry = RetryPolicy(max_attempts=1)
    async with VendorClient(
        vendor="reso",
        base_url=url + "/odata",
        sleep=sleeps,
        retry=retry,
        auth=sdk.BearerAuth(SecretStr("token-abc-123456")),
    ) as client:
        with pytest.raises(PaginationError, match="repeats"):
            _ = [p async for p in sdk.follow_links(client, "/Property", odata)]
    seen.clear()
    url = await serve(pages_app(seen, ["http://elsewhere.example/odata/Property?$skip=2", None]))
    async with VendorClient(
        vendor="reso",
        base_url=url + "/odata",
        sleep=sleeps,
        retry=retry,
        auth=sdk.BearerAuth(SecretStr("token-abc-123456")),
    ) as client:
        with pytest.raises(ProtocolError, match="away from the vendor"):
            _ = [p async for p in sdk.follow_links(client, "/Property", odata)]
    assert len(seen) == 1
