"""The public names of `stigmer`: a rename is a decision, not an accident."""

from __future__ import annotations

import doctest

import stigmer
import stigmer.testing.home


def test_top_level_names_are_pinned() -> None:
    assert sorted(stigmer.__all__) == [
        "AlreadyExists",
        "Conflict",
        "ExecutionFailed",
        "InvalidArgument",
        "NotFound",
        "ResourceExhausted",
        "SchemaTooNew",
        "SecretError",
        "StigmerError",
        "Unauthenticated",
        "Unavailable",
        "__version__",
    ]
    for name in stigmer.__all__:
        assert hasattr(stigmer, name), name


def test_errors_map_onto_grpc_codes_and_exit_codes() -> None:
    assert stigmer.NotFound("x").grpc_code == "NOT_FOUND"
    assert stigmer.AlreadyExists("x").grpc_code == "ALREADY_EXISTS"
    assert stigmer.Conflict("x").grpc_code == "FAILED_PRECONDITION"
    assert stigmer.InvalidArgument("x").grpc_code == "INVALID_ARGUMENT"
    assert stigmer.InvalidArgument("x").exit_code == 2
    assert stigmer.NotFound("x").exit_code == 1


def test_invalid_argument_says_where() -> None:
    exc = stigmer.InvalidArgument("unknown field", source="a.yaml:3", resource="Agent/bot", field="spec.x")
    assert str(exc) == "a.yaml:3: Agent/bot: spec.x: unknown field"


def test_doc_examples_run() -> None:
    result = doctest.testmod(stigmer.testing.home)
    assert result.attempted > 0
    assert result.failed == 0
