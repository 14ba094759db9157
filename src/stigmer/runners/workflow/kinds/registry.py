"""The task kinds Stigmer knows, which every layer iterates instead of naming kinds.

Built-in kinds register the way a new one would: their module calls :func:`register`
when it is imported, and :data:`BUILTIN` lists the modules imported on first use (so a
command that never reads a workflow does not import them).
"""

from __future__ import annotations

import importlib

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.runners.workflow.kinds.base import TaskKind

# The built-in kinds' modules, in the order error messages list them.
BUILTIN = ("agent", "set", "http", "switch", "for_each", "approval", "wait", "workflow", "python")

_KINDS: dict[str, TaskKind] = {}
_loaded = False


def register(kind: TaskKind) -> TaskKind:
    """Make ``kind`` known to every layer (validation, the runner, engines, tables); returns it.

    Raises:
        ValueError: Its field is not one of ``Task``'s kinds, or another kind has it.
    """
    oneof = Task.DESCRIPTOR.oneofs_by_name["kind"]
    if kind.field not in {f.name for f in oneof.fields}:
        raise ValueError(f"task kind {kind.label!r}: Task has no field {kind.field!r} in its kind oneof")
    if kind.field in _KINDS and type(_KINDS[kind.field]) is not type(kind):
        raise ValueError(f"task kind {kind.field!r} is registered already")
    _KINDS[kind.field] = kind
    return kind


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN:
            importlib.import_module(f"{__package__}.{module}")


def all_kinds() -> list[TaskKind]:
    """Every registered kind, built-ins first."""
    _load()
    return list(_KINDS.values())


def kind_of(task: Task) -> TaskKind | None:
    """The kind of ``task``; None when it has none."""
    _load()
    field = task.WhichOneof("kind")
    return _KINDS.get(field) if field else None


def kind_named(field: str) -> TaskKind:
    """The kind whose ``Task`` field is ``field`` (as :class:`Begun` names it)."""
    _load()
    return _KINDS[field]


__all__ = ["BUILTIN", "all_kinds", "kind_named", "kind_of", "register"]
