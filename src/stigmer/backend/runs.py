"""Execution requests the CLI and the SDK share, built on the Backend protocol alone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution, ExecutionLimits
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.session.v1.session_pb2 import Session
from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend
from stigmer.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from stigmer.resources.kinds import API_VERSION, Execution

FINISHED = (ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED)


def new_agent_execution(
    backend: Backend,
    agent: str,
    message: str,
    *,
    session: str | None = None,
    env: str | None = None,
    model: str | None = None,
    labels: Mapping[str, str] | None = None,
    via: str = "",
) -> AgentExecution:
    """Record a PENDING run of ``agent`` on ``message``, as `stigmer agent execute`, the
    dashboard and the SDK do.

    A ``session`` that does not exist yet is created for the agent. ``via`` ("cli", "dashboard",
    "sdk") is recorded in the run's trigger, with the backend's writer as the person.

    Raises:
        NotFound: There is no such agent.
        InvalidArgument: The model or a label is malformed.
    """
    from stigmer.resources.normalise import parse_model

    target = backend.get(Agent, agent)
    execution = AgentExecution(api_version=API_VERSION, kind="AgentExecution")
    execution.spec.agent = target.metadata.name
    execution.spec.message = message
    execution.spec.environment = env or ""
    if via:
        execution.spec.trigger.type, execution.spec.trigger.via = "manual", via
    if labels:
        execution.metadata.labels.update(labels)
    if model:
        parsed = parse_model(model)
        execution.spec.model.provider = parsed["provider"]
        execution.spec.model.name = parsed.get("name", "")
    if session:
        execution.spec.session = _session(backend, session, target.metadata.name).metadata.name
    return backend.create_execution(execution)


def _session(backend: Backend, name: str, agent: str) -> Session:
    try:
        return backend.get(Session, name)
    except NotFound:
        pass
    new = Session(api_version=API_VERSION, kind="Session")
    new.metadata.name = name
    new.spec.agent = agent
    try:
        return backend.create(new)
    except AlreadyExists:  # created meanwhile by someone else: the same thread of conversation
        return backend.get(Session, name)


def new_workflow_execution(
    backend: Backend,
    workflow: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    env: str | None = None,
    labels: Mapping[str, str] | None = None,
    via: str = "",
) -> WorkflowExecution:
    """Record a PENDING run of ``workflow`` with ``inputs``, as `stigmer workflow
    execute`, the dashboard and the SDK do.

    Raises:
        NotFound: There is no such workflow.
        InvalidArgument: An input is unknown, missing or of the wrong type (``field`` names it).
    """
    target = backend.get(Workflow, workflow)
    execution = WorkflowExecution(api_version=API_VERSION, kind="WorkflowExecution")
    execution.spec.workflow = target.metadata.name
    execution.spec.environment = env or ""
    if via:
        execution.spec.trigger.type, execution.spec.trigger.via = "manual", via
    if labels:
        execution.metadata.labels.update(labels)
    if inputs:
        try:
            execution.spec.inputs.update(dict(inputs))
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"inputs must be JSON-like values: {exc}", field="inputs") from None
    return backend.create_execution(execution)


def retried_execution(
    backend: Backend,
    execution_id: str,
    *,
    from_task: str = "",
    definition: str = "pinned",
    timeout: str = "",
) -> WorkflowExecution:
    """Record a new run of a finished workflow run that reuses its recorded task results:
    those of every task before ``from_task`` (or of every completed task, without it), on
    the version it ran (``definition="pinned"``) or the latest one; ``timeout`` replaces the
    run's timeout (a run stopped by its own goes on with a longer one).

    Raises:
        InvalidArgument: It is an agent run (see :func:`retried_agent_execution`), or
            ``definition`` is neither "pinned" nor "latest".
        Conflict: The run has not finished.
    """
    if definition not in ("pinned", "latest"):
        raise InvalidArgument(
            f"definition must be 'pinned' or 'latest', got {definition!r}", field="definition"
        )
    source = _finished(backend, execution_id)
    if not isinstance(source, WorkflowExecution):
        raise InvalidArgument(
            f"{execution_id} is an agent execution; --from and --definition are for workflow runs",
            hint=f"retry it without them: stigmer execution retry {execution_id}",
        )
    retried = WorkflowExecution(api_version=API_VERSION, kind="WorkflowExecution")
    retried.spec.CopyFrom(source.spec)
    retried.spec.retry_of, retried.spec.retry_from = execution_id, from_task
    retried.spec.ClearField("parent_execution_id")
    retried.spec.ClearField("trace_parent")  # a retry starts a trace of its own
    retried.spec.timeout = timeout or retried.spec.timeout
    if definition == "latest":
        retried.spec.workflow_version = 0
    _copy_labels(source, retried)
    return backend.create_execution(retried)


def retried_agent_execution(
    backend: Backend, execution_id: str, *, limits: ExecutionLimits | None = None
) -> AgentExecution:
    """Record a new run of a finished agent run that replays its recorded steps (model turns,
    tool calls, sub-agent runs, up to the first that did not complete) and goes on from there,
    with ``limits`` raised where it sets them: a run stopped by a limit continues past it
    without paying again for what it did.

    Raises:
        InvalidArgument: It is a workflow run (see :func:`retried_execution`).
        Conflict: The run has not finished.
    """
    source = _finished(backend, execution_id)
    if not isinstance(source, AgentExecution):
        raise InvalidArgument(
            f"{execution_id} is a workflow execution; --max-turns, --max-tokens and --max-cost "
            "are for agent runs",
            hint="a workflow run takes --timeout, --from and --definition",
        )
    retried = AgentExecution(api_version=API_VERSION, kind="AgentExecution")
    retried.spec.CopyFrom(source.spec)
    retried.spec.retry_of = execution_id
    retried.spec.ClearField("parent_execution_id")
    retried.spec.ClearField("trace_parent")  # a retry starts a trace of its own
    if limits is not None:
        own = retried.spec.limits
        own.max_turns = limits.max_turns or own.max_turns
        own.max_tokens = limits.max_tokens or own.max_tokens
        own.max_cost = limits.max_cost or own.max_cost
        own.timeout = limits.timeout or own.timeout
    _copy_labels(source, retried)
    return backend.create_execution(retried)


def retried_run(
    backend: Backend,
    execution_id: str,
    *,
    from_task: str = "",
    definition: str = "pinned",
    timeout: str = "",
    limits: ExecutionLimits | None = None,
) -> Execution:
    """Record a new run of a finished run, agent or workflow, that reuses what it recorded (see
    :func:`retried_execution` and :func:`retried_agent_execution`); ``timeout`` is the new run's
    (an agent's ``limits.timeout``, or a workflow's), ``limits`` an agent run's higher limits.

    Raises:
        InvalidArgument: An option is for the other kind of run, or ``timeout`` is malformed.
        Conflict: The run has not finished.
    """
    from stigmer.resources.durations import parse_duration
    from stigmer.resources.kinds import kind_of_id

    if timeout:
        parse_duration(timeout, field="timeout")
    info = kind_of_id(execution_id)
    if info is not None and info.kind == "AgentExecution":
        if from_task or definition != "pinned":
            raise InvalidArgument(
                f"{execution_id} is an agent execution; from_task and definition are for workflow runs",
                hint="an agent run goes on from its last recorded step: retry it without them",
            )
        raised = ExecutionLimits()
        if limits is not None:
            raised.CopyFrom(limits)
        raised.timeout = timeout or raised.timeout
        return retried_agent_execution(backend, execution_id, limits=raised)
    if limits is not None and (limits.max_turns or limits.max_tokens or limits.max_cost):
        raise InvalidArgument(
            f"{execution_id} is a workflow execution; max turns, tokens and cost are for agent runs",
            hint="a workflow run takes a timeout, from_task and definition",
        )
    return retried_execution(
        backend, execution_id, from_task=from_task, definition=definition, timeout=timeout
    )


def _finished(backend: Backend, execution_id: str) -> Execution:
    source = backend.get_execution(execution_id)
    if source.status.phase not in FINISHED:
        raise Conflict(
            f"execution {execution_id} is {ExecutionPhase.Name(source.status.phase)}; "
            "only a finished run is retried",
            hint="wait for it to finish, or cancel it first",
        )
    return source


def _copy_labels(source: Execution, retried: Execution) -> None:
    retried.metadata.labels.update(
        {k: v for k, v in source.metadata.labels.items() if not k.startswith("stigmer.ai/")}
    )


def check_resumable(backend: Backend, execution_id: str) -> Execution:
    """The run, when there is something left to run of it.

    Raises:
        Conflict: It waits for an approval, or it has finished.
    """
    current = backend.get_execution(execution_id)
    phase = current.status.phase
    if phase == ExecutionPhase.WAITING_APPROVAL:
        raise Conflict(
            f"execution {execution_id} is waiting for an approval",
            hint=f"approve or reject it first (stigmer execution approve {execution_id})",
        )
    if phase in FINISHED:
        raise Conflict(
            f"execution {execution_id} is {ExecutionPhase.Name(phase)}; there is nothing left to run"
        )
    return current


__all__ = [
    "FINISHED",
    "check_resumable",
    "new_agent_execution",
    "new_workflow_execution",
    "retried_agent_execution",
    "retried_execution",
    "retried_run",
]
