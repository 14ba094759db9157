"""`@task` functions: still plain functions, their arguments checked and converted when an
engine calls them, and run as `python` tasks by a real `stigmer worker`."""

from __future__ import annotations

import asyncio
import inspect
import signal
import time
from pathlib import Path
from typing import Any, Literal

import pytest

from stigmer.sdk.functions import task
from tests.cli.helpers import Stigmer, write


@task
def add(a: int, b: int) -> dict[str, int]:
    return {"sum": a + b}


@task
def describe(
    name: str,
    ratio: float,
    flags: list[bool],
    weights: dict[str, float],
    pair: tuple[int, str] = (0, ""),
    limit: int | None = None,
    mode: Literal["fast", "slow"] = "fast",
    extra: Any = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "ratio": ratio,
        "flags": flags,
        "weights": weights,
        "pair": pair,
        "limit": limit,
        "mode": mode,
        "extra": extra,
    }


@task
async def shout(text: str, times: int = 1) -> str:
    await asyncio.sleep(0)
    return " ".join([text.upper()] * times)


def test_a_task_function_is_still_the_function() -> None:
    assert add(1, 2) == {"sum": 3}
    assert add(a=1, b=2) == {"sum": 3}
    assert add.__name__ == "add" and add.function(2, 2) == {"sum": 4}
    assert add.target == "tests.sdk.test_python_tasks:add"
    assert inspect.iscoroutinefunction(shout) and not inspect.iscoroutinefunction(add)
    assert asyncio.run(shout("hi", times=2)) == "HI HI"


def test_values_that_came_through_json_are_converted_where_nothing_is_lost() -> None:
    # What an engine passes: JSON values, by keyword.
    engine: dict[str, Any] = {"a": 2.0, "b": 3}
    assert add(**engine) == {"sum": 5}
    engine = {
        "name": "n",
        "ratio": 2,
        "flags": [True, False],
        "weights": {"x": 1, "y": 0.5},
        "pair": [3.0, "z"],
        "limit": 4.0,
        "mode": "slow",
        "extra": {"any": ["thing"]},
    }
    got = describe(**engine)
    assert got == {
        "name": "n",
        "ratio": 2.0,
        "flags": [True, False],
        "weights": {"x": 1.0, "y": 0.5},
        "pair": (3, "z"),
        "limit": 4,
        "mode": "slow",
        "extra": {"any": ["thing"]},
    }
    assert isinstance(got["ratio"], float) and isinstance(got["limit"], int)
    assert describe(name="n", ratio=1.5, flags=[], weights={}, limit=None)["limit"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"a": 2.5, "b": 1}, "add(): parameter 'a' expects int, got float 2.5"),
        ({"a": "2", "b": 1}, "add(): parameter 'a' expects int, got str '2'"),
        ({"a": True, "b": 1}, "add(): parameter 'a' expects int, got bool True"),
        ({"a": 1}, "add(): missing a required argument: 'b'"),
        ({"a": 1, "b": 2, "c": 3}, "add(): got an unexpected keyword argument 'c'"),
    ],
)
def test_a_wrong_argument_is_a_type_error_naming_the_parameter(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError) as caught:
        add(**kwargs)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ratio": "1"}, "parameter 'ratio' expects float, got str '1'"),
        ({"flags": [1]}, "parameter 'flags'[0] expects bool, got int 1"),
        ({"flags": "yes"}, "parameter 'flags' expects list[bool], got str 'yes'"),
        ({"weights": {"x": "heavy"}}, "parameter 'weights'['x'] expects float, got str 'heavy'"),
        ({"pair": [1]}, "parameter 'pair' expects tuple[int, str], got list [1]"),
        ({"limit": 1.5}, "parameter 'limit' expects int | None, got float 1.5"),
        ({"mode": "medium"}, "parameter 'mode' expects Literal['fast', 'slow'], got str 'medium'"),
    ],
)
def test_nested_and_optional_annotations_are_checked(kwargs: dict[str, Any], message: str) -> None:
    given: dict[str, Any] = {"name": "n", "ratio": 1.0, "flags": [], "weights": {}, **kwargs}
    with pytest.raises(TypeError, match=r"^describe\(\): ") as caught:
        describe(**given)
    assert message in str(caught.value)


STEPS = """
from stigmer.sdk.functions import task


@task
def scale(values: list[float], factor: int) -> dict[str, list[float]]:
    return {"scaled": [v * factor for v in values]}


@task
def count(n: int) -> dict[str, int]:
    return {"n": n}
"""

APP = """
from steps import count, scale

from stigmer.sdk.authoring import Workflow
from stigmer.sdk.functions import task


@task
async def greet(name: str, times: int = 1) -> str:
    return " ".join([f"hi {name}"] * times)


scaled = scale.step(values="${workflow.inputs.values}", factor="${workflow.inputs.factor}")
hello = greet.step(name="${workflow.inputs.name}", times=2, depends_on=[scaled])
numbers = Workflow(
    "numbers",
    inputs={"values": list[float], "factor": int, "name": str},
    tasks=[scaled, hello],
    outputs={"scaled": scaled.output("scaled"), "greeting": hello.output("output")},
)
mistyped = Workflow("mistyped", inputs={"label": str}, tasks=[count.step(n="${workflow.inputs.label}")])
"""


@pytest.fixture
def stigmer(tmp_path: Path) -> Stigmer:
    work = tmp_path / "work"
    write(work / "steps.py", STEPS)
    write(work / "app.py", APP)
    return Stigmer(tmp_path / "home", work)


def _finished(stigmer: Stigmer, execution_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record: dict[str, Any] = stigmer("execution", "get", execution_id, "-o", "json").json()
        if record["status"]["phase"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return record
        time.sleep(0.2)
    raise AssertionError(f"{execution_id} did not finish: {record['status']}")


def test_a_worker_runs_the_python_steps_of_a_workflow_written_in_python(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", "app.py")
    ok = stigmer(
        "workflow",
        "execute",
        "numbers",
        "--input",
        "values=[1.5, 2]",
        "--input",
        "factor=3",
        "--input",
        "name=ada",
        "--detach",
    ).out.strip()
    bad = stigmer("workflow", "execute", "mistyped", "--input", "label=seven", "--detach").out.strip()
    worker = stigmer.start("worker")
    try:
        done, failed = _finished(stigmer, ok), _finished(stigmer, bad)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)
    assert done["status"]["phase"] == "COMPLETED", done["status"]
    assert done["status"]["outputs"] == {"scaled": [4.5, 6], "greeting": "hi ada hi ada"}
    assert failed["status"]["phase"] == "FAILED"
    error = failed["status"]["error"]["message"]
    assert "steps:count raised TypeError: count(): parameter 'n' expects int, got str 'seven'" in error
