"""The task kinds as the runners and engines see them: the registry of
:mod:`stigmer.resources.task_kinds`, typed with how an attempt runs.
"""

from __future__ import annotations

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.resources import task_kinds
from stigmer.resources.task_kinds import BUILTIN, register
from stigmer.runners.workflow.kinds.base import TaskKind


def _runnable(kind: task_kinds.TaskKindSpec) -> TaskKind:
    if not isinstance(kind, TaskKind):
        raise TypeError(f"task kind {kind.label!r} does not subclass TaskKind: it cannot run")
    return kind


def all_kinds() -> list[TaskKind]:
    """Every registered kind, built-ins first."""
    return [_runnable(k) for k in task_kinds.all_kinds()]


def kind_of(task: Task) -> TaskKind | None:
    """The kind of ``task``; None when it has none."""
    kind = task_kinds.kind_of(task)
    return None if kind is None else _runnable(kind)


def kind_named(field: str) -> TaskKind:
    """The kind whose ``Task`` field is ``field`` (as :class:`Begun` names it)."""
    return _runnable(task_kinds.kind_named(field))


__all__ = ["BUILTIN", "all_kinds", "kind_named", "kind_of", "register"]
