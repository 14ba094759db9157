"""The ids of a run's trace, derived from its journal, so every process that reads the journal
(the one that ran a step, the one that resumed the run, a Temporal worker elsewhere, the CLI
drawing its waterfall) names the same spans the same way.

A run's span is named after its execution id, a step's after (execution, step number), a
workflow task attempt's after (execution, task key, attempt). A run started by another run
(a sub-agent, an agent task, a child workflow) records where it belongs in ``spec.traceParent``,
a W3C ``traceparent``: its parent's trace and the span of the step or attempt that started it.
A run without one begins a trace whose id is derived from its own id.
"""

from __future__ import annotations

import hashlib
import re

_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")


def _hex(text: str, digits: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:digits]


def trace_id_of(root_execution_id: str) -> str:
    """The trace id of a run that starts its own trace (32 hex digits)."""
    return _hex(f"trace/{root_execution_id}", 32)


def run_trace_id(execution_id: str, trace_parent: str = "") -> str:
    """The trace a run belongs to: its ``traceParent``'s, else the one it starts."""
    parsed = parse_traceparent(trace_parent) if trace_parent else None
    return parsed[0] if parsed else trace_id_of(execution_id)


def run_span_id(execution_id: str) -> str:
    """The span id of a run (16 hex digits)."""
    return _hex(f"run/{execution_id}", 16)


def step_span_id(execution_id: str, step: int) -> str:
    """The span id of an agent run's step: a model call, a tool call, an approval."""
    return _hex(f"step/{execution_id}/{step}", 16)


def attempt_span_id(execution_id: str, key: str, attempt: int) -> str:
    """The span id of one attempt of a workflow task (or forEach item ``NAME[i]``)."""
    return _hex(f"attempt/{execution_id}/{key}/{attempt}", 16)


def traceparent(trace_id: str, span_id: str) -> str:
    """A W3C ``traceparent`` (version 00, sampled)."""
    return f"00-{trace_id}-{span_id}-01"


def parse_traceparent(text: str) -> tuple[str, str] | None:
    """(trace id, parent span id) of a W3C ``traceparent``; None when it is not one."""
    match = _TRACEPARENT.fullmatch(text.strip().lower())
    if match is None or set(match.group(1)) == {"0"} or set(match.group(2)) == {"0"}:
        return None
    return match.group(1), match.group(2)


__all__ = [
    "attempt_span_id",
    "parse_traceparent",
    "run_span_id",
    "run_trace_id",
    "step_span_id",
    "trace_id_of",
    "traceparent",
]
