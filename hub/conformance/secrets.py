"""The credentials check: no secret in a log line, an error message or a traceback, whether
the vendor refuses the credentials, echoes them back, or fails and is retried."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from pydantic import SecretStr
from structlog.testing import capture_logs

from hub.conformance.harness import Harness, Subject, describe, expect
from hub.errors import AuthFailed, PermissionDenied, VendorError

__all__ = ["check_check", "check_credentials"]

WRONG = "wrong-{}-Zq7xK2vB"


class _Kept(logging.Handler):
    """Every stdlib log record, formatted as it would be written."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.args!r} {record.__dict__!r}")


@contextmanager
def _stdlib_logs() -> Iterator[_Kept]:
    root, kept = logging.getLogger(), _Kept()
    level = root.level
    root.addHandler(kept)
    root.setLevel(logging.DEBUG)
    try:
        yield kept
    finally:
        root.removeHandler(kept)
        root.setLevel(level)


@contextmanager
def _structlog_every_level() -> Iterator[None]:
    """structlog lets every level through meanwhile: a secret in a debug line is a leak
    even where the plugin's own tests configured logging at warning."""
    previous = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        yield
    finally:
        structlog.configure(wrapper_class=previous)


def _texts(exc: BaseException) -> list[str]:
    shown = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    if isinstance(exc, VendorError):
        shown += exc.messages
    return shown


async def check_check(subject: Subject) -> None:
    """``check()`` passes against the sandbox with its credentials."""
    async with Harness(subject) as harness, harness.connector() as connector:
        try:
            await connector.check()
        except Exception as exc:
            raise AssertionError(f"check() failed on its own sandbox: {describe(exc)}") from None


async def check_credentials(subject: Subject, entity: str) -> None:
    """Wrong credentials make ``check()`` raise ``AuthFailed`` (or ``PermissionDenied``); a
    401 echoing the request's headers and a read retried through 5xx show no secret; nothing
    logged or raised shows one."""
    errors: list[BaseException] = []
    with _structlog_every_level(), capture_logs() as events, _stdlib_logs() as lines:
        async with Harness(subject) as harness:
            right = harness.secrets(harness.settings())
            wrong_table = {
                name: WRONG.format(name)
                for name, value in harness.settings().__dict__.items()
                if isinstance(value, SecretStr)
            }
            async with harness.connector() as connector:
                await connector.check()
                harness.script.add("error")
                harness.script.add("error")
                await harness.read(connector, entity)
                harness.script.add("echo")
                harness.script.add("echo")
                try:
                    await harness.read(connector, entity)
                except VendorError as exc:
                    errors.append(exc)
                harness.script.queue.clear()
            async with harness.connector(**wrong_table) as refused:
                try:
                    await refused.check()
                except Exception as exc:  # the class is checked below, with a message
                    errors.append(exc)
                else:
                    raise AssertionError("check() with wrong credentials passed")
    expect(bool(right), "the connector's settings hold no SecretStr: credentials must be secrets")
    refusal = errors[-1]
    expect(
        isinstance(refusal, AuthFailed | PermissionDenied),
        f"check() with wrong credentials raised {describe(refusal)}: it must raise AuthFailed "
        "(or PermissionDenied), which stops a run's writes",
    )
    secrets = [*right, *wrong_table.values()]
    shown = [text for exc in errors for text in _texts(exc)]
    shown += [repr(event) for event in events] + lines.lines
    for secret in secrets:
        leaks = [text for text in shown if secret in text]
        expect(
            not leaks,
            f"a credential appears in {len(leaks)} log line(s) or error(s), e.g. "
            f"{_hidden(leaks[0] if leaks else '', secret)!r}",
        )


def _hidden(text: str, secret: str) -> Any:
    """The leaking text with the secret itself shown as <SECRET> (the failure is printed)."""
    return text.replace(secret, "<SECRET>")[:300]
