"""Workflow task kinds: one module per kind, and the registry every layer iterates.

See :mod:`stigmer.runners.workflow.kinds.base` for what a kind holds. A new kind is a
field in ``Task``'s ``kind`` oneof (``proto/stigmer/api/workflow/v1/workflow.proto``), a
module here that subclasses ``TaskKind`` and calls ``register``, and its name in
``stigmer.resources.task_kinds.BUILTIN``.
"""

from stigmer.runners.workflow.kinds.base import (
    Attempts,
    Fields,
    TaskCall,
    TaskError,
    TaskKind,
    Walk,
    deadline,
    idempotency_key,
    sleep_until,
)
from stigmer.runners.workflow.kinds.registry import BUILTIN, all_kinds, kind_named, kind_of, register

__all__ = [
    "BUILTIN",
    "Attempts",
    "Fields",
    "TaskCall",
    "TaskError",
    "TaskKind",
    "Walk",
    "all_kinds",
    "deadline",
    "idempotency_key",
    "kind_named",
    "kind_of",
    "register",
    "sleep_until",
]
