"""The Python SDK: author resources in Python, and call Stigmer from any program.

Everything here is also importable from its module; the names a program usually needs
are re-exported from :mod:`stigmer` (``from stigmer import Agent, Workflow, Client``).
Loaded on first use, so ``import stigmer.sdk`` costs nothing until a name is touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stigmer.sdk.aio import AsyncClient
    from stigmer.sdk.authoring import (
        Agent,
        Environment,
        EnvSpec,
        Http,
        Input,
        Limits,
        McpServer,
        Retry,
        Skill,
        Stdio,
        Task,
        Workflow,
        agent_task,
        approval,
        for_each,
        http_task,
        python_task,
        set_task,
        switch,
        wait,
        workflow_task,
    )
    from stigmer.sdk.client import Client
    from stigmer.sdk.events import ExecutionStream, TaskChanged
    from stigmer.sdk.functions import task
    from stigmer.sdk.values import outputs

# Public name -> the module that defines it.
EXPORTS = {
    **dict.fromkeys(
        [
            "Agent",
            "EnvSpec",
            "Environment",
            "Http",
            "Input",
            "Limits",
            "McpServer",
            "Retry",
            "Skill",
            "Stdio",
            "Task",
            "Workflow",
            "agent_task",
            "approval",
            "for_each",
            "http_task",
            "python_task",
            "set_task",
            "switch",
            "wait",
            "workflow_task",
        ],
        "stigmer.sdk.authoring",
    ),
    "task": "stigmer.sdk.functions",
    "Client": "stigmer.sdk.client",
    "AsyncClient": "stigmer.sdk.aio",
    "ExecutionStream": "stigmer.sdk.events",
    "TaskChanged": "stigmer.sdk.events",
    "outputs": "stigmer.sdk.values",
}


def __getattr__(name: str) -> Any:
    module = EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stigmer.sdk' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "Agent",
    "AsyncClient",
    "Client",
    "EnvSpec",
    "Environment",
    "ExecutionStream",
    "Http",
    "Input",
    "Limits",
    "McpServer",
    "Retry",
    "Skill",
    "Stdio",
    "Task",
    "TaskChanged",
    "Workflow",
    "agent_task",
    "approval",
    "for_each",
    "http_task",
    "outputs",
    "python_task",
    "set_task",
    "switch",
    "task",
    "wait",
    "workflow_task",
]
