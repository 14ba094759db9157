"""The environment of one agent run: values in, secrets out.

A run with an Environment reads its ExecutionContext once, after the claim. Its
variables and secrets fill the ``${env.NAME}`` / ``${secrets.NAME}`` references of the
model options and the MCP servers' env, headers and URL, checked before any model or
tool call (a missing one fails the run, naming it). From then on every secret value is
masked in what the run records (steps, status) and shows (live events), and in tool
results before the model sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.backend.protocol import RunJournal
from stigmer.mcp.types import ServerSpec, Tool, ToolResult
from stigmer.models.types import TextDelta
from stigmer.resources.codec import to_dict
from stigmer.resources.kinds import Execution
from stigmer.runners.agent.events import (
    ApprovalNeeded,
    EventSink,
    InputNeeded,
    RunEvent,
    ToolFinished,
    ToolStarted,
)
from stigmer.secrets.redaction import Redactor
from stigmer.secrets.references import substitute

if TYPE_CHECKING:
    from stigmer.runners.agent.tools import ToolHost


@dataclass
class RunEnvironment:
    """The variables and (plaintext) secrets of one run, and the redactor for its secrets."""

    name: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    redactor: Redactor = field(default_factory=Redactor, repr=False)

    @classmethod
    def load(cls, backend: RunJournal, execution: Execution, worker_id: str) -> RunEnvironment:
        """The run's environment, from its ExecutionContext; empty when it names none."""
        if not execution.spec.environment:
            return cls()
        context = backend.get_execution_context(execution.metadata.id, worker_id=worker_id)
        secrets = dict(context.spec.secrets)
        return cls(
            context.spec.environment, dict(context.spec.variables), secrets, Redactor(secrets.values())
        )

    def resolve(self, value: Any, *, where: str) -> Any:
        """``value`` with its references filled in.

        Raises:
            MissingReference: It refers to a value the environment lacks.
        """
        return substitute(
            value, variables=self.variables, secrets=self.secrets, where=where, environment=self.name
        )

    def servers(self, specs: list[ServerSpec]) -> list[ServerSpec]:
        """MCP server specs with references in env, headers and URL filled in."""
        resolved = []
        for spec in specs:
            where = f"mcpServers.{spec.name}"
            resolved.append(
                replace(
                    spec,
                    env=self.resolve(spec.env, where=f"{where}.env"),
                    headers=self.resolve(spec.headers, where=f"{where}.headers"),
                    url=self.resolve(spec.url, where=f"{where}.url"),
                )
            )
        return resolved

    def redact(self, value: Any) -> Any:
        """A copy of ``value`` (text or nested data) with every secret masked."""
        return self.redactor.value(value)

    def redact_status(self, execution: AgentExecution) -> None:
        """Mask secrets in what a run's status says: output, outputs, error, pending call."""
        if not self.redactor:
            return
        status = execution.status
        status.output = self.redactor.text(status.output)
        if status.HasField("outputs"):
            outputs = self.redact(to_dict(status.outputs))
            status.outputs.Clear()
            status.outputs.update(outputs)
        status.error.message = self.redactor.text(status.error.message)
        status.error.details = self.redactor.text(status.error.details)
        if status.HasField("pending_input"):
            status.pending_input.message = self.redactor.text(status.pending_input.message)
        if status.pending_approval.HasField("arguments"):
            arguments = self.redact(to_dict(status.pending_approval.arguments))
            status.pending_approval.arguments.Clear()
            status.pending_approval.arguments.update(arguments)


class RedactingSink:
    """Live events with secrets masked; text deltas through a stream redactor.

    Call :meth:`flush` when the stream of text ends (any other event does it too).
    """

    def __init__(self, sink: EventSink, redactor: Redactor) -> None:
        self.sink = sink
        self.redactor = redactor
        self.stream = redactor.stream()

    def __call__(self, event: RunEvent) -> None:
        r = self.redactor
        if not r:
            self.sink(event)
            return
        if isinstance(event, TextDelta):
            text = self.stream.feed(event.text)
            if text:
                self.sink(TextDelta(text))
            return
        self.flush()
        if isinstance(event, ToolStarted):
            event = ToolStarted(event.name, r.value(event.arguments), event.server)
        elif isinstance(event, ToolFinished):
            event = ToolFinished(event.name, r.text(event.text), event.is_error, event.duration_ms)
        elif isinstance(event, ApprovalNeeded):
            event = ApprovalNeeded(event.name, r.value(event.arguments))
        elif isinstance(event, InputNeeded):
            event = replace(event, message=r.text(event.message))
        self.sink(event)

    def flush(self) -> None:
        """Show whatever text was held back."""
        rest = self.stream.flush()
        if rest:
            self.sink(TextDelta(rest))


class RedactingTools:
    """A tool host whose results come back with secrets masked, before the model sees them."""

    def __init__(self, host: ToolHost, redactor: Redactor) -> None:
        self.host = host
        self.redactor = redactor

    def tools(self) -> list[Tool]:
        return self.host.tools()

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        result = await self.host.call(name, arguments)
        return ToolResult(self.redactor.text(result.text), result.is_error)


__all__ = ["RedactingSink", "RedactingTools", "RunEnvironment"]
