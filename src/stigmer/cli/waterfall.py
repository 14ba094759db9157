"""`stigmer execution trace`: a run's spans as a waterfall in the terminal (rich).

One row per span, indented as a tree: where it started, how long it took, its tokens and
cost, and a bar on the run's timeline. The tree is :func:`stigmer.telemetry.trace.build_trace`'s,
the same the dashboard draws.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from stigmer.prices import money

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from stigmer.telemetry.trace import Span, Trace

BAR_WIDTH = 40
STYLES = {
    "workflow": "bold",
    "agent": "bold magenta",
    "task": "blue",
    "model": "magenta",
    "tool": "cyan",
    "approval": "yellow",
    "http": "cyan",
}
STATUS_STYLES = {
    "error": "red",
    "cancelled": "red",
    "running": "cyan",
    "waiting": "yellow",
    "pending": "dim",
    "skipped": "dim",
    "reused": "dim",
}


def seconds(ms: int) -> str:
    """A duration for people: 0.42s, 12.3s, 4m05s."""
    if ms < 60_000:
        return f"{ms / 1000:.2f}s" if ms < 10_000 else f"{ms / 1000:.1f}s"
    return f"{ms // 60_000}m{(ms // 1000) % 60:02d}s"


def headline(trace: Trace, now: datetime) -> str:
    """One line: the run, its phase, time, model calls, tokens and cost."""
    root = trace.root
    end = root.end or now
    total = int(((end - root.start).total_seconds() if root.start else 0) * 1000)
    parts = [root.name, root.execution_id, root.status, seconds(total)]
    if root.model_calls:
        parts.append(f"{root.model_calls} model call{'s' if root.model_calls != 1 else ''}")
        parts.append(f"{root.input_tokens} in / {root.output_tokens} out tokens")
        if root.model_calls > root.unpriced:
            parts.append(money(root.cost) + (f" ({root.unpriced} unpriced)" if root.unpriced else ""))
    return " · ".join(parts)


def waterfall(trace: Trace, now: datetime | None = None, width: int = BAR_WIDTH) -> Table:
    """The trace as a table: span, start, duration, tokens, cost, and its bar."""
    from rich.table import Table

    now = now or datetime.now(UTC)
    root = trace.root
    origin = root.start or now
    total = max((root.end or now) - origin, timedelta(milliseconds=1)).total_seconds()
    table = Table(box=None, pad_edge=False, show_edge=False)
    for header, justify in (("SPAN", "left"), ("START", "right"), ("DURATION", "right")):
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("TOKENS", justify="right", no_wrap=True)
    table.add_column("COST", justify="right", no_wrap=True)
    table.add_column("TIMELINE", no_wrap=True)

    def add(span: Span, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        start = span.start or origin
        end = span.end or now
        offset = (start - origin).total_seconds()
        length = max((end - start).total_seconds(), 0.0)
        tokens = span.input_tokens + span.output_tokens
        priced = span.model_calls > span.unpriced
        table.add_row(
            _label(prefix + branch, span),
            seconds(int(offset * 1000)),
            seconds(int(length * 1000)) + ("…" if span.end is None and span.status != "reused" else ""),
            str(tokens) if tokens else "",
            money(span.cost) if priced else "",
            _bar(span, offset / total, length / total, width),
        )
        inner = prefix + ("" if top else ("   " if last else "│  "))
        for i, child in enumerate(span.children):
            add(child, inner, i == len(span.children) - 1, False)

    add(root, "", True, True)
    return table


def _label(tree: str, span: Span) -> Text:
    from rich.text import Text

    label = Text(tree, style="dim")
    label.append(span.name, style=STYLES.get(span.kind, ""))
    attempt = span.attributes.get("stigmer.task.attempt")
    if isinstance(attempt, int) and attempt > 1:
        label.append(f" (attempt {attempt})", style="dim")
    if span.status not in ("ok", "running") or span.kind in ("workflow", "agent"):
        label.append(f" {span.status}", style=STATUS_STYLES.get(span.status, "green"))
    return label


def _bar(span: Span, start: float, length: float, width: int) -> Text:
    from rich.text import Text

    left = min(int(start * width), width - 1)
    size = max(1, round(length * width))
    size = min(size, width - left)
    style = STATUS_STYLES.get(span.status, STYLES.get(span.kind, ""))
    return Text(" " * left + "█" * size, style=style)


__all__ = ["BAR_WIDTH", "headline", "seconds", "waterfall"]
