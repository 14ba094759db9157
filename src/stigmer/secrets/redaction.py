"""Redaction: every secret value replaced with ``****`` wherever text is recorded or shown.

A :class:`Redactor` knows the plaintext values of one run's secrets and masks them in
strings and in nested data (dict keys and values, lists), including their JSON-escaped
forms, so a secret inside a JSON document a tool returned is caught too. Values shorter
than :data:`MIN_LENGTH` characters are not masked: hiding every "a" or "42" would
destroy the output and protect nothing.

A :class:`StreamRedactor` does the same for text that arrives in pieces (model deltas):
it holds back the tail that could be the start of a secret, so a secret split across
pieces is still caught while other text flows on at once.
Nothing here is specific to agents; the workflow runner masks its task results with it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "****"
MIN_LENGTH = 4


def _variants(value: str) -> set[str]:
    """The forms a secret commonly takes on its way out: JSON-escaped, URL-encoded (as in a
    query string or a path), base64 (standard and URL-safe, with or without padding), and in
    upper and lower case."""
    raw = value.encode("utf-8")
    forms = {
        value,
        value.upper(),
        value.lower(),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
    }
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms |= {encoded, encoded.rstrip("=")}
    return {f for f in forms if len(f) >= MIN_LENGTH}


class Redactor:
    """Masks a fixed set of secret values.

    Args:
        values: The plaintexts to hide; those shorter than MIN_LENGTH are ignored.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.forms: list[str] = []
        self.pattern: re.Pattern[str] | None = None
        self.longest = 0
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        """Mask these values too, from now on (a token a run obtains or refreshes, what an
        expression computed from a secret)."""
        forms: set[str] = set(self.forms)
        for value in values:
            if len(value) >= MIN_LENGTH:
                forms |= _variants(value)
        if len(forms) == len(self.forms):
            return
        # Longest first: where two secrets start at one place, the longer one is masked.
        self.forms = sorted(forms, key=lambda f: (-len(f), f))
        self.pattern = re.compile("|".join(re.escape(f) for f in self.forms))
        self.longest = len(self.forms[0])

    def add_derived(self, values: Iterable[str]) -> None:
        """Mask values computed from secrets, unless they already show a known secret form
        (then that part is masked, and the rest, such as ``Bearer``, stays readable)."""
        self.add([v for v in values if self.text(v) == v])

    def __bool__(self) -> bool:
        return self.pattern is not None

    def text(self, value: str) -> str:
        """``value`` with every secret masked."""
        return self.pattern.sub(MASK, value) if self.pattern is not None else value

    def value(self, data: Any) -> Any:
        """A copy of nested data (dicts, lists, strings) with every secret masked."""
        if self.pattern is None:
            return data
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.value(v) for v in data]
        return data

    def stream(self) -> StreamRedactor:
        """A redactor for one stream of text pieces."""
        return StreamRedactor(self)


class StreamRedactor:
    """Masks secrets in text that arrives in pieces; call :meth:`flush` at the end."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.pending = ""

    def feed(self, piece: str) -> str:
        """The text that is safe to show now (possibly empty); the rest waits for more."""
        pattern = self.redactor.pattern
        if pattern is None:
            return piece
        text = self.pending + piece
        # A match that starts before `safe` is decided: at least `longest` characters follow
        # its start. One that starts later might continue in the next piece, so it waits.
        safe = len(text) - self.redactor.longest + 1
        out: list[str] = []
        position = 0
        while position < safe:
            match = pattern.search(text, position)
            if match is None or match.start() >= safe:
                out.append(text[position:safe])
                position = safe
                break
            out.append(text[position : match.start()] + MASK)
            position = match.end()
        # In the tail, hold back only from where the text could still become a secret.
        while position < len(text):
            rest = text[position:]
            if any(form.startswith(rest) for form in self.redactor.forms):
                break
            match = pattern.match(text, position)
            out.append(MASK if match else text[position])
            position = match.end() if match else position + 1
        self.pending = text[position:]
        return "".join(out)

    def flush(self) -> str:
        """Whatever is held back, masked; the stream may start again afterwards."""
        rest, self.pending = self.redactor.text(self.pending), ""
        return rest


__all__ = ["MASK", "MIN_LENGTH", "Redactor", "StreamRedactor"]
