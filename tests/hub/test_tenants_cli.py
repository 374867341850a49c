"""``prophub tenants``: add, list, show, remove, rotate; and ``prophub sync --tenant``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
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
