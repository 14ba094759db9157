"""What the scheduler, the task kinds and the engines pass each other about one attempt.

An :class:`Attempt` is asked for by the scheduler; beginning it gives a :class:`Begun`
(over at once, or waiting on the world); its end is a :class:`Tried`, or a
:class:`Failure` of its body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stigmer.api.workflow.v1.workflow_pb2 import Task
from stigmer.runners.workflow.journal import Outcome

# Called by a body with True while it waits only for a person, False when it goes on.
Blocked = Callable[[bool], None]


@dataclass
class Attempt:
    """One attempt of one task (or of one forEach item), as the scheduler asks for it."""

    task: Task
    key: str
    attempt: int = 1
    # What the start of this attempt recorded, when it was in flight (a resumed run).
    started: dict[str, Any] | None = None
    # Names in scope for the task's expressions besides the run's (``item``, ``index``).
    extra: dict[str, Any] = field(default_factory=dict)
    # The task whose forEach this item belongs to ("" for a task of the workflow).
    parent: str = ""
    # Nothing else of the run is in flight or ready to start: a call that holds the event
    # loop holds back no other task of this run (set by the scheduler).
    alone: bool = False


@dataclass
class Tried:
    """How an attempt ended; ``retry_at``: it failed, and the next attempt is due then."""

    outcome: Outcome
    retry_at: str = ""


@dataclass
class Failure:
    """Why the body of an attempt failed; ``retryable``: trying again may help."""

    code: str
    message: str
    retryable: bool = True


@dataclass
class Begun:
    """What beginning an attempt did: either it is over (``tried``), or its body waits on
    the world: a timer until ``until``, a person, the child run ``child_id``, or ``items``."""

    kind: str
    tried: Tried | None = None
    started_at: str = ""
    until: str = ""
    child_id: str = ""
    items: list[Any] = field(default_factory=list)
    # False when ``items`` hold masked secrets: each item is then evaluated again, where it runs.
    exact: bool = True
    # An approval decided already (a resumed run).
    decided: bool = False


__all__ = ["Attempt", "Begun", "Blocked", "Failure", "Tried"]
