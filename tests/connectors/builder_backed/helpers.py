"""What the Builder Backed tests share: a home body, raw calls to the sandbox, a connector on it."""

from __future__ import annotations

from typing import Any

import aiohttp

from connectors.builder_backed import (
    BuilderBackedConnector,
    BuilderBackedSandbox,
    BuilderBackedSettings,
)
from hub.client.retry import RetryPolicy
from hub.models import (
    Address,
    Person,
    PersonRole,
)
from tests.conftest import Sleeps

HOME = {
    "externalId": "h-1",
    "addressLine1": "1 Oak St",
    "city": "Austin",
    "state": "TX",
    "postalCode": "78701",
    "type": "Single Family",
    "neighborhoodExternalId": "bb-nh-000001",
}


async def token(
    session: aiohttp.ClientSession,
    box: BuilderBackedSandbox,
    scope: str = "location.write home.write document.write",
) -> str:
    """A bearer token for the scopes, from the sandbox's token endpoint."""
    form = {
        "grant_type": "client_credentials",
        "client_id": box.credentials["client_id"],
        "client_secret": box.credentials["client_secret"],
        "scope": scope,
    }
    async with session.post(box.base_url + "/oauth2/token", data=form) as resp:
        body = await resp.json()
        assert resp.status == 200 and body["token_type"] == "Bearer"
        return str(body["access_token"])


async def call(
    session: aiohttp.ClientSession,
    box: BuilderBackedSandbox,
    method: str,
    path: str,
    bearer: str | None,
    **kw: Any,
) -> tuple[int, Any]:
    """One raw request to the sandbox: its status and JSON body."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with session.request(method, box.base_url + path, headers=headers, **kw) as resp:
        return resp.status, await resp.json()


def connector(
    box: BuilderBackedSandbox, sleeps: Sleeps | None = None, **overrides: Any
) -> BuilderBackedConnector:
    """A connector on the sandbox, its settings overridden by ``overrides``."""
    settings = BuilderBackedSettings.model_validate({**box.connector_table(), **overrides})
    return BuilderBackedConnector(
        settings, name="warranty", sleep=sleeps, retry=RetryPolicy(max_attempts=3)
    )


ADDRESS = Address(line1="9 Elm St", city="Austin", state="TX", postal_code="78701")


HOOD = "bb-nh-000001"


def make_owner(email: str, **extra: Any) -> Person:
    """A homeowner of the first seeded home."""
    return Person(
        key=f"p-{email}",
        first_name="Ann",
        last_name="Lee",
        emails=[email],
        roles=[PersonRole(kind="homeowner", home_key="bb-home-000001", **extra)],
    )


def stored_home(box: BuilderBackedSandbox, ext: str) -> dict[str, Any]:
    """The home as the sandbox stores it."""
    found = box._find("homes", ext)
    assert found is not None
    return found[1]


def set_owners(box: BuilderBackedSandbox, ext: str, owners: list[dict[str, Any]]) -> None:
    """Change a home's homeowners at the vendor, as someone else might."""
    found = box._find("homes", ext)
    assert found is not None
    box.collections["homes"].put(found[0], {**found[1], "homeowners": owners})
