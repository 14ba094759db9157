"""The provider registry: names, unknown providers, and how the default model is chosen."""

from __future__ import annotations

import importlib
import socket

import pytest

from stigmer.models import registry
from stigmer.models.registry import (
    default_model,
    get_provider,
    provider_names,
    register_provider,
    resolve_model,
)
from stigmer.models.scripted import ScriptedProvider
from stigmer.models.types import ModelError


def test_unknown_provider_is_an_error_that_lists_the_known_ones() -> None:
    with pytest.raises(ModelError) as caught:
        resolve_model("gemini", "pro")
    assert "unknown model provider 'gemini'" in caught.value.message
    assert "anthropic, openai, ollama, local, scripted" in caught.value.hint


def test_builtin_providers_register_through_the_registry() -> None:
    assert provider_names()[:5] == ["anthropic", "openai", "ollama", "local", "scripted"]
    for name in provider_names():
        provider = get_provider(name)
        assert provider.name == name
        assert provider.availability().reason


def test_a_registered_provider_is_resolved_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_factories", dict(registry._factories))
    monkeypatch.setattr(registry, "_instances", dict(registry._instances))
    register_provider("echo", ScriptedProvider)
    assert "echo" in provider_names()
    assert resolve_model("echo", "").id == "scripted"


@pytest.fixture
def no_ollama(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens where the registry looks for Ollama."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = probe.getsockname()
    monkeypatch.setattr(registry, "OLLAMA_ADDRESS", address)


@pytest.mark.usefixtures("no_ollama")
@pytest.mark.parametrize(
    ("config", "env", "model", "why"),
    [
        ("scripted", {"STIGMER_MODEL": "local/smollm2", "ANTHROPIC_API_KEY": "k"}, "scripted", "config.yaml"),
        (
            "",
            {"STIGMER_MODEL": "ollama/llama3.2", "ANTHROPIC_API_KEY": "k"},
            "ollama/llama3.2",
            "STIGMER_MODEL",
        ),
        (
            "",
            {"ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"},
            "anthropic/claude-sonnet-5",
            "ANTHROPIC_API_KEY",
        ),
        ("", {"OPENAI_API_KEY": "k"}, "openai/gpt-4o-mini", "OPENAI_API_KEY"),
        ("", {}, "local/smollm2", "embedded"),
    ],
)
def test_default_model_order(config: str, env: dict[str, str], model: str, why: str) -> None:
    chosen, reason = default_model(config, env)
    assert chosen == model
    assert why in reason


def test_default_model_prefers_a_running_ollama_over_the_embedded_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setattr(registry, "OLLAMA_ADDRESS", listener.getsockname())
        assert default_model("", {})[0].startswith("ollama/")
        assert default_model("", {"OPENAI_API_KEY": "k"})[0] == "openai/gpt-4o-mini"


@pytest.mark.parametrize(
    ("provider", "module", "extra"),
    [
        ("anthropic", "stigmer.models.anthropic", "anthropic"),
        ("openai", "stigmer.models.openai_compat", "openai"),
        ("ollama", "stigmer.models.openai_compat", "openai"),
        ("local", "stigmer.models.local", "local"),
    ],
)
def test_a_missing_optional_package_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, provider: str, module: str, extra: str
) -> None:
    monkeypatch.setattr(importlib.import_module(module), "installed", lambda name: False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    availability = get_provider(provider).availability()
    assert not availability.usable
    assert f"pip install 'stigmer[{extra}]'" in availability.reason
    with pytest.raises(ModelError) as caught:
        get_provider(provider).model("", {})
    assert caught.value.hint == f"pip install 'stigmer[{extra}]'"
