"""The error tree: classes by status, context in the message, pickling."""

from __future__ import annotations

import pickle

import pytest

from hub import errors


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.InvalidRecord),
        (401, errors.AuthFailed),
        (403, errors.PermissionDenied),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (415, errors.InvalidRecord),
        (422, errors.InvalidRecord),
        (429, errors.RateLimited),
        (500, errors.Unavailable),
        (503, errors.Unavailable),
        (418, errors.PermanentError),
        (302, errors.ProtocolError),
    ],
)
def test_error_for_status(status: int, cls: type[errors.VendorError]) -> None:
    """Each HTTP status maps to the class that says what to do next."""
    assert errors.error_for_status(status) is cls


def test_transient_and_permanent_split() -> None:
    """Retryable errors are transient; the rest are not."""
    assert errors.RateLimited.retryable and errors.Unavailable.retryable
    assert not errors.InvalidRecord.retryable
    assert issubclass(errors.RequestTimeout, TimeoutError)
    assert issubclass(errors.ConnectionFailed, ConnectionError)
    assert issubclass(errors.MissingParent, errors.NotFound)


def test_message_carries_context() -> None:
    """The text names vendor, method, path, status, messages and an unknown outcome."""
    err = errors.Unavailable(
        "server error",
        vendor="buildium",
        method="POST",
        path="/v1/associations",
        status=503,
        messages=["try later"],
        outcome_unknown=True,
    )
    text = str(err)
    for part in ("buildium POST /v1/associations", "HTTP 503", "try later", "outcome unknown"):
        assert part in text


def test_errors_pickle_with_their_context() -> None:
    """Errors survive pickling (for process pools and logging handlers)."""
    err = errors.RateLimited("slow down", vendor="bb", status=429, retry_after=2.0)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.vendor, copy.status, copy.retry_after, str(copy)) == (
        "bb",
        429,
        2.0,
        str(err),
    )


def test_config_error_is_one_line() -> None:
    """A config error names file and key on one line."""
    err = errors.ConfigError("must be > 0", path="hub.toml", key="connectors.a.rate_limit")
    assert str(err) == "hub.toml: connectors.a.rate_limit: must be > 0"
