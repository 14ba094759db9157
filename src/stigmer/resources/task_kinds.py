"""The registry of workflow task kinds, which every layer iterates instead of naming kinds.

A kind is one module under :mod:`stigmer.runners.workflow.kinds` (a subclass of its
``TaskKind``, which extends :class:`TaskKindSpec` with how an attempt runs). Resources
know kinds only through this registry: the built-in kinds' modules are loaded by name on
first use, the way a plugin would be, so reading files and the store never imports the
runners, and a command that never reads a workflow imports no kind at all. A kind
registers itself with :func:`register` when its module is imported; a new kind's module
is added to :data:`BUILTIN` (or imported by whoever adds it) and registers the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from stigmer.api.workflow.v1.workflow_pb2 import Task

# The built-in kinds' modules, in the order error messages list them.
BUILTIN = tuple(
    f"stigmer.runners.workflow.kinds.{name}"
    for name in ("agent", "set", "http", "switch", "for_each", "approval", "wait", "workflow", "python")
)


class TaskKindSpec:
    """What a kind of workflow task is as a resource: its fields as written, checked and
    read. :class:`stigmer.runners.workflow.kinds.TaskKind` adds how an attempt of it runs;
    kinds subclass that one.

    Attributes:
        field: The field of ``Task`` (in ``proto/stigmer/workflow/v1/workflow.proto``) that
            holds the kind's body, e.g. ``for_each``.
        label: How files, tables and the dashboard write it, e.g. ``forEach``.
        durable: Its body waits on the world (a timer, a person, a child run, items): it is
            begun, waited for by :meth:`wait`, and concluded. Otherwise :meth:`begin` runs
            it whole, within the task's ``timeout``.
        inline: Cheap and local: the local engine runs it at once, without taking a slot.
        heartbeats: Its :meth:`begin` may take long (I/O, user code): the Temporal engine
            heartbeats the activity that runs it.
        reads_journal: Its :meth:`begin` reads the run's journal even on a first attempt.
        child_workflow: The Temporal workflow type its child run is ("" for none).
        item_names: Names its :meth:`item_task` sees besides the run's.
    """

    field: ClassVar[str] = ""
    label: ClassVar[str] = ""
    durable: ClassVar[bool] = False
    inline: ClassVar[bool] = False
    heartbeats: ClassVar[bool] = False
    reads_journal: ClassVar[bool] = False
    child_workflow: ClassVar[str] = ""
    item_names: ClassVar[tuple[str, ...]] = ()

    # -- the resource: as written, checked, read -------------------------------------------

    def normalise(self, body: Any, task: Callable[[Any], None]) -> None:
        """Rewrite the short forms of ``body`` (the kind's field, as a file writes it) in
        place; ``task`` normalises a task it holds."""

    def validate(self, task: Task, field: str) -> None:
        """Refuse a body that cannot run (raise ``InvalidArgument`` naming ``field.label…``)."""

    def item_task(self, task: Task) -> Task | None:
        """The task run once per item, with :attr:`item_names` in scope (None: no items)."""
        return None

    def value_fields(self, task: Task) -> list[tuple[str, Any]]:
        """(field, value) of each field of the body that may hold ``${…}``."""
        return []

    def condition_fields(self, task: Task) -> list[tuple[str, str]]:
        """(field, text) of each condition in the body."""
        return []

    def targets(self, task: Task) -> list[tuple[str, str, str]]:
        """(field, task name, edge label) of each task the body may enable (a switch). Each
        such task waits for this one, and is skipped unless this one succeeds with its name
        in the ``enabled`` list of its outputs."""
        return []

    def references(self, task: Task, field: str) -> list[tuple[str, str, str]]:
        """(resource kind, name, field) of each resource the body names."""
        return []

    def describe(self, task: Task) -> str:
        """The kind and its target as a table or graph shows it, e.g. ``agent writer``."""
        return self.label


K = TypeVar("K", bound=TaskKindSpec)

_KINDS: dict[str, TaskKindSpec] = {}
_loaded = False


def register(kind: K) -> K:
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
            importlib.import_module(module)


def all_kinds() -> list[TaskKindSpec]:
    """Every registered kind, built-ins first."""
    _load()
    return list(_KINDS.values())


def kind_of(task: Task) -> TaskKindSpec | None:
    """The kind of ``task``; None when it has none."""
    _load()
    field = task.WhichOneof("kind")
    return _KINDS.get(field) if field else None


def kind_named(field: str) -> TaskKindSpec:
    """The kind whose ``Task`` field is ``field``."""
    _load()
    return _KINDS[field]


__all__ = ["BUILTIN", "TaskKindSpec", "all_kinds", "kind_named", "kind_of", "register"]
