"""The ``workflow`` task: run another workflow (a child WorkflowExecution) with inputs;
its outputs are the child's."""

from __future__ import annotations

from typing import Any

from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.runners.workflow.kinds.base import Fields, TaskCall
from stigmer.runners.workflow.kinds.children import ChildKind
from stigmer.runners.workflow.kinds.registry import register


class WorkflowKind(ChildKind):
    """``workflow: NAME`` (with ``inputs``)."""

    field = "workflow"
    label = "workflow"
    resource = "Workflow"
    child_workflow = "StigmerWorkflow"

    def new_child(
        self, call: TaskCall, fields: Fields, inputs: dict[str, Any], redact: Any
    ) -> WorkflowExecution:
        return new_workflow_child(call, inputs)


def new_workflow_child(call: TaskCall, inputs: dict[str, Any]) -> WorkflowExecution:
    """The WorkflowExecution a workflow task starts."""
    child = WorkflowExecution()
    child.spec.workflow = call.task.workflow
    if inputs:
        child.spec.inputs.update(inputs)
    return child


register(WorkflowKind())

__all__ = ["WorkflowKind", "new_workflow_child"]
