"""Where a workflow task holds expressions, and what they refer to.

Validation checks these fields, and the runner reads their references: a task waits
for every task its expressions read (``${tasks.X…}``), as if it listed it in
``dependsOn``, and a run checks that its environment holds every ``secrets``/``env``
name before any work.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.resources import expressions
from stigmer.resources.task_kinds import kind_of


def value_fields(task: Task) -> list[tuple[str, Any]]:
    """(field, value) of every field of ``task`` that may hold ``${…}`` (not its item task's)."""
    values: list[tuple[str, Any]] = [("message", task.message)]
    if task.HasField("inputs"):
        values.append(("inputs", json_format.MessageToDict(task.inputs)))
    kind = kind_of(task)
    if kind is not None:
        values += kind.value_fields(task)
    return values


def condition_fields(task: Task) -> list[tuple[str, str]]:
    """(field, text) of the conditions of ``task``: ``when`` and those of its kind (switch cases)."""
    conditions = [("when", task.when)]
    kind = kind_of(task)
    if kind is not None:
        conditions += kind.condition_fields(task)
    return [(name, text) for name, text in conditions if text]


def item_tasks(task: Task, where: str) -> list[tuple[str, Task]]:
    """(field, task) of the task ``task`` runs per item (a forEach's ``do``), if any."""
    kind = kind_of(task)
    item = kind.item_task(task) if kind is not None else None
    return [(f"{where}.{kind.label}.do", item)] if kind is not None and item is not None else []


def references(task: Task, where: str = "") -> set[tuple[str, str]]:
    """Every (root, name) the expressions of ``task`` (and of its item task) refer to."""
    found: set[tuple[str, str]] = set()
    for name, value in value_fields(task):
        for path, text in expressions.iter_strings(value, f"{where}.{name}"):
            if expressions.has_expressions(text):
                found |= expressions.references(text, where=path)
    for name, text in condition_fields(task):
        found |= expressions.condition_references(text, where=f"{where}.{name}")
    for field, item in item_tasks(task, where):
        found |= references(item, field)
    return found


def referenced_tasks(task: Task) -> set[str]:
    """The other tasks whose results ``task`` reads."""
    return {name for root, name in references(task) if root == "tasks" and name and name != task.name}


__all__ = ["condition_fields", "item_tasks", "referenced_tasks", "references", "value_fields"]
