"""Every workflow task kind is one registered module, and every layer learns kinds from it."""

from __future__ import annotations

import pytest

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.errors import InvalidArgument
from stigmer.resources.graph import describe, label
from stigmer.resources.validate import validate
from stigmer.runners.workflow.kinds import TaskKind, all_kinds, kind_of, register
from tests.builders import workflow

LABELS = ["agent", "set", "http", "switch", "forEach", "approval", "wait", "workflow", "python"]


def test_every_kind_a_task_can_have_is_registered() -> None:
    # A field added to Task's kind oneof without its kind module fails here, not at run time.
    oneof = {f.name for f in Task.DESCRIPTOR.oneofs_by_name["kind"].fields}
    assert {k.field for k in all_kinds()} == oneof
    assert [k.label for k in all_kinds()] == LABELS


def test_a_task_without_a_kind_is_refused_naming_every_kind() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate(workflow("flow", [{"name": "nothing"}]))
    assert caught.value.field == "spec.tasks[0]"
    assert caught.value.hint == f"give it one of: {', '.join(LABELS)}"


def test_a_kind_for_a_field_task_does_not_have_is_refused() -> None:
    class Teleport(TaskKind):
        field = "teleport"
        label = "teleport"

    with pytest.raises(ValueError, match="Task has no field 'teleport'"):
        register(Teleport())
    assert "teleport" not in {k.field for k in all_kinds()}


def test_a_second_kind_for_a_registered_field_is_refused() -> None:
    class OtherWait(TaskKind):
        field = "wait"
        label = "pause"

    with pytest.raises(ValueError, match="registered already"):
        register(OtherWait())
    task = Task(name="nap")
    task.wait.duration = "5m"
    assert label(task) == "wait"
    assert describe(task) == "wait 5m"
    assert kind_of(task) is not None
