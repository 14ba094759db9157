"""Stored times to proto times: the same instant the JSON mapping reads, or its error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from stigmer.backend.codec import set_time, timestamp


def _protobufs(text: str) -> Timestamp:
    message = Timestamp()
    message.FromJsonString(text)
    return message


@pytest.mark.parametrize(
    "text",
    [
        timestamp(datetime(2026, 12, 5, 1, 2, 3, 123456, tzinfo=UTC)),
        timestamp(datetime(1970, 1, 1, tzinfo=UTC)),
        timestamp(datetime(1969, 7, 20, 20, 17, 40, 1, tzinfo=UTC)),  # before the epoch
        "2026-12-05T01:02:03Z",
        "2026-12-05T03:02:03.5+02:00",
        "2026-12-05T01:02:03.123456789Z",  # nanoseconds kept
    ],
)
def test_a_stored_time_is_the_instant_protobuf_reads(text: str) -> None:
    message = Timestamp()
    set_time(message, text)
    assert message == _protobufs(text)


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-12-05", "2026-12-05T01:02:03", "2026-12-05 01:02:03.123456Z"]
)
def test_a_time_without_a_date_time_and_zone_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        set_time(Timestamp(), text)
