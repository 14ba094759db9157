"""A workflow's task graph as text (for a terminal) and as a Mermaid flowchart (for docs).

Tasks are listed by level: a task comes after everything it depends on or is chosen by.
"""

from __future__ import annotations

from stigmer.api.workflow.v1.workflow_pb2 import Task, Workflow
from stigmer.resources.task_kinds import kind_of


def label(task: Task) -> str:
    """A task's kind as files write it, e.g. ``forEach`` ("?" for none)."""
    kind = kind_of(task)
    return kind.label if kind is not None else "?"


def describe(task: Task) -> str:
    """A task's kind and its target, e.g. ``agent release-notes-writer``."""
    kind = kind_of(task)
    return kind.describe(task) if kind is not None else "?"


def edges(workflow: Workflow) -> list[tuple[str, str, str]]:
    """(from, to, label) for every dependency ("") and switch branch (its condition, or "default")."""
    found: list[tuple[str, str, str]] = []
    for task in workflow.spec.tasks:
        found += [(dep, task.name, "") for dep in task.depends_on]
        kind = kind_of(task)
        found += [(task.name, target, edge) for _, target, edge in (kind.targets(task) if kind else [])]
    return found


def levels(workflow: Workflow) -> dict[str, int]:
    """Each task's level: 0 without anything before it, else one more than what comes before."""
    before: dict[str, list[str]] = {t.name: [] for t in workflow.spec.tasks}
    for source, target, _ in edges(workflow):
        before[target].append(source)
    level: dict[str, int] = {}

    def of(name: str, trail: frozenset[str]) -> int:
        if name not in level:
            level[name] = 1 + max((of(b, trail | {name}) for b in before[name] if b not in trail), default=-1)
        return level[name]

    for name in before:
        of(name, frozenset())
    return level


def text(workflow: Workflow) -> str:
    """The graph as aligned lines: level, task, kind, and what it comes after."""
    level = levels(workflow)
    incoming: dict[str, list[str]] = {t.name: [] for t in workflow.spec.tasks}
    for source, target, label in edges(workflow):
        incoming[target].append(f"{source} ({label})" if label else source)
    tasks = sorted(workflow.spec.tasks, key=lambda t: level[t.name])
    width = max(len(t.name) for t in tasks)
    kind_width = max(len(describe(t)) for t in tasks)
    lines = [f"{workflow.metadata.name}: {len(tasks)} task{'s' if len(tasks) != 1 else ''}"]
    for task in tasks:
        after = f"  after {', '.join(incoming[task.name])}" if incoming[task.name] else ""
        when = f"  when {task.when}" if task.when else ""
        line = f"  {level[task.name]}  {task.name:<{width}}  {describe(task):<{kind_width}}{after}{when}"
        lines.append(line.rstrip())
    return "\n".join(lines)


def _quote(value: str) -> str:
    return value.replace('"', "#quot;")


def mermaid(workflow: Workflow) -> str:
    """The graph as a Mermaid flowchart (top to bottom; switch branches labelled)."""
    ids = {t.name: f"t{i}" for i, t in enumerate(workflow.spec.tasks)}
    lines = ["flowchart TD"]
    for task in workflow.spec.tasks:
        kind = kind_of(task)
        shape = ('{{"', '"}}') if kind is not None and kind.targets(task) else ('["', '"]')
        label = f"{_quote(task.name)}<br/><small>{_quote(describe(task))}</small>"
        lines.append(f"  {ids[task.name]}{shape[0]}{label}{shape[1]}")
    for source, target, label in edges(workflow):
        arrow = f' -- "{_quote(label)}" --> ' if label else " --> "
        lines.append(f"  {ids[source]}{arrow}{ids[target]}")
    return "\n".join(lines)


__all__ = ["describe", "edges", "label", "levels", "mermaid", "text"]
