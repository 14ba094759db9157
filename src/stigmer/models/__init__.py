"""Model providers behind one interface: anthropic, openai-compatible, local, scripted."""

from stigmer.models.registry import (
    default_model,
    get_provider,
    provider_names,
    register_provider,
    resolve_model,
)
from stigmer.models.types import (
    Availability,
    ChatMessage,
    Finish,
    Model,
    ModelError,
    ModelEvent,
    ModelRequest,
    Provider,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    ToolSpec,
    UsageEvent,
)

__all__ = [
    "Availability",
    "ChatMessage",
    "Finish",
    "Model",
    "ModelError",
    "ModelEvent",
    "ModelRequest",
    "Provider",
    "TextDelta",
    "ToolCall",
    "ToolCallEvent",
    "ToolSpec",
    "UsageEvent",
    "default_model",
    "get_provider",
    "provider_names",
    "register_provider",
    "resolve_model",
]
