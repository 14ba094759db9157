"""Fuzzing (hypothesis) of what users type and write: resource files, expressions, CLI input.

Bounded: a few dozen examples each, a few seconds per test. Each asserts that bad input is a
clear error (a StigmerError; exit 2 from the CLI), never a crash, and that a refused command
leaves the store as it was.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stigmer.errors import StigmerError
from stigmer.resources.decode import decode
from stigmer.resources.documents import parse
from stigmer.resources.expressions import check, condition, evaluate
from stigmer.resources.validate import validate

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KINDS = [
    "Agent",
    "Workflow",
    "Skill",
    "McpServer",
    "Environment",
    "Session",
    "AgentInstance",
    "WorkflowInstance",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
task_keys = st.sampled_from(
    [
        "name",
        "set",
        "http",
        "agent",
        "forEach",
        "wait",
        "timeout",
        "retry",
        "dependsOn",
        "when",
        "python",
        "onError",
    ]
)
tasks = st.dictionaries(task_keys, values, max_size=5)
specs = st.one_of(
    st.dictionaries(st.text(max_size=12), values, max_size=5),
    st.fixed_dictionaries({"tasks": st.lists(tasks, max_size=3)}, optional={"inputs": values}),
)


def documents() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"apiVersion": st.sampled_from(["agentic.stigmer.ai/v1", "x"]), "kind": st.sampled_from(KINDS)},
        optional={
            "metadata": st.one_of(values, st.fixed_dictionaries({"name": st.text(max_size=20)})),
            "spec": specs,
        },
    )


def _decode_all(text: str) -> None:
    for doc in parse(text, "fuzz.yaml"):
        validate(decode(doc))


@FAST
@given(documents())
def test_the_resource_decoder_refuses_with_stigmer_errors_only(document: dict[str, Any]) -> None:
    text = yaml.safe_dump(document, allow_unicode=True)
    with contextlib.suppress(StigmerError):
        _decode_all(text)


@FAST
@given(st.text(max_size=300))
def test_any_text_as_a_resource_file(text: str) -> None:
    with contextlib.suppress(StigmerError):
        _decode_all(text)


expression_atoms = st.sampled_from(
    [
        "workflow.inputs.a",
        "tasks.t.outputs",
        "secrets.X",
        "env.Y",
        "1",
        "'s'",
        "[1,2]",
        "{'k': 1}",
        "size(",
        ")",
        "&&",
        "||",
        "!",
        "+",
        "/",
        "0",
        "1.5e308",
        "null",
        "true",
        "x.y.z",
        "[",
        "]",
        "?",
        ":",
        "==",
        "in",
        "upper(",
        "'",
    ]
)
expressions = st.one_of(st.text(max_size=60), st.lists(expression_atoms, max_size=12).map(" ".join))
# The expression engine raises the recursion limit on first use; do it before hypothesis
# records the limit it restores.
evaluate("${1 + 1}", {}, where="warm-up")
CONTEXT = {
    "workflow": {"inputs": {"a": 1}},
    "tasks": {"t": {"outputs": {"k": [1]}}},
    "secrets": {"X": "s"},
    "env": {},
}


@FAST
@given(expressions)
def test_the_expression_language_refuses_with_stigmer_errors_only(source: str) -> None:
    for attempt in (
        lambda: check("${" + source + "}", where="f"),
        lambda: evaluate("${" + source + "}", CONTEXT, where="f"),
        lambda: evaluate("text ${" + source + "} more", CONTEXT, where="f"),
        lambda: condition(source, CONTEXT, where="f"),
    ):
        with contextlib.suppress(StigmerError):
            attempt()


# -- the CLI, in this process ------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("fuzz-home")
    saved = {k: os.environ.get(k) for k in ("STIGMER_HOME", "STIGMER_KEYRING")}
    os.environ.update({"STIGMER_HOME": str(root / "home"), "STIGMER_KEYRING": "0"})
    try:
        assert _cli(["apply", "-f", "-"], stdin=WORKFLOW)[0] == 0
        yield root
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


WORKFLOW = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: w}
spec:
  inputs: {n: integer, s: {type: string, required: false}}
  tasks: [{name: a, set: {x: "${workflow.inputs.n}"}}]
"""


def _cli(argv: list[str], *, stdin: str = "") -> tuple[int, str]:
    import sys

    from stigmer.cli.main import main

    err = io.StringIO()
    code: Any = 0
    old_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8", "surrogatepass")), encoding="utf-8")
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            main(argv)
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stdin = old_stdin
    return int(code or 0), err.getvalue()


def _counts() -> dict[str, Any]:
    from stigmer.backend.local import LocalBackend

    backend = LocalBackend.open(Path(os.environ["STIGMER_HOME"]) / "local.db")
    try:
        return dict(backend.info().counts)
    finally:
        backend.close()


@FAST
@given(st.text(max_size=200))
def test_apply_of_any_text_exits_0_or_2_and_a_refusal_changes_nothing(home: Path, text: str) -> None:
    before = _counts()
    code, err = _cli(["apply", "-f", "-"], stdin=text)
    assert code in (0, 2), err
    if code == 2:
        assert _counts() == before


@FAST
@given(st.lists(st.tuples(st.sampled_from(["n", "s", "zz", ""]), st.text(max_size=40)), max_size=3))
def test_workflow_inputs_exit_0_or_2(home: Path, pairs: list[tuple[str, str]]) -> None:
    argv = ["workflow", "execute", "w", "-o", "json"]
    for key, value in pairs:
        argv += ["--input", f"{key}={value}"]
    before = _counts()
    code, err = _cli(argv)
    assert code in (0, 2), err
    if code == 2:
        assert _counts() == before


@FAST
@given(values)
def test_an_input_file_of_any_value_exits_0_or_2(home: Path, value: Any) -> None:
    path = home / "inputs.json"
    path.write_text(json.dumps(value, allow_nan=True), encoding="utf-8")
    before = _counts()
    code, err = _cli(["workflow", "execute", "w", "--input-file", str(path), "-o", "json"])
    assert code in (0, 2), err
    if code == 2:
        assert _counts() == before
