"""A workflow's declared inputs against the values a run is given.

``--input k=v`` gives text; a declared type says what it means (``3`` for an integer,
``true`` for a boolean, JSON for objects and arrays). Defaults fill what is not given;
a required input that is missing, an unknown one or a value of the wrong type is an
error naming the input, before anything runs.
"""

from __future__ import annotations

import json
import math
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


SAFE_INTEGER = 2**53 - 1


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


def _checked(name: str, spec: WorkflowInput, given: Any) -> Any:
    value = _coerce(given, spec.type)
    if spec.type not in _CHECKS:
        return value
    expected, words = _CHECKS[spec.type]
    wrong = not isinstance(value, expected) or (isinstance(value, bool) and spec.type != "boolean")
    if spec.type == "integer" and isinstance(value, float) and value.is_integer():
        value, wrong = int(value), False
    if wrong:
        raise InvalidArgument(
            f"input {name!r} must be {words}, got {json.dumps(given)}", field=f"inputs.{name}"
        )
    if spec.type == "integer" and not -SAFE_INTEGER <= value <= SAFE_INTEGER:
        # Values are stored as JSON numbers (doubles): beyond 2^53 they would change silently.
        raise InvalidArgument(
            f"input {name!r} must be an integer from -(2^53-1) to 2^53-1, got {given}",
            field=f"inputs.{name}",
            hint="pass a larger number as a string input",
        )
    if spec.type == "number" and not math.isfinite(value):
        raise InvalidArgument(f"input {name!r} must be a finite number, got {given}", field=f"inputs.{name}")
    return value


def resolve_inputs(declared: Mapping[str, WorkflowInput], given: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs a run sees: given values (coerced to their declared types) and defaults.

    Raises:
        InvalidArgument: An unknown input, a missing required one, or a value of the wrong type.
    """
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise InvalidArgument(
            f"unknown input {unknown[0]!r}",
            field=f"inputs.{unknown[0]}",
            hint=f"the workflow's inputs are: {', '.join(sorted(declared))}"
            if declared
            else "the workflow declares no inputs (spec.inputs)",
        )
    resolved: dict[str, Any] = {k: plain(v) for k, v in given.items()}
    missing: list[str] = []
    for name, spec in sorted(declared.items()):
        if name not in given:
            default = _default(spec)
            if default is not None:
                resolved[name] = default
            elif spec.required if spec.HasField("required") else True:
                missing.append(name)
            continue
        resolved[name] = _checked(name, spec, resolved[name])
    if missing:
        described = [
            f"{n!r}" + (f" ({declared[n].description})" if declared[n].description else "") for n in missing
        ]
        raise InvalidArgument(
            f"missing input{'s' if len(missing) > 1 else ''} {', '.join(described)}",
            field=f"inputs.{missing[0]}",
            hint="give "
            + ("them" if len(missing) > 1 else "it")
            + " with "
            + " ".join(f"--input {n}=VALUE" for n in missing),
        )
    return resolved


__all__ = ["resolve_inputs"]
