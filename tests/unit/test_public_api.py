"""The public names of `stigmer`: a rename is a decision, not an accident."""

from __future__ import annotations

import doctest

import stigmer
import stigmer.testing.home


def test_top_level_names_are_pinned() -> None:
    assert sorted(stigmer.__all__) == [
        "Agent",
        "AlreadyExists",
        "AsyncClient",
        "Client",
        "Conflict",
        "Environment",
        "ExecutionFailed",
        "InvalidArgument",
        "McpServer",
        "NotFound",
        "ResourceExhausted",
        "SchemaTooNew",
        "SecretError",
        "Skill",
        "StigmerError",
        "Unauthenticated",
        "Unavailable",
        "Workflow",
        "__version__",
        "task",
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


def test_the_sdk_names_load_on_first_use_only() -> None:
    import subprocess
    import sys

    code = (
        "import sys, stigmer; assert 'stigmer.sdk.client' not in sys.modules; "
        "from stigmer import Agent, Client, task; import stigmer.sdk as sdk; "
        "assert Agent is sdk.Agent and Client.__module__ == 'stigmer.sdk.client'; "
        "assert sorted(sdk.__all__) == sorted(sdk.EXPORTS); print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "ok", result.stderr
