"""Logging: a structlog processor chain with secret redaction, JSON or console output.

``redact_secrets`` masks the values of sensitive keys anywhere in an event (nested included)
and every registered secret value (configured secrets, issued tokens) inside any string,
exception text included. Bind ``run_id``, ``flow`` and ``vendor`` with :func:`bind_context`.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from hub.secrets import MASK, clear_secrets, mask, register_secret, registered_secrets

__all__ = [
    "bind_context",
    "clear_context",
    "clear_secrets",
    "configure_logging",
    "first_line",
    "redact_secrets",
    "register_secret",
    "registered_secrets",
]

SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-buildium-client-secret",
        "x-bl-api-key",
        "client_secret",
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "apikey",
        "password",
        "token",
        "secret",
        "cookie",
        "set-cookie",
    }
)


def _mask_text(text: str) -> str:
    return mask(text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, dict):
        return {k: MASK if _sensitive(k) else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    if isinstance(value, BaseException):
        return _mask_text(repr(value))
    return value


def _sensitive(key: object) -> bool:
    return isinstance(key, str) and key.lower() in SENSITIVE_KEYS


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Processor: mask sensitive keys and registered secret values everywhere in the event."""
    return {k: MASK if _sensitive(k) else _redact(v) for k, v in event_dict.items()}


def first_line(exc: BaseException) -> str:
    """An error as one log field: its message's first line (its type where it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def bind_context(**values: Any) -> None:
    """Bind values (run_id, flow, vendor...) to every log line of this task."""
    structlog.contextvars.bind_contextvars(**values)


def clear_context() -> None:
    """Drop every bound context value."""
    structlog.contextvars.clear_contextvars()


def _processors(fmt: str) -> list[Processor]:
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
        renderer,
    ]


class _Stderr:
    """Whatever ``sys.stderr`` is at write time (tests and runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(
    *,
    level: str = "info",
    fmt: Literal["json", "console"] = "console",
    stream: TextIO | None = None,
) -> None:
    """Route structlog and stdlib logging through the redacting chain to ``stream``."""
    numeric = logging.getLevelName(level.upper())
    out = stream or _Stderr()
    structlog.configure(
        processors=_processors(fmt),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(out),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_processors(fmt)[1:],
            ],
            foreign_pre_chain=[structlog.contextvars.merge_contextvars],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.WARNING))
