"""Config errors as one line: where pydantic found a problem, said without its input."""

from __future__ import annotations

from pydantic import ValidationError

from hub.errors import ConfigError

__all__ = ["key_of", "one_line", "validation_error"]


def key_of(loc: tuple[int | str, ...], prefix: str) -> str:
    """A pydantic error location as a config key: ``flows[0].options.defaults.name``."""
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(item)
    return ".".join(parts)


def validation_error(exc: ValidationError, prefix: str) -> ConfigError:
    """The first of pydantic's errors as a config error on its key, counting the others."""
    # Built from loc and msg only: pydantic's "input" could hold a secret.
    errors = exc.errors(include_input=False, include_url=False)
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    return ConfigError(message + more, key=key_of(first["loc"], prefix) or None)


def one_line(text: str) -> str:
    """Text with every run of whitespace, newlines included, as one space."""
    return " ".join(text.split())
