"""Values computed from secrets: what an expression that reads ``secrets.*`` yields is as
secret as the secret itself (``${upper(secrets.TOKEN)}``, ``${base64(secrets.A + ':' + …)}``),
so the redactor learns it before anything is stored or shown."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stigmer.resources import expressions


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def derived_values(value: Any, context: Mapping[str, Any], *, where: str) -> list[str]:
    """Every string that the expressions of ``value`` reading ``secrets.*`` evaluate to."""
    found: list[str] = []
    for path, text in expressions.iter_strings(value, where):
        if "${" not in text or "secrets" not in text:
            continue
        if any(root == "secrets" for root, _ in expressions.references(text, where=path)):
            found.extend(_strings(expressions.evaluate(text, context, where=path)))
    return found


__all__ = ["derived_values"]
