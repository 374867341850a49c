"""``prophub tenants``: add, list, show, remove, rotate; and ``prophub sync --tenant``."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.app import Hub
from hub.cli import app
from hub.config import load_config
from hub.errors import ConfigError
from hub.state import StateStore
from hub.tenants import SecretBox

runner = CliRunner()

CONFIG = """
[state]
url = "sqlite:///{state}"

[connectors.hoa]
type = "buildium"
base_url = "http://127.0.0.1:9"
client_id = "default-id"
client_secret = "default-secret"

[connectors.warranty]
type = "builder_backed"
base_url = "http://127.0.0.1:9"
client_id = "default-id"
client_secret = "default-secret"

[[flows]]
name = "hoa-units"
source = "hoa"
target = "warranty"
entity = "home"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "prophub.toml"
    path.write_text(CONFIG.format(state=tmp_path / "state.db"))
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", SecretBox.new_key())
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_a_tenant_is_added_listed_shown_with_its_secret_hidden_and_removed(config: Path) -> None:
    code, out = invoke(
        "tenants", "add", "acme", "-c", str(config),
        "--set", "connectors.hoa.client_id=acme-id",
        "--set", "connectors.hoa.client_secret=acme-very-secret",
    )  # fmt: skip
    assert code == 0, out
    code, out = invoke("tenants", "list", "-c", str(config), "--json")
    assert code == 0 and json.loads(out) == {
        "name": "acme",
        "enabled": True,
        "connectors": ["hoa"],
        "flows": ["hoa-units"],
    }
    code, out = invoke("tenants", "show", "acme", "-c", str(config))
    shown = json.loads(out)["connectors"]["hoa"]
    assert shown == {"client_id": "acme-id", "client_secret": "***"}
    assert "acme-very-secret" not in out and "sealed:" not in out
    assert invoke("tenants", "rotate", "-c", str(config))[1].startswith("1 tenants")
    assert invoke("tenants", "remove", "acme", "-c", str(config))[0] == 0
    assert invoke("tenants", "list", "-c", str(config)) == (0, "")
    code, out = invoke("tenants", "remove", "acme", "-c", str(config))
    assert code == 1 and "no stored tenant named 'acme'" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "connectors.crm.client_id=x"], "no connector named 'crm'"),
        (["--set", "flows=nope"], "flows"),
        (["--set", "connectors.hoa.base_url=ftp://x"], "base_url"),
        (["--set", "connectors.hoa.type=propertybase"], "cannot change a connector's type"),
        (["--set", "nonsense"], "give KEY=VALUE"),
    ],
)
def test_a_tenant_that_cannot_run_is_refused_with_one_line(
    config: Path, args: list[str], message: str
) -> None:
    code, out = invoke(
        "tenants", "add", "Bad-Name" if not args else "acme", "-c", str(config), *args
    )
    assert code == 2 and message in out and len(out.strip().splitlines()) == 1, out


def test_a_bad_tenant_name_is_refused(config: Path) -> None:
    code, out = invoke("tenants", "add", "Acme Corp", "-c", str(config))
    assert code == 2 and "name" in out


def test_sync_names_an_unknown_tenant(config: Path) -> None:
    code, out = invoke("sync", "--tenant", "nobody", "-c", str(config))
    assert code == 2 and "no tenant named 'nobody'" in out


