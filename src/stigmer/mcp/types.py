"""The shapes the agent runner sees of MCP: server specs, tools and tool results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from stigmer.errors import StigmerError
from stigmer.mcp.credentials import OAuthSettings
from stigmer.models.types import ToolSpec

DEFAULT_TOOL_TIMEOUT_S = 60.0
# Long enough for a server fetched on first use (npx, uvx); a bad command fails at once anyway.
DEFAULT_STARTUP_TIMEOUT_S = 30.0


@dataclass
class ServerSpec:
    """How to reach one MCP server: a stdio command or a streamable HTTP URL.

    Values are final (``${secrets.…}`` and ``${env.…}`` already substituted).
    """

    name: str
    command: str = ""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str = ""
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Empty: every tool the server lists.
    enabled_tools: list[str] = field(default_factory=list)
    approval_required: list[str] = field(default_factory=list)
    tool_timeout_s: float = DEFAULT_TOOL_TIMEOUT_S
    # From start (or connect) until its tools are listed.
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    # file:// URIs offered as MCP roots; empty: the client declares no roots capability.
    roots: list[str] = field(default_factory=list)
    # Answers the server's sampling requests (the agent's model), unless its McpServer denies it.
    sampler: Any = None
    # The McpServer's sampling setting ("ask", "allow", "deny"; "" is the default, ask).
    sampling: str = ""
    # Answers what the server asks a person during a tool call (a run's journal); without
    # one, such requests are refused.
    person: Person | None = None
    # An HTTP server that may ask for OAuth (an McpServer resource: its sign-in is stored).
    oauth: OAuthSettings | None = None


@dataclass
class Elicitation:
    """What a server asks a person during a tool call (MCP elicitation)."""

    message: str
    # "form": answer the fields of requested_schema; "url": open url, then accept.
    mode: str = "form"
    requested_schema: dict[str, Any] = field(default_factory=dict)
    url: str = ""
    elicitation_id: str = ""


@dataclass
class ElicitationAnswer:
    """A person's answer: ``accept`` (with the content of a form), ``decline`` or ``cancel``."""

    action: str
    content: dict[str, Any] = field(default_factory=dict)


@dataclass
class SamplingRequest:
    """A server's request for a completion by the agent's model, as a person reads it."""

    text: str
    max_tokens: int = 0


class Person(Protocol):
    """Who answers what a server asks a person during one of its tool calls.

    A run answers through its journal (see :mod:`stigmer.runners.agent.asks`): the answer
    is recorded, so a tool call made again after the run resumes gets the same answer.
    """

    async def elicit(self, server: str, request: Elicitation) -> ElicitationAnswer:
        """The person's answer to ``request``."""
        ...

    async def allow_sampling(self, server: str, request: SamplingRequest) -> bool:
        """Whether the person lets the agent's model answer ``request``."""
        ...


@dataclass
class Tool:
    """A tool offered to the model, and where it comes from."""

    server: str
    spec: ToolSpec
    needs_approval: bool = False


@dataclass
class ListedTool:
    """A tool as its server lists it, whether or not Stigmer can offer it to a model."""

    server: str
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict)
    # The tool's execution.taskSupport: "" (not said), "forbidden", "optional" or "required".
    task_support: str = ""
    # Why Stigmer does not offer it to models ("" when it does).
    unsupported: str = ""


@dataclass
class ToolResult:
    """What a tool call returned: text for the model, and whether it is an error."""

    text: str
    is_error: bool = False


class McpServerError(StigmerError):
    """An MCP server failed to start, or died: names the server and shows its stderr tail.

    ``waits_for_sign_in`` is set when it needs a person to sign in and its McpServer says a run
    then waits (``oauth.onSignInNeeded: wait``) rather than fails.
    """

    grpc_code = "UNAVAILABLE"

    def __init__(
        self,
        server: str,
        message: str,
        *,
        stderr_tail: str = "",
        hint: str = "",
        waits_for_sign_in: bool = False,
    ) -> None:
        detail = f"MCP server {server!r}: {message}"
        if stderr_tail:
            detail += f"\n--- stderr (last lines) ---\n{stderr_tail}"
        super().__init__(detail, hint=hint)
        self.server = server
        self.stderr_tail = stderr_tail
        self.waits_for_sign_in = waits_for_sign_in


__all__ = [
    "DEFAULT_STARTUP_TIMEOUT_S",
    "DEFAULT_TOOL_TIMEOUT_S",
    "Elicitation",
    "ElicitationAnswer",
    "ListedTool",
    "McpServerError",
    "Person",
    "SamplingRequest",
    "ServerSpec",
    "Tool",
    "ToolResult",
]
