"""Log redaction: sensitive keys, registered secret values, exception text, both renderers."""

from __future__ import annotations

import io
import logging

import pytest
import structlog

from hub.log import (
    bind_context,
    clear_context,
    configure_logging,
    redact_secrets,
    register_secret,
)

SECRET = "hunter2-very-secret"
TOKEN = "eyJhbGciOiJSUzI1NiIs.token.value"


@pytest.fixture(autouse=True)
def _reset_structlog() -> object:
    yield
    structlog.reset_defaults()
    clear_context()
    logging.getLogger().handlers.clear()


def test_sensitive_keys_are_masked_at_any_depth() -> None:
    """Values under sensitive keys are masked, nested dicts and lists included."""
    event = {
        "event": "request",
        "headers": {"Authorization": "Bearer abc", "X-BL-API-Key": "k", "Accept": "json"},
        "items": [{"client_secret": "x", "name": "ok"}],
        "password": "p",
    }
    out = redact_secrets(None, "info", event)
    assert out["headers"] == {"Authorization": "***", "X-BL-API-Key": "***", "Accept": "json"}
    assert out["items"] == [{"client_secret": "***", "name": "ok"}]
    assert out["password"] == "***"


def test_registered_values_are_masked_inside_strings() -> None:
    """A registered secret is masked wherever it appears in text."""
    register_secret(SECRET)
    register_secret(TOKEN)
    out = redact_secrets(None, "info", {"event": f"used {SECRET} and {TOKEN}", "n": 3})
    assert out == {"event": "used *** and ***", "n": 3}


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_debug_output_never_shows_secrets(fmt: str) -> None:
    """With debug logging, neither renderer prints a secret, even from an exception."""
    register_secret(SECRET)
    stream = io.StringIO()
    configure_logging(level="debug", fmt=fmt, stream=stream)  # type: ignore[arg-type]
    logger = structlog.get_logger("test")
    bind_context(run_id="r1", flow="f")
    logger.debug("connecting", api_key=SECRET, url=f"https://x/?key={SECRET}")
    try:
        raise RuntimeError(f"vendor echoed {SECRET}")
    except RuntimeError:
        logger.exception("failed")
    logging.getLogger("aiohttp.client").warning("stdlib says %s", SECRET)
    text = stream.getvalue()
    assert SECRET not in text
    assert "vendor echoed ***" in text and "r1" in text and "stdlib says ***" in text


def test_short_values_are_not_registered() -> None:
    """Tiny values would mask ordinary text, so they are ignored."""
    register_secret("ab")
    assert redact_secrets(None, "info", {"event": "abc"}) == {"event": "abc"}
