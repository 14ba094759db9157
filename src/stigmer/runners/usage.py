"""Adding up what model calls used: tokens and cost, of a run and of the runs it started.

A model step records its call's usage (``inputTokens``, ``outputTokens``, ``cost`` when the
model has a price, ``unreported`` when the provider sent no usage); a sub-agent step records
the usage of its child run. A run's :class:`~stigmer.api.common.v1.execution_pb2.Usage` is
the sum of those, and a workflow run's is the sum of its child runs'.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from stigmer.api.common.v1.execution_pb2 import Usage
from stigmer.backend.protocol import MAX_PAGE_SIZE, ExecutionQuery, ExecutionReads


@dataclass
class Tally:
    """Tokens, calls and cost, adding up."""

    input_tokens: int = 0
    output_tokens: int = 0
    model_calls: int = 0
    unreported: int = 0
    cost: float = 0.0
    unpriced: int = 0

    @property
    def tokens(self) -> int:
        """Input and output tokens."""
        return self.input_tokens + self.output_tokens

    def add_call(self, recorded: dict[str, Any]) -> None:
        """One model call, as its step recorded its usage."""
        self.model_calls += 1
        self.input_tokens += int(recorded.get("inputTokens", 0))
        self.output_tokens += int(recorded.get("outputTokens", 0))
        self.unreported += int(bool(recorded.get("unreported")))
        if "cost" in recorded:
            self.cost += float(recorded["cost"])
        else:
            self.unpriced += 1

    def add(self, other: Tally | Usage) -> None:
        """The usage of another run (or tally)."""
        if isinstance(other, Usage):
            other = tally_of(other)
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.model_calls += other.model_calls
        self.unreported += other.unreported
        self.cost += other.cost
        self.unpriced += other.unpriced

    def to_usage(self, usage: Usage) -> None:
        """Write into a record's ``usage`` (``tool_calls`` is left as it is)."""
        usage.input_tokens, usage.output_tokens = self.input_tokens, self.output_tokens
        usage.model_calls, usage.unreported_model_calls = self.model_calls, self.unreported
        usage.cost, usage.unpriced_model_calls = self.cost, self.unpriced

    def to_dict(self) -> dict[str, Any]:
        """As a step records the usage of a child run."""
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "modelCalls": self.model_calls,
            "unreported": self.unreported,
            "cost": self.cost,
            "unpriced": self.unpriced,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        """What :meth:`to_dict` wrote."""
        return cls(
            int(data.get("inputTokens", 0)),
            int(data.get("outputTokens", 0)),
            int(data.get("modelCalls", 0)),
            int(data.get("unreported", 0)),
            float(data.get("cost", 0.0)),
            int(data.get("unpriced", 0)),
        )


def tally_of(usage: Usage) -> Tally:
    """A record's usage as a tally."""
    return Tally(
        usage.input_tokens,
        usage.output_tokens,
        usage.model_calls,
        usage.unreported_model_calls,
        usage.cost,
        usage.unpriced_model_calls,
    )


def total(usages: Iterable[Usage]) -> Tally:
    """The sum of several runs' usage."""
    summed = Tally()
    for usage in usages:
        summed.add(usage)
    return summed


def children_usage(backend: ExecutionReads, execution_id: str) -> Tally:
    """What the runs a run started used (each of them counting its own children)."""
    summed = Tally()
    query = ExecutionQuery(parent_execution_id=execution_id, page_size=MAX_PAGE_SIZE)
    while True:
        page = backend.list_executions(query)
        for child in page.items:
            summed.add(child.status.usage)
        query.page_token = page.next_page_token
        if not query.page_token:
            return summed


__all__ = ["Tally", "children_usage", "tally_of", "total"]
