"""The resource kinds: one registry that maps kind names, aliases, tables and messages.

Everything that needs to go from "agent" or "McpServer" to a message class, a table or
an id prefix asks this module; nothing else keeps such a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from google.protobuf.message import Message

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.agentinstance.v1.agentinstance_pb2 import AgentInstance
from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.environment.v1.environment_pb2 import Environment
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.api.schedule.v1.schedule_pb2 import Schedule
from stigmer.api.session.v1.session_pb2 import Session
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.api.webhook.v1.webhook_pb2 import Webhook
from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.api.workflowinstance.v1.workflowinstance_pb2 import WorkflowInstance
from stigmer.errors import InvalidArgument

API_VERSION = "agentic.stigmer.ai/v1"

Resource: TypeAlias = (
    Agent
    | AgentInstance
    | Workflow
    | WorkflowInstance
    | Session
    | AgentExecution
    | WorkflowExecution
    | Environment
    | ExecutionContext
    | Skill
    | McpServer
    | ApiResourceVersion
    | Schedule
    | Webhook
)
"""Any resource message. Every one has api_version, kind, metadata, spec and status."""

Execution: TypeAlias = AgentExecution | WorkflowExecution


@dataclass(frozen=True)
class KindInfo:
    """What Stigmer knows about one resource kind."""

    kind: str
    message: type[Resource]
    table: str
    plural: str
    id_prefix: str
    # The field of stigmer.backend.v1.Resource that carries this kind.
    oneof_field: str
    short_names: tuple[str, ...] = ()
    # Users write these with apply/create; the others are written by the system.
    declarative: bool = True
    execution: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Every word that selects this kind on the command line."""
        return (self.kind.lower(), self.plural, *self.short_names)


KINDS: tuple[KindInfo, ...] = (
    KindInfo("Agent", Agent, "agents", "agents", "agt", "agent", ("ag",)),
    KindInfo("AgentInstance", AgentInstance, "agent_instances", "agentinstances", "ain", "agent_instance"),
    KindInfo("Workflow", Workflow, "workflows", "workflows", "wfl", "workflow", ("wf",)),
    KindInfo(
        "WorkflowInstance",
        WorkflowInstance,
        "workflow_instances",
        "workflowinstances",
        "win",
        "workflow_instance",
    ),
    KindInfo("Session", Session, "sessions", "sessions", "ses", "session"),
    KindInfo("Skill", Skill, "skills", "skills", "skl", "skill"),
    KindInfo("McpServer", McpServer, "mcp_servers", "mcpservers", "mcp", "mcp_server", ("mcp",)),
    KindInfo("Environment", Environment, "environments", "environments", "env", "environment", ("env",)),
    # Triggers come after what they start, so an import or an apply of everything creates them last.
    KindInfo("Schedule", Schedule, "schedules", "schedules", "sch", "schedule", ("sched",)),
    KindInfo("Webhook", Webhook, "webhooks", "webhooks", "whk", "webhook", ("hook",)),
    KindInfo(
        "AgentExecution",
        AgentExecution,
        "agent_executions",
        "agentexecutions",
        "aex",
        "agent_execution",
        declarative=False,
        execution=True,
    ),
    KindInfo(
        "WorkflowExecution",
        WorkflowExecution,
        "workflow_executions",
        "workflowexecutions",
        "wex",
        "workflow_execution",
        declarative=False,
        execution=True,
    ),
    KindInfo(
        "ExecutionContext",
        ExecutionContext,
        "execution_contexts",
        "executioncontexts",
        "ctx",
        "execution_context",
        declarative=False,
    ),
    KindInfo(
        "ApiResourceVersion",
        ApiResourceVersion,
        "api_resource_versions",
        "apiresourceversions",
        "ver",
        "api_resource_version",
        declarative=False,
    ),
)

_BY_KIND = {k.kind: k for k in KINDS}
_BY_MESSAGE: dict[type[Message], KindInfo] = {k.message: k for k in KINDS}
_BY_WORD = {word: k for k in KINDS for word in (k.kind, *k.names)}
_BY_PREFIX = {k.id_prefix: k for k in KINDS}


def kind_info(kind: str | type[Message] | Message) -> KindInfo:
    """Look up a kind by its name ("Agent"), a CLI word ("agents", "mcp"), a class or a message.

    Raises:
        InvalidArgument: The kind is unknown; the message lists the known ones.
    """
    if isinstance(kind, str):
        info = _BY_KIND.get(kind) or _BY_WORD.get(kind.lower()) or _BY_WORD.get(kind.lower().replace("-", ""))
        if info is None:
            import difflib

            known = [k.kind for k in KINDS if k.declarative]
            words = {w: k.kind for k in KINDS if k.declarative for w in (k.kind.lower(), *k.names)}
            close = difflib.get_close_matches(kind.lower(), list(words), n=1, cutoff=0.8)
            hint = f"did you mean {words[close[0]]!r}? " if close else ""
            raise InvalidArgument(f"unknown kind {kind!r}", hint=f"{hint}use one of: {', '.join(known)}")
        return info
    cls = kind if isinstance(kind, type) else type(kind)
    try:
        return _BY_MESSAGE[cls]
    except KeyError:
        raise InvalidArgument(f"{cls.__name__} is not a resource kind") from None


def kind_of_id(resource_id: str) -> KindInfo | None:
    """The kind an id belongs to, from its prefix (``agt_…`` is an Agent)."""
    prefix, sep, _ = resource_id.partition("_")
    return _BY_PREFIX.get(prefix) if sep else None


def declarative_kinds() -> list[KindInfo]:
    """Kinds users write in files, in the order they are best applied and exported."""
    return [k for k in KINDS if k.declarative]


__all__ = [
    "API_VERSION",
    "KINDS",
    "Execution",
    "KindInfo",
    "Resource",
    "declarative_kinds",
    "kind_info",
    "kind_of_id",
]