def _add_acme(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tenant acme: one secret sealed, one a reference to a variable (set while adding)."""
    monkeypatch.setenv("ACME_WARRANTY_SECRET", "acme-warranty-secret")
    code, out = invoke(
        "tenants", "add", "acme", "-c", str(config),
        "--set", "connectors.hoa.client_secret=acme-very-secret",
        "--set", "connectors.warranty.client_secret=${ACME_WARRANTY_SECRET}",
    )  # fmt: skip
    assert code == 0, out


def _stored(config: Path) -> dict[str, str]:
    with sqlite3.connect(config.parent / "state.db") as conn:
        return dict(conn.execute("SELECT name, body FROM tenants").fetchall())


def test_status_of_a_tenant_needs_none_of_its_secrets(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_acme(config, monkeypatch)
    # Neither the key that opens the sealed secret nor the referenced variable is set.
    monkeypatch.delenv("PROPHUB_SECRET_KEYS")
    monkeypatch.delenv("ACME_WARRANTY_SECRET")
    code, out = invoke("status", "--tenant", "acme", "-c", str(config), "--json")
    assert code == 0, out
    assert json.loads(out)["flow"] == "acme/hoa-units"
    code, out = invoke("status", "--tenant", "nobody", "-c", str(config), "--json")
    assert code == 2 and "no tenant named 'nobody'" in out and len(out.splitlines()) == 1


def test_rotate_without_keys_fails_and_says_which_are_missing(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add_acme(config, monkeypatch)
    monkeypatch.delenv("PROPHUB_SECRET_KEYS")
    code, out = invoke("tenants", "rotate", "-c", str(config))
    assert code == 2 and len(out.splitlines()) == 1, out
    assert "PROPHUB_SECRET_KEYS" in out and "PROPHUB_SECRET_KEYS_FILE" in out
    assert "not set" in out


def test_rotate_with_a_key_dropped_too_early_names_the_tenant_and_changes_none(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, middle, new = (SecretBox.new_key() for _ in range(3))
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", old)
    code, out = invoke(
        "tenants", "add", "zen", "-c", str(config),
        "--set", "connectors.hoa.client_secret=zen-very-secret",
    )  # fmt: skip
    assert code == 0, out
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", f"{middle},{old}")
    _add_acme(
        config, monkeypatch
    )  # sealed under the middle key, and first in line for the rotation
    before = _stored(config)
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", f"{new},{middle}")  # zen's key dropped
    code, out = invoke("tenants", "rotate", "-c", str(config))
    assert code == 2 and len(out.splitlines()) == 1, out
    assert "tenant 'zen'" in out and "no tenant was changed" in out
    assert "very-secret" not in out and "Traceback" not in out
    assert _stored(config) == before
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", f"{new},{middle},{old}")
    assert invoke("tenants", "rotate", "-c", str(config)) == (
        0,
        "2 tenants sealed under the newest key\n",
    )
    monkeypatch.setenv("PROPHUB_SECRET_KEYS", new)  # every secret is now under the new key
    assert invoke("tenants", "rotate", "-c", str(config))[0] == 0


def test_the_default_tenants_name_is_reserved_on_every_path(config: Path, tmp_path: Path) -> None:
    code, out = invoke("tenants", "add", "default", "-c", str(config))
    assert code == 2 and "'default'" in out and len(out.splitlines()) == 1, out
    folder = tmp_path / "tenants"
    folder.mkdir()
    (folder / "default.toml").write_text("enabled = true\n")
    config.write_text(config.read_text() + f'\n[tenants]\ndir = "{folder}"\n')
    code, out = invoke("tenants", "list", "-c", str(config))
    assert code == 2 and "default.toml" in out and len(out.splitlines()) == 1, out


async def test_the_library_refuses_a_tenant_called_default(config: Path) -> None:
    async with Hub.from_config(load_config(config)) as hub:
        with pytest.raises(ConfigError, match="'default'"):
            await hub.tenants.add({"name": "default"})


async def test_a_stored_tenant_an_older_version_allowed_stops_no_other(config: Path) -> None:
    """A tenant stored as "default" before the name was reserved: left out (logged) while
    the others run, and naming it says why."""
    async with Hub.from_config(load_config(config)) as hub:
        await hub.tenants.add({"name": "acme"})
        await hub.store.put_tenant("default", {"name": "default"})
        assert list(await hub.tenants.flows()) == ["", "acme"]
        with pytest.raises(ConfigError, match="'default'"):
            await hub.tenants.view("default")
        assert await hub.tenants.remove("default")


async def _letters(config: Path) -> dict[str, int]:
    """A dead letter of the default tenant and one of acme's, by flow: their ids."""
    async with StateStore.open(f"sqlite:///{config.parent / 'state.db'}") as store:
        for flow in ("hoa-units", "acme/hoa-units"):
            await store.add_dead_letter(flow, "home", "k1", "s1", "refused", "InvalidRecord", None)
        return {letter["flow"]: letter["id"] for letter in await store.dead_letters()}


def test_dlq_drop_drops_only_the_tenants_own_letters(config: Path) -> None:
    ids = asyncio.run(_letters(config))
    mine, theirs = str(ids["acme/hoa-units"]), str(ids["hoa-units"])
    code, out = invoke("dlq", "drop", mine, theirs, "--tenant", "acme", "-c", str(config))
    assert (code, out) == (1, f"dropped 1; not this tenant's: {theirs}\n")
    code, out = invoke("dlq", "list", "-c", str(config))
    assert code == 0 and out.startswith(f"{theirs}\thoa-units\t"), out
    # Without --tenant, the config's own: acme's letters are not its to drop.
    assert invoke("dlq", "drop", theirs, "-c", str(config)) == (0, "dropped 1\n")
    assert invoke("dlq", "list", "-c", str(config)) == (0, "")
