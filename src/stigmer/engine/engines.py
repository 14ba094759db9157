"""The engine interface: what runs executions, chosen by ``engine:`` in config.yaml.

The CLI, the server and ``stigmer worker`` talk to an :class:`Engine` and nothing else;
whichever engine runs a run, its record in the store (phase, task steps, outputs) is the
same, so ``stigmer execution get/list/logs`` show the same things.

- ``local``: runs are claimed with leases from the store and run by this process (a
  foreground ``execute``) or by ``stigmer worker`` processes sharing the store.
- ``temporal``: runs become Temporal workflows (:mod:`stigmer.engine.temporal`), run by
  ``stigmer worker --engine temporal`` processes on any number of machines. ``temporalio``
  is imported only when this engine is chosen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

from stigmer.backend.protocol import RunJournal
from stigmer.config import Config, TemporalSettings, engine_of, temporal_settings
from stigmer.engine import OnDone
from stigmer.runners.settings import DEFAULTS, RunSettings, run_settings

if TYPE_CHECKING:
    from stigmer.engine.temporal.devserver import DevServer
    from stigmer.runners.events import DriveEvent


class Engine(Protocol):
    """Runs executions."""

    @property
    def name(self) -> str:
        """``local`` or ``temporal``."""
        ...

    @property
    def runs_here(self) -> bool:
        """Whether a foreground command runs a run in its own process (else it hands the run
        over with :meth:`submit` and follows its record)."""
        ...

    def submit(self, backend: RunJournal, execution_id: str) -> None:
        """Hand a queued run to the engine now (a new run, or one queued again by a decision
        or a cancel).

        Raises:
            Conflict: Another worker runs it, or it is finished or waiting for a person.
        """
        ...

    async def serve(
        self, backend: RunJournal, stop: asyncio.Event, *, concurrency: int, on_done: OnDone | None = None
    ) -> None:
        """Run executions until ``stop`` is set (``stigmer worker``)."""
        ...

    def drive(
        self,
        backend: RunJournal,
        execution_id: str,
        *,
        run_here: bool = True,
        after_sequence: int | None = None,
        wait_for_decision: bool = False,
        watch_tasks: bool = True,
    ) -> AsyncIterator[DriveEvent]:
        """See a run through: run it in this process where this engine runs runs here (and
        ``run_here``, false against a server), else hand it over and follow whoever runs it;
        yield its events until it is finished or waits for a person (see
        :func:`stigmer.engine.drive.drive`; ``watch_tasks`` off: no task changes)."""
        ...

    def describe(self) -> str:
        """Where this engine's work goes, for people."""
        ...


class LocalEngine:
    """The local engine: leases in the store, asyncio in this process and in workers."""

    name = "local"
    runs_here = True

    def __init__(self, *, settings: RunSettings = DEFAULTS) -> None:
        self.settings = settings

    def submit(self, backend: RunJournal, execution_id: str) -> None:
        """Nothing to do: the foreground command or a worker claims the run from the store."""

    async def serve(
        self, backend: RunJournal, stop: asyncio.Event, *, concurrency: int, on_done: OnDone | None = None
    ) -> None:
        from stigmer.engine.local import Worker

        worker = Worker(backend, concurrency=concurrency, settings=self.settings, on_done=on_done)
        await worker.run(stop)

    def drive(
        self,
        backend: RunJournal,
        execution_id: str,
        *,
        run_here: bool = True,
        after_sequence: int | None = None,
        wait_for_decision: bool = False,
        watch_tasks: bool = True,
    ) -> AsyncIterator[DriveEvent]:
        from stigmer.engine.drive import drive

        return drive(
            backend,
            execution_id,
            run_here=run_here,
            settings=self.settings,
            after_sequence=after_sequence,
            wait_for_decision=wait_for_decision,
            watch_tasks=watch_tasks,
        )

    def describe(self) -> str:
        return "the local engine"


def open_engine(
    config: Config,
    *,
    engine: str = "",
    temporal_address: str = "",
    dev_server: DevServer | None = None,
) -> Engine:
    """The engine ``config`` (or ``engine``) selects.

    Args:
        config: The home's settings (``engine``, ``temporal``, ``model``, ``prices``).
        engine: ``local`` or ``temporal``, overriding the config and ``$STIGMER_ENGINE``.
        temporal_address: HOST:PORT of the Temporal server, overriding the config.
        dev_server: A Temporal dev server started for this process (``--temporal dev``).
    """
    chosen = engine or engine_of(config)
    settings = run_settings(config)
    if chosen == "local":
        return LocalEngine(settings=settings)
    from stigmer.engine.temporal.engine import TemporalEngine

    temporal = temporal_settings(config)
    address = dev_server.address if dev_server is not None else temporal_address
    if address:
        temporal = TemporalSettings(address, temporal.namespace, temporal.task_queue)
    return TemporalEngine(temporal, settings=settings)


__all__ = ["Engine", "LocalEngine", "OnDone", "open_engine"]
