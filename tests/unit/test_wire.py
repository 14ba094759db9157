"""How errors and server URLs cross the wire (no server needed)."""

from __future__ import annotations

import pytest

from stigmer import errors
from stigmer.backend.remote import parse_server_url
from stigmer.backend.wire import MAX_VALUE_BYTES, error_from_status, error_status
from stigmer.errors import InvalidArgument, StigmerError

EVERY_ERROR = [getattr(errors, name) for name in errors.__all__]


@pytest.mark.parametrize("cls", EVERY_ERROR, ids=lambda c: c.__name__)
def test_every_error_comes_back_as_itself_with_its_hint(cls: type[StigmerError]) -> None:
    sent = cls("Agent 'bot' is ünïcode 🙂", hint="do this next")

    code, details, metadata = error_status(sent)
    received = error_from_status(code, details, metadata)

    assert type(received) is cls
    assert (received.message, received.hint, received.grpc_code) == (sent.message, sent.hint, code)


def test_an_invalid_argument_keeps_where_it_is() -> None:
    sent = InvalidArgument(
        "unknown task", field="spec.tasks[1].dependsOn[0]", resource="Workflow/w", source="w.yaml:7"
    )

    received = error_from_status(*error_status(sent))

    assert isinstance(received, InvalidArgument)
    assert (received.field, received.resource, received.source) == (sent.field, sent.resource, sent.source)
    assert str(received) == str(sent)


def test_a_huge_hint_is_cut_to_fit_in_trailing_metadata() -> None:
    _, details, metadata = error_status(
        errors.NotFound("no version 9", hint="versions: " + ", ".join(map(str, range(5000))))
    )

    assert all(len(v) <= MAX_VALUE_BYTES + 3 for _, v in metadata)
    assert len(details) <= 2048


def test_a_status_from_elsewhere_maps_by_its_code() -> None:
    assert type(error_from_status("NOT_FOUND", "gone", [])) is errors.NotFound
    assert (
        type(error_from_status("FAILED_PRECONDITION", "stale", [("stigmer-error", "NoSuchError")]))
        is errors.Conflict
    )
    assert type(error_from_status("DATA_LOSS", "?", [])) is StigmerError


@pytest.mark.parametrize(
    ("url", "target", "tls"),
    [
        ("grpc://127.0.0.1:7878", "127.0.0.1:7878", False),
        ("grpcs://stigmer.example.com", "stigmer.example.com:7878", True),
        ("https://stigmer.example.com:443", "stigmer.example.com:443", True),
        ("localhost", "localhost:7878", False),
        ("stigmer.example.com:9000", "stigmer.example.com:9000", True),
        ("grpc://[::1]:7000", "[::1]:7000", False),
    ],
)
def test_server_urls(url: str, target: str, tls: bool) -> None:
    assert parse_server_url(url) == (target, tls)


@pytest.mark.parametrize("url", ["ftp://host", "grpc://", "grpc://host:port", "grpc://host/some/path"])
def test_invalid_server_urls(url: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_server_url(url)
    assert err.value.field == "url"
