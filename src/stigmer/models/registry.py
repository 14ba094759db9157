"""The one registry of model providers; built-in providers register through it too.

``provider/name`` strings resolve here, and so does the default model when an agent
names none (docs/architecture.md, "How to add a model provider"): config, then
``STIGMER_MODEL``, then an Anthropic or OpenAI key in the environment, then an Ollama
server on 127.0.0.1:11434, then the embedded ``local/smollm2``.
"""

from __future__ import annotations

import importlib
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from stigmer.models.types import Model, ModelError, Provider

# name -> "module:attribute" of a zero-argument factory; imported only when used, so
# listing providers never imports anthropic, openai or llama_cpp.
_BUILTIN: dict[str, str] = {
    "anthropic": "stigmer.models.anthropic:AnthropicProvider",
    "openai": "stigmer.models.openai_compat:OpenAIProvider",
    "ollama": "stigmer.models.openai_compat:OllamaProvider",
    "local": "stigmer.models.local:LocalProvider",
    "scripted": "stigmer.models.scripted:ScriptedProvider",
}
_factories: dict[str, Callable[[], Provider]] = {}
_instances: dict[str, Provider] = {}

OLLAMA_ADDRESS = ("127.0.0.1", 11434)
LOCAL_DEFAULT = "local/smollm2"


def register_provider(name: str, factory: Callable[[], Provider]) -> None:
    """Make ``factory()`` serve models named ``name/…``; replaces a provider of that name."""
    _factories[name] = factory
    _instances.pop(name, None)


def provider_names() -> list[str]:
    """Every registered provider, built-in ones first."""
    return [*_BUILTIN, *(n for n in _factories if n not in _BUILTIN)]


def get_provider(name: str) -> Provider:
    """The provider registered under ``name``.

    Raises:
        ModelError: No such provider.
    """
    if name not in _instances:
        factory = _factories.get(name)
        if factory is None and name in _BUILTIN:
            module, _, attr = _BUILTIN[name].partition(":")
            factory = getattr(importlib.import_module(module), attr)
        if factory is None:
            raise ModelError(
                f"unknown model provider {name!r}",
                hint=f"use one of: {', '.join(provider_names())} (model: provider/name)",
            )
        _instances[name] = factory()
    return _instances[name]


def split_model(model: str) -> tuple[str, str]:
    """``provider/name`` → (provider, name); a bare provider has an empty name."""
    provider, _, name = model.partition("/")
    return provider, name


def _ollama_running() -> bool:
    try:
        with socket.create_connection(OLLAMA_ADDRESS, timeout=0.2):
            return True
    except OSError:
        return False


def default_model(config_model: str = "", env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The model to use when an agent names none, and why it was chosen."""
    env = os.environ if env is None else env
    if config_model:
        return config_model, "set as `model` in config.yaml"
    if env.get("STIGMER_MODEL"):
        return env["STIGMER_MODEL"], "set by STIGMER_MODEL"
    if env.get("ANTHROPIC_API_KEY"):
        return "anthropic/claude-sonnet-5", "ANTHROPIC_API_KEY is set"
    if env.get("OPENAI_API_KEY"):
        return "openai/gpt-4o-mini", "OPENAI_API_KEY is set"
    if _ollama_running():
        return "ollama/qwen2.5:0.5b", "an Ollama server answers on 127.0.0.1:11434"
    return LOCAL_DEFAULT, "the embedded model: no key, no server, no network needed"


def resolve_model(provider: str, name: str, options: dict[str, Any] | None = None) -> Model:
    """The model for a provider and name, with options.

    Raises:
        ModelError: Unknown provider, or it cannot serve the model here.
    """
    return get_provider(provider).model(name, dict(options or {}))


__all__ = [
    "LOCAL_DEFAULT",
    "default_model",
    "get_provider",
    "provider_names",
    "register_provider",
    "resolve_model",
    "split_model",
]
