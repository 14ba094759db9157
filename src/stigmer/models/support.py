"""Helpers the providers share: reading options, optional packages, tool-call arguments.

Options come from resource files, where ``config: {temperature: "0.2"}`` holds strings,
so numbers are parsed here once, with an error that names the option.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Mapping
from typing import Any

from stigmer.models.types import ModelError, ModelRequest


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (a heavy SDK stays unloaded)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def install_hint(extra: str) -> str:
    """The command that installs the optional dependencies of a provider."""
    return f"pip install 'stigmer[{extra}]'"


def missing_package(provider: str, module: str, extra: str) -> ModelError:
    """The error for a provider whose optional package is not installed."""
    return ModelError(f"{provider}: the Python package {module!r} is not installed", hint=install_hint(extra))


def text_option(options: Mapping[str, Any], key: str, env: str = "", default: str = "") -> str:
    """A string option, else the environment variable ``env``, else ``default``."""
    value = options.get(key)
    if value not in (None, ""):
        return str(value)
    if env and os.environ.get(env):
        return os.environ[env]
    return default


def number_option(options: Mapping[str, Any], key: str, provider: str) -> float | None:
    """A numeric option (YAML may hold it as a string); None when unset.

    Raises:
        ModelError: The value is not a number.
    """
    value = options.get(key)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ModelError(
            f"{provider}: option {key} must be a number, got {value!r}", hint=f"e.g. {key}: 0.2"
        ) from None


def sampling(
    request: ModelRequest, options: Mapping[str, Any], provider: str
) -> tuple[int | None, float | None]:
    """``(max_tokens, temperature)``: the request's values, else the model options'."""
    max_tokens = request.max_tokens
    if max_tokens is None:
        value = number_option(options, "maxTokens", provider)
        max_tokens = None if value is None else int(value)
    temperature = request.temperature
    if temperature is None:
        temperature = number_option(options, "temperature", provider)
    return max_tokens, temperature


def parse_arguments(raw: str, tool: str, provider: str) -> dict[str, Any]:
    """The JSON arguments a model streamed for a tool call (empty means no arguments).

    Raises:
        ModelError: They are not a JSON object.
    """
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelError(
            f"{provider}: the arguments of tool call {tool!r} are not valid JSON ({exc.msg})",
            hint="retry the turn; a smaller model may need a simpler tool schema",
        ) from None
    if not isinstance(value, dict):
        raise ModelError(f"{provider}: the arguments of tool call {tool!r} are not a JSON object")
    return value


__all__ = [
    "install_hint",
    "installed",
    "missing_package",
    "number_option",
    "parse_arguments",
    "sampling",
    "text_option",
]
