"""Config loading: env interpolation, secret files, and one clear line for every mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import SecretStr

from hub.client.settings import ConnectorSettings
from hub.config import FlowOptions, FlowSettings, load_config, parse_duration, secret_values
from hub.connector import ConnectorPlugin
from hub.errors import ConfigError


class AcmeSettings(ConnectorSettings):
    type: Literal["acme"] = "acme"
    client_id: str
    client_secret: SecretStr


PLUGINS = {
    "acme": ConnectorPlugin(
        name="acme",
        connector=lambda s, *, name: None,  # type: ignore[arg-type,return-value]
        settings=AcmeSettings,
    )
}

GOOD = """
[state]
url = "sqlite:///x.db"

[connectors.a]
type = "acme"
base_url = "https://api.example.com/"
client_id = "${ACME_ID}"
client_secret = "${ACME_SECRET}"

[connectors.b]
type = "acme"
base_url = "http://127.0.0.1:8080"
client_id = "b"
client_secret_file = "SECRET_FILE"

[[flows]]
name = "a-to-b"
source = "a"
target = "b"
entity = "home"
every = "1h30m"
"""
ENV = {"ACME_ID": "id-1", "ACME_SECRET": "topsecret-1"}


def write(tmp_path: Path, text: str) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("filesecret-2\n")
    path = tmp_path / "prophub.toml"
    path.write_text(text.replace("SECRET_FILE", str(secret)))
    return path


def test_loads_a_good_config(tmp_path: Path) -> None:
    """Env vars are interpolated, secret files read, defaults applied."""
    config = load_config(write(tmp_path, GOOD), env=ENV, plugins=PLUGINS)
    a, b = config.connectors["a"], config.connectors["b"]
    assert isinstance(a, AcmeSettings) and isinstance(b, AcmeSettings)
    assert a.base_url == "https://api.example.com" and a.client_id == "id-1"
    assert a.client_secret.get_secret_value() == "topsecret-1"
    assert b.client_secret.get_secret_value() == "filesecret-2"
    assert config.flows[0].every_seconds == 5400 and config.flows[0].mode == "incremental"
    assert secret_values(config) == {"topsecret-1", "filesecret-2"}
    assert "topsecret-1" not in repr(config)
    assert a.limits().limiter is not None  # the default rate


def test_a_rate_limit_of_zero_turns_the_limiter_off(tmp_path: Path) -> None:
    """``rate_limit = 0`` is no rate limit, with the concurrency cap kept."""
    text = GOOD.replace('client_id = "b"', 'client_id = "b"\nrate_limit = 0')
    b = load_config(write(tmp_path, text), env=ENV, plugins=PLUGINS).connectors["b"]
    limits = b.limits()
    assert limits.limiter is None and limits.semaphore._value == b.max_concurrency


BROKEN = [
    ("missing key", GOOD.replace('client_id = "b"\n', ""), "connectors.b.client_id", "required"),
    (
        "wrong type",
        GOOD.replace("[state]", '[daemon]\nshutdown_timeout = "soon"\n[state]'),
        "daemon.shutdown_timeout",
        "number",
    ),
    (
        "bad rate",
        GOOD.replace('client_id = "b"', 'client_id = "b"\nrate_limit = -1'),
        "connectors.b.rate_limit",
        "greater than or equal to 0",
    ),
    (
        "unknown key",
        GOOD.replace('url = "sqlite', 'colour = "red"\nurl = "sqlite'),
        "state.colour",
        "unknown key",
    ),
    (
        "unknown connector key",
        GOOD.replace('client_id = "b"', 'client_id = "b"\nfoo = 1'),
        "connectors.b.foo",
        "unknown key",
    ),
    (
        "unknown type",
        GOOD.replace('type = "acme"', 'type = "salesforce"', 1),
        "connectors.a.type",
        "unknown connector type 'salesforce'",
    ),
    (
        "unset env",
        GOOD.replace("${ACME_ID}", "${NOPE_UNSET}"),
        "connectors.a.client_id",
        "NOPE_UNSET is not set",
    ),
    (
        "unreadable secret",
        GOOD.replace("SECRET_FILE", "/nonexistent/secret"),
        "connectors.b.client_secret_file",
        "cannot read secret file",
    ),
    ("bad duration", GOOD.replace('"1h30m"', '"soonish"'), "flows[0].every", "duration"),
    (
        "unknown entity",
        GOOD.replace('entity = "home"', 'entity = "house"'),
        "flows[0].entity",
        "unknown entity",
    ),
    (
        "unknown flow target",
        GOOD.replace('target = "b"', 'target = "zz"'),
        "flows[0].target",
        "no connector named 'zz'",
    ),
    (
        "bad url",
        GOOD.replace("https://api.example.com/", "ftp://x"),
        "connectors.a.base_url",
        "http",
    ),
    ("toml syntax", GOOD + "\n[[flows]\n", "", "invalid TOML"),
]


@pytest.mark.parametrize(("case", "text", "key", "problem"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_configs_give_one_clear_line(
    tmp_path: Path, case: str, text: str, key: str, problem: str
) -> None:
    """Each mistake is a ConfigError of one line naming the file, the key and the problem."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV, plugins=PLUGINS)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert key in message and problem in message
    assert "topsecret-1" not in message and "filesecret-2" not in message


