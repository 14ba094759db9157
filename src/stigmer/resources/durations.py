"""Durations as written in files: ``30s``, ``5m``, ``1h30m``, ``250ms``, ``2d``."""

from __future__ import annotations

import re

from stigmer.errors import InvalidArgument

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, *, field: str = "") -> float:
    """Seconds in a duration string.

    Raises:
        InvalidArgument: Not a duration (the message shows the accepted forms).
    """
    value = text.strip()
    parts = _PART.findall(value)
    if not value or "".join(n + u for n, u in parts) != value:
        raise InvalidArgument(
            f"invalid duration {text!r}", field=field, hint="write e.g. 30s, 5m, 1h30m or 250ms"
        )
    return sum(float(n) * _SECONDS[u] for n, u in parts)


def parse_age(text: str, *, field: str = "", source: str = "") -> int:
    """Whole seconds in an age such as ``30d`` or ``12h`` (how old something may get); at least 1s.

    Raises:
        InvalidArgument: Not a duration, or shorter than one second.
    """
    try:
        seconds = parse_duration(text, field=field)
    except InvalidArgument:
        seconds = 0.0
    if seconds < 1:
        raise InvalidArgument(
            f"invalid age {text!r}", field=field, source=source, hint="write e.g. 30d, 12h, 1d12h or 90m"
        )
    return int(seconds)


__all__ = ["parse_age", "parse_duration"]
