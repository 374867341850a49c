"""Tenant secrets at rest: sealed unless a reference, and every sealed value under the
newest key after a rotation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from hub.errors import ConfigError
from hub.tenants.sealing import SEALED, SecretBox, seal_tenant


class Settings(BaseModel):
    client_id: str = ""
    client_secret: SecretStr | None = None


KINDS: dict[str, type[Any]] = {"hoa": Settings}


@pytest.mark.parametrize(
    ("given", "stored_sealed"),
    [
        ("plain-secret", True),
        ("${ACME_SECRET}", False),  # a reference is kept as it is
        (f"{SEALED}already", True),  # sealed before: left alone
    ],
)
def test_a_secret_is_sealed_unless_a_reference(given: str, stored_sealed: bool) -> None:
    box = SecretBox([SecretBox.new_key()])
    body = {"name": "acme", "connectors": {"hoa": {"client_id": "id", "client_secret": given}}}
    stored = seal_tenant(body, KINDS, box)["connectors"]["hoa"]
    assert stored["client_id"] == "id"
    assert stored["client_secret"].startswith(SEALED) is stored_sealed
    assert given == stored["client_secret"] or box.open(stored["client_secret"]) == given


def test_a_rotation_leaves_no_value_under_the_old_key() -> None:
    """Also a secret of a connector the config has since dropped: after the rotation the
    old key can go."""
    old, new = SecretBox.new_key(), SecretBox.new_key()
    before = SecretBox([old])
    body = {
        "name": "acme",
        "connectors": {
            "hoa": {"client_secret": before.seal("hoa-secret")},
            "gone": {"api_key": before.seal("gone-secret")},
        },
    }
    rotated = seal_tenant(body, KINDS, SecretBox([new, old]), reseal=True)["connectors"]
    after = SecretBox([new])
    assert after.open(rotated["hoa"]["client_secret"]) == "hoa-secret"
    assert after.open(rotated["gone"]["api_key"]) == "gone-secret"
    with pytest.raises(ConfigError):
        before.open(rotated["hoa"]["client_secret"])