def test_missing_file(tmp_path: Path) -> None:
    """A missing config file is named."""
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.toml", plugins=PLUGINS)


def test_escaped_dollar_is_kept(tmp_path: Path) -> None:
    """``$${`` stands for a literal ``${``."""
    config = load_config(
        write(tmp_path, GOOD.replace('client_id = "b"', 'client_id = "$${b}"')),
        env=ENV,
        plugins=PLUGINS,
    )
    assert config.connectors["b"].client_id == "${b}"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h30m", 5400), ("45", 45), ("250ms", 0.25)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    """Durations read as the daemon's schedule intervals."""
    assert parse_duration(text) == seconds


def test_flow_options_are_typed_and_read_as_plain_data(tmp_path: Path) -> None:
    """Options are validated into a model; ``get`` gives plain data, defaults where unset."""
    text = GOOD + (
        'options.locations = [{ key = "div-1", kind = "division", name = " D " }]\n'
        'options.defaults = { neighborhood_key = "hood-1" }\n'
        'options.match_on = "address"\n'
    )
    options = load_config(write(tmp_path, text), env=ENV, plugins=PLUGINS).flows[0].options
    assert options.locations[0].name == "D" and options.locations[0].kind == "division"
    assert options.get("locations") == [{"key": "div-1", "kind": "division", "name": "D"}]
    assert options.get("defaults") == {"neighborhood_key": "hood-1"}
    assert options.get("match_on") == ["address"]
    assert options.get("collections") is None and options.get("collections", ["x"]) == ["x"]
    assert options.get("allow_mass_delete_share", 0.5) == 0.1  # the option's own default
    assert options.get("allow_mass_delete_share") == 0.1
    assert options.configured() == {
        "locations": [{"key": "div-1", "kind": "division", "name": "D"}],
        "defaults": {"neighborhood_key": "hood-1"},
        "match_on": ["address"],
    }
    with pytest.raises(KeyError, match="no flow option named 'colour'"):
        options.get("colour")


def test_flow_settings_take_options_as_a_mapping() -> None:
    """Code that builds a flow with an options dict gets the validated model."""
    flow = FlowSettings(
        name="f", source="a", target="b", entity="home", options={"details_keys": ["Lot"]}
    )
    assert isinstance(flow.options, FlowOptions) and flow.options.get("details_keys") == ["Lot"]
    with pytest.raises(ValueError, match="colour"):
        FlowSettings(name="f", source="a", target="b", entity="home", options={"colour": 1})


def test_a_utf8_byte_order_mark_is_allowed(tmp_path: Path) -> None:
    """A config saved by an editor that writes a byte-order mark still loads."""
    path = write(tmp_path, GOOD)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_config(path, env=ENV, plugins=PLUGINS).flows[0].name == "a-to-b"


def test_a_disabled_reverse_flow_is_no_cycle(tmp_path: Path) -> None:
    """Only enabled flows can carry records round: a reverse flow kept disabled is allowed."""
    text = GOOD + '\n[[flows]]\nname = "b-to-a"\nsource = "b"\ntarget = "a"\nentity = "home"\n'
    with pytest.raises(ConfigError, match="cycle"):
        load_config(write(tmp_path, text), env=ENV, plugins=PLUGINS)
    config = load_config(write(tmp_path, text + "enabled = false\n"), env=ENV, plugins=PLUGINS)
    assert [f.name for f in config.flows] == ["a-to-b", "b-to-a"]
