"""The dashboard's JSON API: each route is one function over the Backend protocol.

Lists pass the backend's keyset page tokens through (``pageToken`` in, ``nextPageToken``
out), so no request ever reads more than one page, however many executions are stored.
Errors are the typed errors of :mod:`stigmer.errors`, sent as JSON with the HTTP status of
their kind; the field of an invalid input is named, so a form can show it by its input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.environment.v1.environment_pb2 import Environment
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.api.schedule.v1.schedule_pb2 import Schedule
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.api.webhook.v1.webhook_pb2 import Webhook
from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend, ExecutionQuery
from stigmer.backend.runs import new_agent_execution, new_workflow_execution
from stigmer.backend.watch import FINISHED
from stigmer.engine.thread import EngineThread
from stigmer.errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    StigmerError,
    Unauthenticated,
    Unavailable,
)
from stigmer.resources.kinds import Resource
from stigmer.ui import views

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# The kinds the dashboard lists, by the word in its URLs.
RESOURCE_KINDS: dict[str, type[Resource]] = {
    "agents": Agent,
    "workflows": Workflow,
    "skills": Skill,
    "mcpservers": McpServer,
    "environments": Environment,
    "schedules": Schedule,
    "webhooks": Webhook,
}
PHASES = ("PENDING", "RUNNING", "WAITING_APPROVAL", "COMPLETED", "FAILED", "CANCELLED")

# The HTTP status of each error kind (the gRPC code's counterpart).
STATUS: dict[type[StigmerError], int] = {
    InvalidArgument: 400,
    Unauthenticated: 401,
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    PermissionDenied: 403,
    ResourceExhausted: 413,
    Unavailable: 503,
}


def http_status(error: StigmerError) -> int:
    """The HTTP status for an error: its kind's, else 409 for a refused state, else 500."""
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 409 if error.grpc_code == "FAILED_PRECONDITION" else 500


def error_body(error: StigmerError) -> dict[str, Any]:
    """An error as JSON: what happened, the field (for invalid input), and what to do next."""
    body: dict[str, Any] = {"error": error.message, "code": error.grpc_code, "hint": error.hint}
    if isinstance(error, InvalidArgument):
        body["field"] = error.field
    return body


@dataclass
class Call:
    """One API request as a route sees it.

    Args:
        backend: Borrowed for this request.
        params: Named parts of the path.
        query: Query parameters (the last value of each).
        body: The JSON body of a POST ({} otherwise).
        engine: The worker running inside the dashboard, if any.
        remote: The backend is a `stigmer server`, whose own worker runs executions.
    """

    backend: Backend
    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    engine: EngineThread | None = None
    remote: bool = False

    def text(self, name: str, *, source: str = "body") -> str:
        """A text value of the body (or query); InvalidArgument when it is not text."""
        value = (self.body if source == "body" else self.query).get(name, "")
        if not isinstance(value, str):
            raise InvalidArgument(f"{name} must be text", field=name)
        return value.strip()

    def page_size(self) -> int:
        raw = self.query.get("pageSize", "")
        if not raw:
            return DEFAULT_PAGE_SIZE
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
            raise InvalidArgument(f"pageSize must be a number from 1 to {MAX_PAGE_SIZE}", field="pageSize")
        return int(raw)


