"""What the config's text stands for: ``${ENV_VAR}`` in any string (``$${`` escapes) and a
secret field ``x`` given as ``x_file``, the path of a file holding it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from hub.errors import ConfigError

__all__ = ["interpolate", "not_utf8", "read_secret_files", "read_text"]

_ENV = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def interpolate(value: Any, env: Mapping[str, str], key: str) -> Any:
    """``value`` (a TOML table, list or scalar) with each ``${NAME}`` replaced from ``env``."""
    if isinstance(value, dict):
        return {k: interpolate(v, env, f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, f"{key}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"environment variable {name} is not set", key=key)
        return env[name]

    return _ENV.sub(sub, value)


def read_text(path: Path) -> str:
    """A file's text; a file that is not UTF-8 is a ``UnicodeDecodeError`` like any other
    ``ValueError`` (a leading byte-order mark is allowed)."""
    return path.read_bytes().decode("utf-8-sig")


def not_utf8(exc: UnicodeDecodeError) -> str:
    """The problem with a file that is not UTF-8, naming the first bad byte and where."""
    return f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"


def read_secret_files(table: dict[str, Any], settings: type[BaseModel], key: str) -> None:
    """Replace, in place, each ``x_file`` of a secret field ``x`` by the file's text."""
    for field in [k for k in table if k.endswith("_file")]:
        name = field.removesuffix("_file")
        info = settings.model_fields.get(name)
        if info is None or info.annotation not in (SecretStr, SecretStr | None):
            continue
        where = f"{key}.{field}"
        if name in table:
            raise ConfigError(f"give either {name} or {field}, not both", key=where)
        path = table.pop(field)
        if not isinstance(path, str) or not path:
            raise ConfigError("must be the path of a file holding the secret", key=where)
        try:
            secret = read_text(Path(path)).rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"cannot read secret file: {exc.strerror}", key=where) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"secret file {not_utf8(exc)}", key=where) from None
        if not secret.strip():
            raise ConfigError("the secret file is empty", key=where)
        table[name] = secret
