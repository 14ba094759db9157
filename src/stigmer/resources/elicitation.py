"""A person's answer to an MCP server's elicitation, checked against the schema it asked for.

A server that elicits sends a flat JSON schema: an object whose properties are strings
(optionally with a format, a length or an enum), numbers, integers, booleans, or arrays of
enum strings (multi-select). The answer is given as text (``--set age=30``, a form field) or
as typed values (the SDK, the API); text is read as the property's type. Properties left out
take the schema's ``default`` (SEP-1034: the client applies defaults). Anything that does not
fit is one error naming every field that is wrong, so nothing is recorded and the run still
waits.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from stigmer.errors import InvalidArgument

ACCEPT = "accept"
DECLINE = "decline"
CANCEL = "cancel"
ACTIONS = (ACCEPT, DECLINE, CANCEL)

_TRUE = ("true", "yes", "y", "on", "1")
_FALSE = ("false", "no", "n", "off", "0")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def properties(schema: Mapping[str, Any], order: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """The schema's fields, by name, in ``order`` (the server's, when a copy lost it) first."""
    props = schema.get("properties") or {}
    names = [n for n in order if n in props] + [str(n) for n in props if n not in order]
    return {name: dict(props[name]) for name in names if isinstance(props[name], Mapping)}


def required(schema: Mapping[str, Any]) -> list[str]:
    """The names of the fields the schema requires."""
    return [str(name) for name in schema.get("required") or []]


def choices(field: Mapping[str, Any]) -> list[str]:
    """The values a single- or multi-select field allows (empty for a free field)."""
    source = field.get("items") if field.get("type") == "array" else field
    if not isinstance(source, Mapping):
        return []
    if "enum" in source:
        return [str(v) for v in source["enum"]]
    options = source.get("oneOf") or source.get("anyOf") or []
    return [str(o["const"]) for o in options if isinstance(o, Mapping) and "const" in o]


def describe(schema: Mapping[str, Any], order: Sequence[str] = ()) -> str:
    """The fields of a schema in one line for people: ``name (string, required), age (integer) = 30``."""
    needed = set(required(schema))
    parts = []
    for name, field in properties(schema, order).items():
        kind = str(field.get("type", "string"))
        allowed = choices(field)
        if allowed:
            kind = ("any of " if kind == "array" else "one of ") + "|".join(allowed)
        elif field.get("format"):
            kind += f", {field['format']}"
        extra = ", required" if name in needed else ""
        default = f" = {json.dumps(field['default'], ensure_ascii=False)}" if "default" in field else ""
        parts.append(f"{name} ({kind}{extra}){default}")
    return ", ".join(parts) or "no fields"


def check_answer(
    schema: Mapping[str, Any], action: str, given: Mapping[str, Any] | None, order: Sequence[str] = ()
) -> dict[str, Any]:
    """The content to send for ``action``: ``given`` typed by the schema, defaults applied.

    Only ``accept`` carries content; ``decline`` and ``cancel`` send none (and take none).

    Raises:
        InvalidArgument: An unknown action, content with a decline or cancel, an unknown
            field, a missing required field, or a value that does not fit its field (every
            problem is named, with the fields the schema asks for in the hint).
    """
    if action not in ACTIONS:
        raise InvalidArgument(f"the answer's action must be one of {', '.join(ACTIONS)}, not {action!r}")
    given = dict(given or {})
    if action != ACCEPT:
        if given:
            raise InvalidArgument(
                f"a {action} carries no fields (given: {', '.join(sorted(given))})",
                hint="leave the fields out, or accept with them",
            )
        return {}
    fields = properties(schema, order)
    problems: list[str] = []
    content: dict[str, Any] = {}
    for name in sorted(set(given) - set(fields)):
        problems.append(f"{name}: not a field of this request")
    for name, field in fields.items():
        if name in given:
            value, problem = _value(field, given[name])
            if problem:
                problems.append(f"{name}: {problem}")
            else:
                content[name] = value
        elif "default" in field:
            content[name] = field["default"]
        elif name in required(schema):
            problems.append(f"{name}: required")
    if problems:
        raise InvalidArgument(
            "the answer does not fit the request: " + "; ".join(problems),
            hint=f"the fields are: {describe(schema, order)}",
        )
    return content


def _value(field: Mapping[str, Any], given: Any) -> tuple[Any, str]:
    """``given`` read as the field's type, and what is wrong with it ("" when nothing)."""
    kind = str(field.get("type", "string"))
    if kind == "array":
        items = given
        if isinstance(given, str):
            items = [part.strip() for part in given.split(",") if part.strip()]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return given, f"expected a list of choices, got {json.dumps(given)}"
        allowed = choices(field)
        wrong = [i for i in items if allowed and i not in allowed]
        if wrong:
            return given, f"{', '.join(wrong)} not among {', '.join(allowed)}"
        low, high = field.get("minItems"), field.get("maxItems")
        if (low is not None and len(items) < low) or (high is not None and len(items) > high):
            return given, f"choose {low or 0} to {high if high is not None else 'any number of'} items"
        return items, ""
    if kind == "boolean":
        if isinstance(given, bool):
            return given, ""
        text = str(given).strip().lower() if isinstance(given, str) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE, ""
        return given, f"expected true or false, got {json.dumps(given)}"
    if kind in ("integer", "number"):
        return _number(field, kind, given)
    if not isinstance(given, str):
        return given, f"expected text, got {json.dumps(given)}"
    return given, _text_problem(field, given)


def _number(field: Mapping[str, Any], kind: str, given: Any) -> tuple[Any, str]:
    value: int | float | None = None
    if isinstance(given, str):
        for parse in (int, float) if kind == "number" else (int,):
            try:
                value = parse(given.strip())
                break
            except ValueError:
                continue
    elif isinstance(given, int | float) and not isinstance(given, bool):
        value = given
    if kind == "integer" and isinstance(value, float):
        value = int(value) if value.is_integer() else None
    if value is None or not math.isfinite(value):
        words = "a whole number" if kind == "integer" else "a number"
        return given, f"expected {words}, got {json.dumps(given)}"
    low, high = field.get("minimum"), field.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        return (
            given,
            f"{value} is outside {low if low is not None else '…'} to {high if high is not None else '…'}",
        )
    return value, ""


def _text_problem(field: Mapping[str, Any], text: str) -> str:
    allowed = choices(field)
    if allowed and text not in allowed:
        return f"{text!r} is not one of {', '.join(allowed)}"
    low, high = field.get("minLength"), field.get("maxLength")
    if low is not None and len(text) < low:
        return f"at least {low} characters"
    if high is not None and len(text) > high:
        return f"at most {high} characters"
    fmt = field.get("format")
    if fmt == "email" and not _EMAIL.match(text):
        return f"{text!r} is not an email address"
    if fmt == "uri" and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", text):
        return f"{text!r} is not a URI"
    if fmt in ("date", "date-time"):
        try:
            (date if fmt == "date" else datetime).fromisoformat(text)
        except ValueError:
            example = "2025-01-31" if fmt == "date" else "2025-01-31T09:00:00"
            return f"{text!r} is not an ISO {fmt} (e.g. {example})"
    return ""


__all__ = [
    "ACCEPT",
    "ACTIONS",
    "CANCEL",
    "DECLINE",
    "check_answer",
    "choices",
    "describe",
    "properties",
    "required",
]