Handler = Callable[[Call], tuple[int, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


ROUTES: list[Route] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``METHOD /api/path``; ``{name}`` matches one path segment."""
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, pattern, handler))
        return handler

    return register


def match(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    """The handler for a request and the named parts of its path; None when none matches."""
    for candidate in ROUTES:
        found = candidate.pattern.match(path)
        if found and candidate.method == method:
            return candidate.handler, found.groupdict()
    return None


def path_exists(path: str) -> bool:
    """Whether any method serves ``path`` (to answer 405 rather than 404)."""
    return any(r.pattern.match(path) for r in ROUTES)


def _kind(call: Call) -> type[Resource]:
    word = call.params["kind"]
    if word not in RESOURCE_KINDS:
        raise NotFound(f"the dashboard lists no {word!r}", hint=f"one of: {', '.join(RESOURCE_KINDS)}")
    return RESOURCE_KINDS[word]


@route("GET", "/api/resources/{kind}")
def list_resources(call: Call) -> tuple[int, Any]:
    """One page of a kind, by name."""
    page = call.backend.list(
        _kind(call), page_size=call.page_size(), page_token=call.text("pageToken", source="query")
    )
    return 200, {
        "items": [views.resource_summary(_with_status(call, r)) for r in page.items],
        "nextPageToken": page.next_page_token,
    }


@route("GET", "/api/resources/{kind}/{name}")
def get_resource(call: Call) -> tuple[int, Any]:
    """One resource; a workflow comes with its graph and the inputs its form asks for."""
    return 200, views.resource_detail(_with_status(call, call.backend.get(_kind(call), call.params["name"])))


def _with_status(call: Call, resource: Resource) -> Resource:
    """A Schedule with its next fires and last run (computed on read); other kinds as they are."""
    if not isinstance(resource, Schedule):
        return resource
    from stigmer.triggers.schedules import with_status

    return with_status(call.backend, resource, datetime.now(UTC), upcoming=5)


def _since(text: str) -> datetime | None:
    """The oldest creation time a ``since`` filter keeps: an age (``1h``, ``7d``) or a time."""
    if not text:
        return None
    from stigmer.resources.durations import parse_age

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC) - timedelta(seconds=parse_age(text, field="since"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def execution_query(call: Call) -> ExecutionQuery:
    """The backend query of a list request's filters."""
    kind = call.text("kind", source="query")
    if kind not in ("", "agent", "workflow"):
        raise InvalidArgument("kind must be agent or workflow", field="kind")
    phase = call.text("phase", source="query").upper()
    if phase and phase not in PHASES:
        raise InvalidArgument(f"phase must be one of {', '.join(PHASES)}", field="phase")
    trigger = call.text("trigger", source="query")
    labels: dict[str, str] = {}
    if trigger:
        from stigmer.resources.provenance import trigger_labels

        labels = trigger_labels(trigger, call.text("source", source="query"))
    return ExecutionQuery(
        labels=labels,
        kind={"agent": "AgentExecution", "workflow": "WorkflowExecution"}.get(kind, ""),
        phase=ExecutionPhase.Value(phase) if phase else ExecutionPhase.EXECUTION_PHASE_UNSPECIFIED,
        parent_execution_id=call.text("parent", source="query"),
        definition=call.text("definition", source="query"),
        page_size=call.page_size(),
        page_token=call.text("pageToken", source="query"),
    )


@route("GET", "/api/executions")
def list_executions(call: Call) -> tuple[int, Any]:
    """One page of executions, newest first, filtered by kind, phase, parent, definition and age.

    ``since`` keeps the runs created after a time: the list is newest first, so the page
    that reaches older runs is the last one, and nothing older is ever read.
    """
    query = execution_query(call)
    cutoff = _since(call.text("since", source="query"))
    page = call.backend.list_executions(query)
    items, token = page.items, page.next_page_token
    if cutoff is not None:
        kept = [e for e in items if e.metadata.create_time.ToDatetime(UTC) >= cutoff]
        if len(kept) < len(items):
            items, token = kept, ""
    return 200, {"items": [views.execution_summary(e) for e in items], "nextPageToken": token}


def approval_of(backend: Backend, execution: AgentExecution | WorkflowExecution) -> dict[str, Any] | None:
    """What a waiting execution waits for: its own approval task, or a tool call of an agent
    run (its own, or that of an agent task's run, which approving the workflow decides)."""
    if execution.status.phase != ExecutionPhase.WAITING_APPROVAL:
        return None
    if isinstance(execution, AgentExecution):
        return views.tool_approval(execution)
    own = views.waiting_approval(backend.list_steps(execution.metadata.id))
    if own is not None:
        return own
    for task in execution.status.tasks:
        if task.phase == ExecutionPhase.WAITING_APPROVAL and task.child_execution_id:
            child = backend.get_execution(task.child_execution_id)
            found = approval_of(backend, child)
            if found is not None:
                return {**found, "task": task.name, "child": task.child_execution_id}
    return None


def input_of(backend: Backend, execution: AgentExecution | WorkflowExecution) -> dict[str, Any] | None:
    """What an MCP server asks a person during a tool call of this run, or of the run of one
    of its agent tasks (which answering the workflow answers)."""
    if execution.status.phase not in (ExecutionPhase.RUNNING, ExecutionPhase.WAITING_APPROVAL):
        return None
    if isinstance(execution, AgentExecution):
        return views.input_request(execution)
    for task in execution.status.tasks:
        if task.child_execution_id and task.phase in (
            ExecutionPhase.RUNNING,
            ExecutionPhase.WAITING_APPROVAL,
        ):
            found = input_of(backend, backend.get_execution(task.child_execution_id))
            if found is not None:
                return {**found, "task": task.name, "child": task.child_execution_id}
    return None


def execution_view(backend: Backend, execution_id: str, *, with_graph: bool = True) -> dict[str, Any]:
    """One execution as the detail page shows it (see :func:`views.execution_detail`)."""
    execution = backend.get_execution(execution_id)
    workflow = None
    if with_graph and isinstance(execution, WorkflowExecution):
        from stigmer.runners.workflow.runner import pinned_workflow

        try:
            workflow = pinned_workflow(backend, execution)
        except StigmerError:
            workflow = None  # deleted since: the page shows the tasks on record
    return views.execution_detail(
        execution,
        workflow=workflow,
        approval=approval_of(backend, execution),
        asked=input_of(backend, execution),
    )


@route("GET", "/api/executions/{id}")
def get_execution(call: Call) -> tuple[int, Any]:
    """One execution: record, task graph (workflows), what it waits for, what can be done."""
    return 200, execution_view(call.backend, call.params["id"], with_graph=call.query.get("graph") != "0")


@route("GET", "/api/executions/{id}/trace")
def get_trace(call: Call) -> tuple[int, Any]:
    """A run's waterfall: its spans (and those of the runs it started), as
    `stigmer execution trace -o json` prints them."""
    from stigmer.telemetry.trace import build_trace

    return 200, build_trace(call.backend, call.params["id"]).to_dict()


@route("GET", "/api/executions/{id}/steps")
def list_steps(call: Call) -> tuple[int, Any]:
    """An execution's durable steps after ``after``, in order (compact: no prompts)."""
    after = call.text("after", source="query") or "0"
    if not after.isdigit():
        raise InvalidArgument("after must be a step number", field="after")
    steps = call.backend.list_steps(call.params["id"], after=int(after))
    return 200, {"items": [views.step_summary(s) for s in steps]}


@route("POST", "/api/workflows/{name}/executions")
def run_workflow(call: Call) -> tuple[int, Any]:
    """Start a run of a workflow with ``inputs`` (read as their declared types, as the CLI's
    ``--input`` values are) and an optional ``environment``; queued for the worker."""
    values = call.body.get("inputs", {})
    if not isinstance(values, dict):
        raise InvalidArgument("inputs must be an object of input names to values", field="inputs")
    created = new_workflow_execution(
        call.backend, call.params["name"], values, env=call.text("environment") or None, via="dashboard"
    )
    return 201, {"id": created.metadata.id, "summary": views.execution_summary(created)}


@route("POST", "/api/agents/{name}/executions")
def run_agent(call: Call) -> tuple[int, Any]:
    """Start a run of an agent on ``message``, in ``session`` (created when new) and ``environment``."""
    message = call.text("message")
    if not message:
        raise InvalidArgument("write a message for the agent", field="message")
    created = new_agent_execution(
        call.backend,
        call.params["name"],
        message,
        session=call.text("session") or None,
        env=call.text("environment") or None,
        via="dashboard",
    )
    return 201, {"id": created.metadata.id, "summary": views.execution_summary(created)}


def _decide(call: Call, *, approved: bool) -> tuple[int, Any]:
    decided = call.backend.resolve_approval(call.params["id"], approved=approved, reason=call.text("reason"))
    return 200, {"summary": views.execution_summary(decided)}


@route("POST", "/api/executions/{id}/approve")
def approve(call: Call) -> tuple[int, Any]:
    """Approve what the execution waits for; the worker continues it."""
    return _decide(call, approved=True)


@route("POST", "/api/executions/{id}/reject")
def reject(call: Call) -> tuple[int, Any]:
    """Reject what the execution waits for (``reason`` is told to the agent, or recorded)."""
    return _decide(call, approved=False)


@route("POST", "/api/executions/{id}/respond")
def respond(call: Call) -> tuple[int, Any]:
    """Answer what an MCP server asks during a tool call: ``action`` (accept, decline, cancel)
    and ``content`` (the form's fields, as text or typed; the backend reads them as the
    requested schema's types and applies its defaults)."""
    content = call.body.get("content") or {}
    if not isinstance(content, dict):
        raise InvalidArgument("content must be an object of field names to values", field="content")
    answered = call.backend.respond(
        call.params["id"], action=call.text("action") or "accept", content=content
    )
    return 200, {"summary": views.execution_summary(answered)}


@route("POST", "/api/executions/{id}/cancel")
def cancel(call: Call) -> tuple[int, Any]:
    """Cancel: at once when queued or waiting for a person, else at the run's next step."""
    return 200, {"summary": views.execution_summary(call.backend.cancel_execution(call.params["id"]))}


@route("POST", "/api/executions/{id}/resume")
def resume(call: Call) -> tuple[int, Any]:
    """Continue a run whose worker stopped, here, after its last recorded step."""
    execution_id = call.params["id"]
    current = call.backend.get_execution(execution_id)
    phase = current.status.phase
    if phase == ExecutionPhase.WAITING_APPROVAL:
        raise Conflict(f"execution {execution_id} is waiting for an approval", hint="approve or reject it")
    if phase in FINISHED:
        raise Conflict(
            f"execution {execution_id} is {ExecutionPhase.Name(phase)}; there is nothing left to run"
        )
    if call.remote:
        return 202, {
            "note": "the server's worker continues it, once the lease of the worker that stopped expires",
            "summary": views.execution_summary(current),
        }
    if call.engine is None:
        raise Conflict(
            "this dashboard runs no worker (--no-worker)",
            hint=f"run `stigmer execution resume {execution_id}`, or start a `stigmer worker`",
        )
    call.engine.resume(execution_id)
    return 202, {
        "note": "resumed here",
        "summary": views.execution_summary(call.backend.get_execution(execution_id)),
    }


__all__ = [
    "RESOURCE_KINDS",
    "ROUTES",
    "Call",
    "error_body",
    "execution_view",
    "http_status",
    "match",
    "path_exists",
]
