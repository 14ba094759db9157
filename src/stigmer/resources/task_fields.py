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


def value_fields(task: Task) -> list[tuple[str, Any]]:
    """(field, value) of every field of ``task`` that may hold ``${…}`` (not its forEach.do)."""
    values: list[tuple[str, Any]] = [("message", task.message)]
    if task.HasField("inputs"):
        values.append(("inputs", json_format.MessageToDict(task.inputs)))
    kind = task.WhichOneof("kind")
    if kind == "set":
        values.append(("set", json_format.MessageToDict(task.set)))
    elif kind == "http":
        http = task.http
        values += [
            ("http.url", http.url),
            ("http.headers", dict(http.headers)),
            ("http.query", dict(http.query)),
        ]
        if http.HasField("body"):
            values.append(("http.body", json_format.MessageToDict(http.body)))
    elif kind == "approval":
        values.append(("approval.message", task.approval.message))
    elif kind == "for_each":
        values.append(("forEach.items", task.for_each.items))
    return values


def condition_fields(task: Task) -> list[tuple[str, str]]:
    """(field, text) of the conditions of ``task``: ``when`` and its switch cases."""
    conditions = [("when", task.when)]
    conditions += [(f"switch.cases[{c}].when", case.when) for c, case in enumerate(task.switch.cases)]
    return [(name, text) for name, text in conditions if text]


def references(task: Task, where: str = "") -> set[tuple[str, str]]:
    """Every (root, name) the expressions of ``task`` (and of its forEach.do) refer to."""
    found: set[tuple[str, str]] = set()
    for name, value in value_fields(task):
        for path, text in expressions.iter_strings(value, f"{where}.{name}"):
            if expressions.has_expressions(text):
                found |= expressions.references(text, where=path)
    for name, text in condition_fields(task):
        found |= expressions.condition_references(text, where=f"{where}.{name}")
    if task.WhichOneof("kind") == "for_each" and task.for_each.HasField("do"):
        found |= references(task.for_each.do, f"{where}.forEach.do")
    return found


def referenced_tasks(task: Task) -> set[str]:
    """The other tasks whose results ``task`` reads."""
    return {name for root, name in references(task) if root == "tasks" and name and name != task.name}


__all__ = ["condition_fields", "referenced_tasks", "references", "value_fields"]
