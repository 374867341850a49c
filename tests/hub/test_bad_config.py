"""A table of broken configs: each is exit 2 and one line naming the file, the key and the problem.

Every case is run through the real command line (``prophub status``, which loads the config and
opens the state store) with the built-in connector plugins, so what their capabilities forbid is
refused too. None may print a traceback, a usage box or a secret.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.config import load_config

runner = CliRunner()

SECRET = "s3cret-in-a-file"
INLINE_SECRET = "s3cret-inline"

BASE = """\
log_level = "info"

[state]
url = "sqlite:///STATE"

[daemon]
listen = "127.0.0.1:0"

[connectors.hoa]
type = "buildium"
base_url = "http://127.0.0.1:9"
client_id = "id"
client_secret = "s3cret-inline"

[connectors.warranty]
type = "builder_backed"
base_url = "http://127.0.0.1:9"
token_url = "http://127.0.0.1:9/oauth2/token"
client_id = "id"
client_secret_file = "SECRET_FILE"

[connectors.crm]
type = "propertybase"
base_url = "http://127.0.0.1:9"
api_key = "k"

[[flows]]
name = "homes"
source = "hoa"
target = "warranty"
entity = "home"
every = "15m"

[[flows]]
name = "owners"
source = "hoa"
target = "warranty"
entity = "person"
"""


def sub(old: str, new: str, text: str = BASE) -> str:
    """BASE with ``old`` replaced once by ``new``; ``old`` must be there."""
    assert old in text, old
    return text.replace(old, new, 1)


def flow(lines: str) -> str:
    """BASE with lines added to its first flow."""
    return sub('every = "15m"\n', f'every = "15m"\n{lines}\n')


def hoa(lines: str) -> str:
    """BASE with lines added to the Buildium connector."""
    return sub('client_secret = "s3cret-inline"\n', f'client_secret = "s3cret-inline"\n{lines}\n')


def extra_flow(lines: str) -> str:
    """BASE with one more flow."""
    return BASE + f"\n[[flows]]\n{lines}\n"


@dataclass
class Case:
    """One broken config and what its one line must say."""

    id: str
    text: str | bytes
    key: str
    problem: str
    args: list[str] = field(default_factory=list)  # options before the command
    secret_file: bytes | None = None  # the secret file's content, when not the default


CASES = [
    # -- the file itself
    Case("empty file", "", "connectors", "no connector is configured"),
    Case("only comments", "# nothing yet\n", "connectors", "no connector is configured"),
    Case("not utf-8", b'[state]\nurl = "sqlite:///x\xff.db"\n', "", "not UTF-8"),
    Case("utf-16", BASE.encode("utf-16"), "", "not UTF-8"),
    Case("toml syntax", BASE + "\n[[flows]\n", "", "invalid TOML"),
    Case(
        "duplicate key",
        sub('client_id = "id"\n', 'client_id = "id"\nclient_id = "x"\n'),
        "",
        "invalid TOML",
    ),
    Case("unknown top-level key", "colour = 1\n" + BASE, "colour", "unknown key"),
    Case("unknown table", BASE + "\n[server]\nport = 1\n", "server", "unknown key"),
    Case("log level", sub('"info"', '"verbose"'), "log_level", "Input should be"),
    # -- state
    Case("state url type", sub('url = "sqlite:///STATE"', "url = 1"), "state.url", "string"),
    Case("mysql", sub("sqlite:///STATE", "mysql://u:pw@db/prophub"), "state.url", "mysql"),
    Case("not a url", sub("sqlite:///STATE", "prophub.db"), "state.url", "not a database URL"),
    Case("sqlite in memory", sub("sqlite:///STATE", "sqlite://"), "state.url", "needs a file"),
    Case(
        "sqlite directory missing",
        sub("STATE", "/nonexistent/dir/state.db"),
        "state.url",
        "does not exist",
    ),
    Case(
        "sqlite directory is a file",
        sub("STATE", "SECRET_FILE/state.db"),
        "state.url",
        "not a directory",
    ),
    Case(
        "postgres no database",
        sub("sqlite:///STATE", "postgresql://u@127.0.0.1:1"),
        "state.url",
        "names no database",
    ),
    Case(
        "postgres with a sync driver",
        sub("sqlite:///STATE", "postgresql+psycopg2://u@127.0.0.1/db"),
        "state.url",
        "through asyncpg",
    ),
    Case(
        "postgres unreachable",
        sub("sqlite:///STATE", "postgresql://u:pw@127.0.0.1:1/db"),
        "state.url",
        "cannot open the state store",
    ),
    Case(
        "postgres unknown host",
        sub("sqlite:///STATE", "postgresql://u@nowhere.invalid/db"),
        "state.url",
        "cannot open the state store",
    ),
    Case("state unknown key", sub("[state]\n", "[state]\npool = 3\n"), "state.pool", "unknown key"),
    # -- daemon
    Case(
        "listen port too big",
        sub("127.0.0.1:0", "127.0.0.1:99999"),
        "daemon.listen",
        "not between 0 and 65535",
    ),
    Case("listen without port", sub("127.0.0.1:0", "localhost"), "daemon.listen", "HOST:PORT"),
    Case(
        "listen port not a number",
        sub("127.0.0.1:0", "127.0.0.1:http"),
        "daemon.listen",
        "HOST:PORT",
    ),
    Case(
        "log format",
        sub("[daemon]\n", '[daemon]\nlog_format = "xml"\n'),
        "daemon.log_format",
        "Input should be",
    ),
    Case(
        "shutdown timeout inf",
        sub("[daemon]\n", "[daemon]\nshutdown_timeout = inf\n"),
        "daemon.shutdown_timeout",
        "finite",
    ),
    Case(
        "shutdown timeout zero",
        sub("[daemon]\n", "[daemon]\nshutdown_timeout = 0\n"),
        "daemon.shutdown_timeout",
        "greater than 0",
    ),
    Case(
        "shutdown timeout too long",
        sub("[daemon]\n", "[daemon]\nshutdown_timeout = 1e12\n"),
        "daemon.shutdown_timeout",
        "less than or equal",
    ),
    Case(
        "stalled before two heartbeats",
        sub("[daemon]\n", "[daemon]\nheartbeat = 20\nstalled_after = 30\n"),
        "daemon.stalled_after",
        "at least twice daemon.heartbeat (40s)",
    ),
    Case(
        "no run per tenant",
        BASE + "\n[tenants]\nruns_per_tenant = 0\n",
        "tenants.runs_per_tenant",
        "greater than or equal to 1",
    ),
    Case(
        "flow name with a slash",
        sub('name = "homes"', 'name = "acme/homes"'),
        "flows[0].name",
        "cannot hold '/'",
    ),
    Case(
        "connector name with a slash",
        sub("[connectors.crm]", '[connectors."acme/crm"]'),
        "connectors.acme/crm",
        "cannot hold '/'",
    ),
    # -- connectors
    Case("connectors not a table", "connectors = 3\n", "connectors", "table"),
    Case("connector not a table", "connectors.a = 3\n", "connectors.a", "must be a table"),
    Case(
        "connector without type",
        sub('type = "buildium"\n', ""),
        "connectors.hoa.type",
        "missing connector type",
    ),
    Case(
        "unknown connector type",
        sub('"buildium"', '"salesforce"'),
        "connectors.hoa.type",
        "unknown connector type",
    ),
    Case(
        "missing credential", sub('client_id = "id"\n', ""), "connectors.hoa.client_id", "required"
    ),
    Case("unknown connector key", hoa("colour = 1"), "connectors.hoa.colour", "unknown key"),
    Case(
        "bad base url", sub('"http://127.0.0.1:9"', '"ftp://x"'), "connectors.hoa.base_url", "http"
    ),
    Case(
        "base url port out of range",
        sub('"http://127.0.0.1:9"', '"http://127.0.0.1:99999"'),
        "connectors.hoa.base_url",
        "Port out of range",
    ),
    Case(
        "base url unclosed ipv6",
        sub('"http://127.0.0.1:9"', '"http://[::1"'),
        "connectors.hoa.base_url",
        "not a valid URL",
    ),
    Case(
        "base url empty label",
        sub('"http://127.0.0.1:9"', '"http://api..example.com"'),
        "connectors.hoa.base_url",
        "no valid host name",
    ),
    Case(
        "base url with a space",
        sub('"http://127.0.0.1:9"', '"http://api example.com"'),
        "connectors.hoa.base_url",
        "no valid host name",
    ),
    Case("rate limit inf", hoa("rate_limit = inf"), "connectors.hoa.rate_limit", "finite"),
    Case("rate limit nan", hoa("rate_limit = nan"), "connectors.hoa.rate_limit", "finite"),
    Case(
        "rate limit negative",
        hoa("rate_limit = -1"),
        "connectors.hoa.rate_limit",
        "greater than or equal to 0",
    ),
    Case("rate limit a word", hoa('rate_limit = "fast"'), "connectors.hoa.rate_limit", "number"),
    Case(
        "concurrency zero",
        hoa("max_concurrency = 0"),
        "connectors.hoa.max_concurrency",
        "greater than or equal to 1",
    ),
    Case(
        "concurrency huge",
        hoa("max_concurrency = 9223372036854775807"),
        "connectors.hoa.max_concurrency",
        "less than or equal",
    ),
    Case("timeout inf", hoa("timeout = inf"), "connectors.hoa.timeout", "finite"),
    Case(
        "timeout too long", hoa("timeout = 1e300"), "connectors.hoa.timeout", "less than or equal"
    ),
    Case(
        "page size over the vendor's",
        hoa("page_size = 5000"),
        "connectors.hoa.page_size",
        "less than or equal to 1000",
    ),
    Case(
        "unset env var",
        sub('"s3cret-inline"', '"${PROPHUB_TEST_UNSET_VAR}"'),
        "connectors.hoa.client_secret",
        "PROPHUB_TEST_UNSET_VAR is not set",
    ),
    Case(
        "secret and secret file",
        sub(
            'client_id = "id"\nclient_secret_file',
            'client_id = "id"\nclient_secret = "x"\nclient_secret_file',
        ),
        "connectors.warranty.client_secret_file",
        "not both",
    ),
    Case(
        "secret file missing",
        sub("SECRET_FILE", "/nonexistent/secret"),
        "connectors.warranty.client_secret_file",
        "cannot read secret file",
    ),
    Case(
        "secret file is a directory",
        sub("SECRET_FILE", "/"),
        "connectors.warranty.client_secret_file",
        "cannot read secret file",
    ),
    Case(
        "secret file not utf-8",
        BASE,
        "connectors.warranty.client_secret_file",
        "not UTF-8",
        secret_file=b"\xffsecret\xfe",
    ),
    Case(
        "secret file empty",
        BASE,
        "connectors.warranty.client_secret_file",
        "empty",
        secret_file=b"\n",
    ),
    Case(
        "secret file not a path",
        sub('"SECRET_FILE"', "42"),
        "connectors.warranty.client_secret_file",
        "path",
    ),
    Case(
        "home type fallback",
        sub(
            'client_secret_file = "SECRET_FILE"\n',
            'client_secret_file = "SECRET_FILE"\nhome_type_fallback = "Condo"\n',
        ),
        "connectors.warranty.home_type_fallback",
        "Input should be",
    ),
    # -- flows, one at a time
    Case("flows not a list", sub("[[flows]]", "[flows]").split("[[flows]]")[0], "flows", "list"),
    Case("flow without name", sub('name = "homes"\n', ""), "flows[0].name", "required"),
    Case("flow empty name", sub('name = "homes"', 'name = ""'), "flows[0].name", "at least 1"),
    Case(
        "unknown source",
        sub('source = "hoa"', 'source = "nope"'),
        "flows[0].source",
        "no connector named 'nope'",
    ),
    Case(
        "unknown target",
        sub('target = "warranty"', 'target = "nope"'),
        "flows[0].target",
        "no connector named 'nope'",
    ),
    Case(
        "unknown entity",
        sub('entity = "home"', 'entity = "house"'),
        "flows[0].entity",
        "unknown entity",
    ),
    Case("mode", flow('mode = "sometimes"'), "flows[0].mode", "Input should be"),
    Case("every a word", sub('"15m"', '"soonish"'), "flows[0].every", "duration"),
    Case("every too short", sub('"15m"', '"0.0001ms"'), "flows[0].every", "shorter"),
    Case("every zero", sub('"15m"', '"0s"'), "flows[0].every", "shorter"),
    Case("every overflows", sub('"15m"', '"' + "9" * 400 + 'd"'), "flows[0].every", "too long"),
    Case("every too long", sub('"15m"', '"400d"'), "flows[0].every", "longer"),
    Case(
        "flow concurrency zero",
        flow("concurrency = 0"),
        "flows[0].concurrency",
        "greater than or equal to 1",
    ),
    Case(
        "flow concurrency huge",
        flow("concurrency = 100000"),
        "flows[0].concurrency",
        "less than or equal",
    ),
    Case("unknown flow key", flow("colour = 1"), "flows[0].colour", "unknown key"),
    Case("on_delete unknown", flow('on_delete = "shred"'), "flows[0].on_delete", "Input should be"),
    Case(
        "duplicate flow name",
        sub('name = "owners"', 'name = "homes"'),
        "flows[1].name",
        "duplicate flow name",
    ),
    Case(
        "same connector both ends",
        sub('target = "warranty"', 'target = "hoa"'),
        "flows[0].target",
        "same connector as the source",
    ),
    # -- what the connectors can do
    Case(
        "target cannot write",
        extra_flow('name = "orgs"\nsource = "crm"\ntarget = "warranty"\nentity = "organization"'),
        "flows[2].entity",
        "'warranty' cannot write 'organization'",
    ),
    Case(
        "source cannot read",
        extra_flow('name = "docs"\nsource = "hoa"\ntarget = "warranty"\nentity = "document"'),
        "flows[2].entity",
        "'hoa' cannot read 'document'",
    ),
    Case(
        "target cannot write homes",
        extra_flow('name = "to-crm"\nsource = "hoa"\ntarget = "crm"\nentity = "home"'),
        "flows[2].entity",
        "'crm' cannot write 'home'",
    ),
    Case(
        "target cannot delete",
        flow('on_delete = "delete"'),
        "flows[0].on_delete",
        "cannot delete 'home'",
    ),
    Case(
        "target cannot deactivate",
        flow('on_delete = "deactivate"'),
        "flows[0].on_delete",
        "cannot deactivate 'home'",
    ),
    Case(
        "buildium cannot delete",
        extra_flow(
            'name = "back"\nsource = "crm"\ntarget = "hoa"\nentity = "location"\n'
            'on_delete = "delete"'
        ),
        "flows[2].on_delete",
        "cannot delete 'location'",
    ),
    # -- flows together
    Case(
        "cycle of two",
        extra_flow('name = "back"\nsource = "warranty"\ntarget = "hoa"\nentity = "home"'),
        "flows[2].target",
        "form a cycle",
    ),
    Case(
        "cycle of three",
        extra_flow(
            'name = "to-crm"\nsource = "warranty"\ntarget = "crm"\nentity = "person"\n\n'
            '[[flows]]\nname = "back"\nsource = "crm"\ntarget = "hoa"\nentity = "person"'
        ),
        "flows[3].target",
        "hoa -> warranty -> crm -> hoa",
    ),
    # -- options
    Case("unknown option", flow("options.colour = 1"), "flows[0].options.colour", "unknown key"),
    Case("options not a table", flow('options = "all"'), "flows[0].options", "dictionary"),
    Case(
        "collections not a list",
        flow('options.collections = "units"'),
        "flows[0].options.collections",
        "list",
    ),
    Case(
        "collections empty",
        flow("options.collections = []"),
        "flows[0].options.collections",
        "at least 1",
    ),
    Case(
        "unknown default",
        flow('options.defaults = { colour = "red" }'),
        "flows[0].options.defaults.colour",
        "no field 'colour'",
    ),
    Case(
        "default of the key",
        flow('options.defaults = { key = "x" }'),
        "flows[0].options.defaults.key",
        "no field 'key'",
    ),
    Case(
        "default of a wrong type",
        flow('options.defaults = { bedrooms = "many" }'),
        "flows[0].options.defaults.bedrooms",
        "integer",
    ),
    Case(
        "default out of range",
        flow("options.defaults = { bedrooms = -2 }"),
        "flows[0].options.defaults.bedrooms",
        "greater than or equal to 0",
    ),
    Case(
        "location without name",
        flow('options.locations = [{ key = "div-1", kind = "division" }]'),
        "flows[0].options.locations[0].name",
        "required",
    ),
    Case(
        "location unknown kind",
        flow('options.locations = [{ key = "d", kind = "county", name = "D" }]'),
        "flows[0].options.locations[0].kind",
        "Input should be",
    ),
    Case(
        "location unknown key",
        flow('options.locations = [{ key = "d", kind = "division", name = "D", colour = 1 }]'),
        "flows[0].options.locations[0].colour",
        "unknown key",
    ),
    Case(
        "region with a parent",
        flow('options.locations = [{ key = "r", kind = "region", name = "R", parent_key = "x" }]'),
        "flows[0].options.locations[0]",
        "a region has no parent",
    ),
    Case(
        "details keys not a list",
        flow('options.details_keys = "Lot"'),
        "flows[0].options.details_keys",
        "list",
    ),
    Case(
        "mass delete share over one",
        flow("options.allow_mass_delete_share = 1.5"),
        "flows[0].options.allow_mass_delete_share",
        "less than or equal to 1",
    ),
    Case(
        "mass delete share nan",
        flow("options.allow_mass_delete_share = nan"),
        "flows[0].options.allow_mass_delete_share",
        "finite",
    ),
    Case(
        "match on a key the target lacks",
        flow('options.match_on = ["address"]'),
        "flows[0].options.match_on[0]",
        "cannot match a home on 'address'",
    ),
    Case(
        "match on one key the target lacks",
        extra_flow(
            'name = "from-crm"\nsource = "crm"\ntarget = "hoa"\nentity = "person"\n'
            'options.match_on = ["email", "phone"]'
        ),
        "flows[2].options.match_on[1]",
        "it matches on: email, name",
    ),
    Case(
        "match on a number",
        flow("options.match_on = 3"),
        "flows[0].options.match_on",
        "list",
    ),
    Case(
        "details rename off a home",
        sub(
            'every = "15m"\n',
            "",
            sub(
                'entity = "person"\n', 'entity = "person"\noptions.details_rename = { Lot = "L" }\n'
            ),
        ),
        "flows[1].options.details_rename",
        "no details",
    ),
    Case(
        "region by state off a location",
        flow('options.region_by_state = { TX = "Central" }'),
        "flows[0].options.region_by_state",
        "only locations",
    ),
    Case(
        "rename to nothing",
        flow('options.details_rename = { Lot = "" }'),
        "flows[0].options.details_rename.Lot",
        "at least 1",
    ),
    # -- the command line
    Case(
        "--log-level verbose",
        BASE,
        "--log-level",
        "'verbose' is not a log level",
        args=["--log-level", "verbose"],
    ),
]


def test_the_table_is_large_enough() -> None:
    """Issue 28 asks for at least 65 broken configs, each with its own name."""
    assert len(CASES) >= 65
    assert len({case.id for case in CASES}) == len(CASES)


VALID = {
    "base": BASE,
    "postgresql": sub("sqlite:///STATE", "postgresql://u@127.0.0.1:1/db"),
    "postgresql with asyncpg": sub("sqlite:///STATE", "postgresql+asyncpg://u@127.0.0.1:1/db"),
    "no matching": flow('options.match_on = "none"'),
    "matching on offered keys": extra_flow(
        'name = "from-crm"\nsource = "crm"\ntarget = "hoa"\nentity = "person"\n'
        'options.match_on = ["email", "name"]'
    ),
    "a delete the target can do": extra_flow(
        'name = "leads"\nsource = "warranty"\ntarget = "crm"\nentity = "person"\n'
        'on_delete = "delete"'
    ),
    "options of a location flow": extra_flow(
        'name = "hoods"\nsource = "hoa"\ntarget = "warranty"\nentity = "location"\n'
        'options.region_by_state = { TX = "Central" }\n'
        'options.locations = [{ key = "d", kind = "division", name = "D" }]\n'
        'options.defaults = { parent_key = "d" }'
    ),
}


@pytest.mark.parametrize("text", VALID.values(), ids=list(VALID))
def test_the_base_config_and_its_valid_variants_load(text: str, tmp_path: Path) -> None:
    """The table's base config is valid, so each case fails for its own change alone."""
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    path = tmp_path / "prophub.toml"
    path.write_text(text.replace("SECRET_FILE", str(secret)).replace("STATE", str(tmp_path / "s")))
    config = load_config(path)
    assert config.connectors["warranty"].client_secret.get_secret_value() == SECRET  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_broken_config_is_exit_2_and_one_line(case: Case, tmp_path: Path) -> None:
    """The command exits 2 and prints one line with the file, the key and the problem."""
    secret = tmp_path / "secret"
    secret.write_bytes(case.secret_file if case.secret_file is not None else SECRET.encode())
    path = tmp_path / "prophub.toml"
    content = case.text if isinstance(case.text, bytes) else case.text.encode()
    content = content.replace(b"SECRET_FILE", str(secret).encode())
    content = content.replace(b"STATE", str(tmp_path / "state.db").encode())
    path.write_bytes(content)
    result = runner.invoke(app, [*case.args, "status", "--config", str(path)])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (result.exception, result.output)
    assert len(lines) == 1, result.stderr
    line = lines[0]
    if not case.args:  # a command-line option is named as such, not a file's key
        assert line.startswith(f"prophub: {path}: "), line
    assert case.key in line and case.problem in line, line
    assert "Traceback" not in result.output
    assert SECRET not in result.output and INLINE_SECRET not in result.output
    assert "pw" not in line.replace(str(tmp_path), "")  # a URL's password is never shown
    assert not (tmp_path / "state.db").exists()  # nothing was created on the way out


def free_port_held() -> socket.socket:
    """A loopback socket listening, so its port is taken."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_the_daemon_on_a_taken_address_is_exit_2_and_one_line(tmp_path: Path) -> None:
    """``prophub run`` whose listen address is taken says so in one line naming the key."""
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    with free_port_held() as held:
        port = held.getsockname()[1]
        path = tmp_path / "prophub.toml"
        text = BASE.replace("SECRET_FILE", str(secret)).replace("STATE", str(tmp_path / "s.db"))
        path.write_text(text.replace("127.0.0.1:0", f"127.0.0.1:{port}"))
        proc = subprocess.run(
            [sys.executable, "-m", "hub", "run", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and str(path) in lines[0] and "daemon.listen" in lines[0], lines
    assert "address already in use" in lines[0]
