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
import time
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
        # Its start is not journalled: it records nothing a resumed run needs (unlike a child
        # run's id or a timer's deadline), and a crash before its end re-runs the attempt,
        # as it would with a recorded start. Its end is the attempt's one commit.
        run.note_start(started)
        return await python(started, inputs, alone=call.alone)


# A synchronous function runs in a thread, so that the event loop goes on meanwhile (the
# lease's heartbeat, the run's other tasks, the task's timeout). It runs in the loop
# instead, without a thread hop that costs more than a quick call, only when the loop
# needs nothing meanwhile: no other task of the run is in flight or ready, the task has
# no timeout (a call in the loop cannot be interrupted), and the function's last call in
# this process took less than INLINE_SECONDS (its first call takes the thread). A call
# that takes long after all holds the loop once; the next one takes the thread again.
INLINE_SECONDS = 0.001
_LAST: dict[str, float] = {}  # module:function -> how long its last call took


def _timed(function: Callable[..., Any], inputs: dict[str, Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = function(**inputs)
    return result, time.perf_counter() - began


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


async def python(call: TaskCall, inputs: dict[str, Any], *, alone: bool = False) -> dict[str, Any]:
    """Call the function with the task's inputs as keyword arguments; a dict it returns is the
    output. ``alone``: nothing else of the run needs the event loop meanwhile (see INLINE_SECONDS)."""
    target = call.task.python
    function = load_function(target)
    try:
        if inspect.iscoroutinefunction(function):
            result = await function(**inputs)
        elif alone and not call.task.timeout and _LAST.get(target, INLINE_SECONDS) < INLINE_SECONDS:
            result, _LAST[target] = _timed(function, inputs)
        else:
            result, _LAST[target] = await asyncio.to_thread(_timed, function, inputs)
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

__all__ = ["INLINE_SECONDS", "PythonKind", "load_function", "python"]
