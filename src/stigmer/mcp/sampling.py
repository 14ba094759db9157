"""MCP sampling: a server asks the client's model for a completion; the agent's own model answers.

Whether a server may is the McpServer's ``sampling`` setting: ``ask`` (the default) has a
person approve each request first (the run waits, as for an approval), ``allow`` answers
with the agent's model at once, and ``deny`` declares no sampling capability, so the server
never asks (and tools that need it are not offered by such servers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stigmer.models.types import ChatMessage, Model, ModelRequest, collect

if TYPE_CHECKING:
    import mcp_types

ASK = "ask"
ALLOW = "allow"
DENY = "deny"
POLICIES = (ASK, ALLOW, DENY)
DEFAULT = ASK
# The error code a client sends when its person rejects a sampling request (the MCP spec's).
REJECTED = -1


def policy(setting: str) -> str:
    """An McpServer's sampling setting, the default filled in."""
    return setting or DEFAULT


def sampling_text(params: mcp_types.CreateMessageRequestParams) -> str:
    """A sampling request as a person reads it before approving: its system prompt and messages."""
    lines = [f"system: {params.system_prompt}"] if params.system_prompt else []
    for message in params.messages:
        blocks = message.content if isinstance(message.content, list) else [message.content]
        text = " ".join(getattr(block, "text", f"[{getattr(block, 'type', '?')}]") for block in blocks)
        lines.append(f"{message.role}: {text}")
    return "\n".join(lines)


@dataclass
class ModelSampler:
    """Answers a server's ``sampling/createMessage`` with ``model`` (text in, text out)."""

    model: Model

    async def __call__(self, context: Any, params: mcp_types.CreateMessageRequestParams) -> Any:
        import mcp_types

        messages = [ChatMessage("system", params.system_prompt)] if params.system_prompt else []
        for message in params.messages:
            blocks = message.content if isinstance(message.content, list) else [message.content]
            text = "\n".join(
                getattr(block, "text", "") for block in blocks if getattr(block, "type", "") == "text"
            )
            messages.append(ChatMessage("assistant" if message.role == "assistant" else "user", text))
        request = ModelRequest(messages, max_tokens=params.max_tokens, temperature=params.temperature)
        text, _, _, reason = await collect(self.model, request)
        return mcp_types.CreateMessageResult(
            role="assistant",
            content=mcp_types.TextContent(type="text", text=text),
            model=self.model.id,
            stop_reason="maxTokens" if reason == "max_tokens" else "endTurn",
        )


__all__ = [
    "ALLOW",
    "ASK",
    "DEFAULT",
    "DENY",
    "POLICIES",
    "REJECTED",
    "ModelSampler",
    "policy",
    "sampling_text",
]
