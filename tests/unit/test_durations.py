"""Durations and ages as people write them: ``30s``, ``1h30m``, ``30d``."""

from __future__ import annotations

import pytest

from stigmer.errors import InvalidArgument
from stigmer.resources.durations import parse_age, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("250ms", 0.25),
        ("2d", 172800),
        ("30d", 2592000),
        ("1.5h", 5400),
    ],
)
def test_a_duration_is_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "30days", "1w", "h", "-1d", "1d 2h"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_duration(text, field="timeout")

    assert err.value.field == "timeout"


def test_an_age_is_whole_seconds() -> None:
    assert parse_age("30d") == 30 * 86400
    assert parse_age("1d12h") == 129600
    assert parse_age("1.5s") == 1


@pytest.mark.parametrize("text", ["0s", "250ms", "30days", ""])
def test_an_age_is_at_least_a_second(text: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_age(text, field="--older-than", source="config.yaml")

    assert str(err.value) == f"config.yaml: --older-than: invalid age {text!r}"
    assert err.value.hint == "write e.g. 30d, 12h, 1d12h or 90m"
