"""The query parameters every sandbox reads: whole numbers in range, and ISO 8601 times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub.sandbox.query import BadParameter, int_param, time_param


def test_an_absent_number_is_the_default() -> None:
    """No parameter: the default, whatever the bounds."""
    assert int_param({}, "limit", 50, 1, 1000) == 50


@pytest.mark.parametrize(("raw", "value"), [("1", 1), ("1000", 1000), ("07", 7)])
def test_a_number_in_range_is_read(raw: str, value: int) -> None:
    """A whole number within the bounds is returned as an int."""
    assert int_param({"limit": raw}, "limit", 50, 1, 1000) == value


@pytest.mark.parametrize(
    ("raw", "high", "expected"),
    [
        ("0", 1000, "an integer between 1 and 1000"),
        ("1001", 1000, "an integer between 1 and 1000"),
        ("-3", None, "an integer at least 1"),
        ("ten", None, "an integer at least 1"),
        ("", None, "an integer at least 1"),
        ("1.5", 1000, "an integer between 1 and 1000"),
    ],
)
def test_a_number_out_of_range_or_unreadable_is_refused(
    raw: str, high: int | None, expected: str
) -> None:
    """The refusal names the parameter, its value and the bounds."""
    with pytest.raises(BadParameter) as caught:
        int_param({"limit": raw}, "limit", 50, 1, high)
    assert (caught.value.name, caught.value.raw, caught.value.expected) == ("limit", raw, expected)
    assert str(caught.value) == f"limit must be {expected}"


def test_an_absent_time_is_none() -> None:
    """No parameter: no time filter."""
    assert time_param({}, "since") is None


@pytest.mark.parametrize(
    ("raw", "moment"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),  # no zone: UTC
        (
            "2024-05-01T12:00:00+02:00",
            datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2))),
        ),
    ],
)
def test_a_time_is_read_with_its_zone(raw: str, moment: datetime) -> None:
    """``Z``, an offset or no zone at all (read as UTC) give an aware datetime."""
    read = time_param({"since": raw}, "since")
    assert read == moment and read is not None and read.tzinfo is not None


def test_an_unreadable_time_is_refused() -> None:
    """A value that is not an ISO 8601 time names the parameter and what was expected."""
    with pytest.raises(BadParameter, match="since must be an ISO 8601 date-time"):
        time_param({"since": "yesterday"}, "since")
