"""A workflow's declared inputs against the values a run is given.

``--input k=v`` gives text; a declared type says what it means (``3`` for an integer,
``true`` for a boolean, JSON for objects and arrays). Defaults fill what is not given;
a required input that is missing, an unknown one or a value of the wrong type is an
error naming the input, before anything runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from google.protobuf.json_format import MessageToDict

from stigmer.api.workflow.v1.workflow_pb2 import WorkflowInput
from stigmer.errors import InvalidArgument
from stigmer.resources.steps import plain

_CHECKS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "string": (str, "text"),
    "number": ((int, float), "a number"),
    "integer": (int, "a whole number"),
    "boolean": (bool, "true or false"),
    "object": (dict, "an object (JSON)"),
    "array": (list, "an array (JSON)"),
}


def _coerce(value: Any, kind: str) -> Any:
    """Text given on a command line, read as the declared type when it parses as one."""
    if not isinstance(value, str) or kind in ("string", ""):
        return value
    if kind == "boolean" and value.lower() in ("true", "false", "yes", "no"):
        return value.lower() in ("true", "yes")
    try:
        return json.loads(value)
    except ValueError:
        return value


def _default(declared: WorkflowInput) -> Any:
    if not declared.HasField("default"):
        return None
    return plain(MessageToDict(declared.default))


def resolve_inputs(declared: Mapping[str, WorkflowInput], given: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs a run sees: given values (coerced to their declared types) and defaults.

    Raises:
        InvalidArgument: An unknown input, a missing required one, or a value of the wrong type.
    """
    unknown = sorted(set(given) - set(declared))
    if unknown and declared:
        raise InvalidArgument(
            f"unknown input {unknown[0]!r}",
            field=f"inputs.{unknown[0]}",
            hint=f"the workflow's inputs are: {', '.join(sorted(declared))}",
        )
    resolved: dict[str, Any] = {k: plain(v) for k, v in given.items()}
    for name, spec in declared.items():
        if name not in given:
            default = _default(spec)
            if default is not None:
                resolved[name] = default
                continue
            required = spec.required if spec.HasField("required") else True
            if required:
                raise InvalidArgument(
                    f"missing input {name!r}" + (f" ({spec.description})" if spec.description else ""),
                    field=f"inputs.{name}",
                    hint=f"give it with --input {name}=VALUE",
                )
            continue
        value = _coerce(resolved[name], spec.type)
        if spec.type in _CHECKS:
            expected, words = _CHECKS[spec.type]
            wrong = not isinstance(value, expected) or (isinstance(value, bool) and spec.type != "boolean")
            if spec.type == "integer" and isinstance(value, float) and value.is_integer():
                value, wrong = int(value), False
            if wrong:
                raise InvalidArgument(
                    f"input {name!r} must be {words}, got {json.dumps(resolved[name])}",
                    field=f"inputs.{name}",
                )
        resolved[name] = value
    return resolved


__all__ = ["resolve_inputs"]
