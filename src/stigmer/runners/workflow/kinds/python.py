"""The ``python`` task: call ``module:function`` with the task's inputs as keyword
arguments; the dict it returns is its outputs (any other value is ``{"output": VALUE}``).

The worker that runs the task imports the module (from its path and working directory).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.errors import InvalidArgument
from stigmer.resources.steps import plain
from stigmer.runners.workflow.attempt import Attempt
from stigmer.runners.workflow.kinds.base import Attempts, Fields, TaskCall, TaskError, TaskKind
from stigmer.runners.workflow.kinds.registry import register


class PythonKind(TaskKind):
    """``python: module:function`` (with ``inputs``)."""

    field = "python"
    label = "python"
    heartbeats = True

    def validate(self, task: Task, field: str) -> None:
        if ":" not in task.python:
            raise InvalidArgument("a python task names module:function", field=f"{field}.python")

    def describe(self, task: Task) -> str:
        return f"python {task.python}"

    async def begin(self, run: Attempts, call: Attempt, started: TaskCall, fields: Fields) -> dict[str, Any]:
        inputs = fields.inputs(call.task)
        run.record_start(started)
        return await python(started, inputs)


def load_function(target: str) -> Callable[..., Any]:
    """``module:function``, imported from the worker's path (and its working directory)."""
    module_name, _, name = target.partition(":")
    here = str(Path.cwd())
    if here not in sys.path:
        sys.path.append(here)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TaskError(
            "PYTHON_IMPORT",
            f"cannot import {module_name!r}: {exc} (the worker must be able to import it: "
            "run it from the project directory or install the package)",
            retryable=False,
        ) from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise TaskError("PYTHON_IMPORT", f"{module_name} has no function {name!r}", retryable=False)
    return function  # type: ignore[no-any-return]


async def python(call: TaskCall, inputs: dict[str, Any]) -> dict[str, Any]:
    """Call the function with the task's inputs as keyword arguments; a dict it returns is the output."""
    function = load_function(call.task.python)
    try:
        if inspect.iscoroutinefunction(function):
            result = await function(**inputs)
        else:
            result = await asyncio.to_thread(function, **inputs)
    except TaskError:
        raise
    except Exception as exc:
        raise TaskError("PYTHON_ERROR", f"{call.task.python} raised {type(exc).__name__}: {exc}") from exc
    if result is None:
        return {}
    value = result if isinstance(result, dict) else {"output": result}
    try:
        return dict(plain(json.loads(json.dumps(value, default=str))))
    except (TypeError, ValueError) as exc:
        raise TaskError("PYTHON_OUTPUT", f"{call.task.python} returned data that is not JSON: {exc}") from exc


register(PythonKind())

__all__ = ["PythonKind", "load_function", "python"]
