"""What model calls cost: per-model prices from ``prices:`` in config.yaml, never fetched.

.. code-block:: yaml

    prices:                       # US dollars per million tokens
      anthropic/claude-sonnet-4-5: {input: 3, output: 15}
      openai/gpt-4o-mini: {input: 0.15, output: 0.6}
      ollama/*: {input: 0, output: 0}      # every model of a provider

A model is priced by its ``provider/name``, else by ``provider/*``; a model with neither has
no price, and its calls are counted as unpriced rather than free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stigmer.errors import InvalidArgument

PER_TOKENS = 1_000_000


@dataclass(frozen=True)
class Price:
    """US dollars per million input and output tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """What a call with these tokens cost, in dollars."""
        return (input_tokens * self.input + output_tokens * self.output) / PER_TOKENS


@dataclass(frozen=True)
class Prices:
    """The prices of one home, by model (``provider/name`` or ``provider/*``)."""

    table: Mapping[str, Price] = field(default_factory=dict)

    def of(self, model: str) -> Price | None:
        """The price of ``model`` (``provider/name``); None when it has none."""
        found = self.table.get(model)
        if found is None:
            found = self.table.get(model.partition("/")[0] + "/*")
        return found

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """What a call of ``model`` cost, in dollars; None when the model has no price."""
        price = self.of(model)
        return None if price is None else price.cost(input_tokens, output_tokens)


def parse_prices(value: Any, *, source: str = "") -> Prices:
    """The ``prices:`` setting of config.yaml.

    Raises:
        InvalidArgument: It is not a mapping of models to ``{input, output}`` dollar amounts.
    """
    if value is None or value == "":
        return Prices()
    example = "prices: {openai/gpt-4o-mini: {input: 0.15, output: 0.6}} (dollars per million tokens)"
    if not isinstance(value, dict):
        raise InvalidArgument(
            "prices must be a mapping of models", source=source, field="prices", hint=example
        )
    table: dict[str, Price] = {}
    for model, entry in value.items():
        where = f"prices.{model}"
        if not isinstance(entry, dict) or set(entry) - {"input", "output"} or not entry:
            raise InvalidArgument(
                f"the price of {model} must be {{input: …, output: …}}",
                source=source,
                field=where,
                hint=example,
            )
        amounts: dict[str, float] = {}
        for key in ("input", "output"):
            amount = entry.get(key, 0)
            if isinstance(amount, bool) or not isinstance(amount, int | float):
                raise InvalidArgument(
                    f"{where}.{key} must be a number of dollars, not {amount!r}", source=source, field=where
                )
            if not math.isfinite(amount) or amount < 0:
                raise InvalidArgument(f"{where}.{key} must be 0 or more", source=source, field=where)
            amounts[key] = float(amount)
        table[str(model)] = Price(amounts["input"], amounts["output"])
    return Prices(table)


def money(dollars: float) -> str:
    """An amount for people: $0.0123, $1.50, $1,234.56."""
    if dollars == 0:
        return "$0"
    if dollars < 0.01:
        return f"${dollars:.4f}".rstrip("0")
    return f"${dollars:,.2f}"


__all__ = ["Price", "Prices", "money", "parse_prices"]
