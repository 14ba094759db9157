"""Firing schedules: which fire times are due, and the one run each starts.

A :class:`ScheduleFirer` looks at every Schedule, works out the fire times due since the
schedule's last fire and starts a run for each, following the overlap and catch-up policies.
Everything it decides comes from the store (the schedule, and the runs it started), so any
number of firers — one per worker, server or dashboard — decide the same, and a restarted one
carries on where the others are. The store keeps the fire itself unique: the run of a
(schedule, fire time) is written with a key that a second writer cannot write again (see
:mod:`stigmer.store.fires`), so racing firers start one run between them.

It talks to the Backend protocol only, so it works against a local home and a server alike.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.common.v1.trigger_pb2 import ExecutionTrigger
from stigmer.api.schedule.v1.schedule_pb2 import Schedule
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend, ExecutionQuery, RunJournal
from stigmer.clock import Clock, utcnow
from stigmer.errors import AlreadyExists, StigmerError
from stigmer.resources import expressions
from stigmer.resources.codec import to_dict
from stigmer.resources.kinds import API_VERSION, Execution
from stigmer.resources.provenance import trigger_labels
from stigmer.resources.schedule_times import FireTimes
from stigmer.resources.trigger_specs import SCHEDULE_ROOTS, catch_up_limit, overlap_policy

log = logging.getLogger("stigmer.triggers")

FINISHED = frozenset({ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED})
# With catchUp: none, a fire is still started this long after its time (a worker polls, and
# may be busy); older ones were missed.
DEFAULT_GRACE = timedelta(minutes=1)
# How often a running firer looks for due fires.
TICK_SECONDS = 5.0
# Runs of one schedule read to decide a fire (the newest first). A few: when they are all
# `schedule trigger` runs, the firer counts from the schedule's last change, and the fires it
# tries again are refused by the store's fire key.
RECENT_RUNS = 3


@dataclass(frozen=True)
class Fire:
    """What a firer did with one fire time of one schedule.

    ``outcome`` is "started", "skipped" (overlap: skip), "waiting" (overlap: queue),
    "duplicate" (another firer started it) or "failed" (``error`` says why).
    """

    schedule: str
    fire_time: datetime
    outcome: str
    execution_id: str = ""
    error: str = ""


def schedule_runs(backend: RunJournal, name: str, *, limit: int = RECENT_RUNS) -> list[Execution]:
    """The runs a schedule started (its fires and `stigmer schedule trigger`), newest first."""
    query = ExecutionQuery(labels=trigger_labels("schedule", name), page_size=limit)
    return list(backend.list_executions(query).items)


def _trigger(run: Execution) -> ExecutionTrigger:
    trigger: ExecutionTrigger = run.spec.trigger
    return trigger


def _finished(run: Execution) -> bool:
    return run.status.phase in FINISHED


def _end(run: Execution) -> datetime | None:
    return run.status.end_time.ToDatetime(UTC) if run.status.HasField("end_time") else None


def last_fire(runs: list[Execution]) -> Execution | None:
    """The run of the latest fire time (not one started with `stigmer schedule trigger`)."""
    return next((r for r in runs if _trigger(r).via != "trigger"), None)


class ScheduleFirer:
    """Starts the runs of due schedule fires; call :meth:`tick` now and then.

    Args:
        backend: Where schedules and runs are: a whole Backend for :meth:`tick`; a run
            journal is enough for one schedule's fires (:meth:`fire_due`, :meth:`start`).
        clock: Where "now" comes from; tests inject theirs.
        grace: How late a fire may still start under ``catchUp: none``.
    """

    def __init__(
        self, backend: RunJournal, *, clock: Clock = utcnow, grace: timedelta = DEFAULT_GRACE
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.grace = grace

    def tick(self) -> list[Fire]:
        """Fire every schedule that is due now; what was done, per fire."""
        if not hasattr(self.backend, "list"):
            raise TypeError("a tick lists every Schedule: it needs a whole Backend, not only a RunJournal")
        now = self.clock()
        fires: list[Fire] = []
        for schedule in all_schedules(cast(Backend, self.backend)):
            if schedule.spec.paused:
                continue
            try:
                fires += self.fire_due(schedule, now)
            except StigmerError as exc:  # one broken schedule never stops the others
                # Keyed by when the schedule was last written: reported once until it changes.
                since = schedule.metadata.update_time.ToDatetime(UTC)
                fires.append(Fire(schedule.metadata.name, since, "failed", error=str(exc)))
        return fires

    def due(self, schedule: Schedule, now: datetime, runs: list[Execution]) -> list[datetime]:
        """The fire times to act on now, oldest first: after the last fire (and after the
        schedule was last written: a paused or changed schedule does not fire for the time
        before), at most as many as its catch-up policy allows."""
        times = FireTimes.of(schedule.spec)
        floor = schedule.metadata.update_time.ToDatetime(UTC)
        latest = last_fire(runs)
        if latest is not None:
            floor = max(floor, _trigger(latest).fire_time.ToDatetime(UTC))
        limit = max(catch_up_limit(schedule.spec), 1)
        recent = list(itertools.islice(itertools.takewhile(lambda t: t > floor, times.before(now)), limit))
        recent.reverse()
        if catch_up_limit(schedule.spec) == 0:
            # None caught up: only a fire that is due right now (or, queued behind a run, that
            # became due when that run ended) still starts.
            previous_end = _end(runs[0]) if runs and _finished(runs[0]) else None
            recent = [t for t in recent if now - max(t, previous_end or t) <= self.grace]
        return recent

    def fire_due(self, schedule: Schedule, now: datetime) -> list[Fire]:
        """Start the runs of one schedule's due fires, following its overlap policy."""
        name = schedule.metadata.name
        overlap = overlap_policy(schedule.spec)
        runs = schedule_runs(self.backend, name)
        fires: list[Fire] = []
        for fire_time in self.due(schedule, now, runs):
            previous = runs[0] if runs else None
            if previous is not None and overlap != "allow":
                if overlap == "queue" and not _finished(previous):
                    fires.append(Fire(name, fire_time, "waiting"))
                    break  # later fires wait too, in order
                end = _end(previous)
                if overlap == "skip" and (not _finished(previous) or (end is not None and end > fire_time)):
                    fires.append(Fire(name, fire_time, "skipped"))
                    continue
            fire = self.start(schedule, fire_time)
            fires.append(fire)
            if fire.outcome in ("started", "duplicate"):
                # What decides the next fire is this one's run: re-read, it may be another firer's.
                runs = schedule_runs(self.backend, name)
            if fire.outcome == "failed":
                break
        return fires

    def start(self, schedule: Schedule, fire_time: datetime, *, by_hand: bool = False) -> Fire:
        """Start the run of one fire (``by_hand``: `stigmer schedule trigger`, not unique by time)."""
        name = schedule.metadata.name
        try:
            execution = new_run(schedule, fire_time, by_hand=by_hand)
            created = self.backend.create_execution(execution)
        except AlreadyExists:
            return Fire(name, fire_time, "duplicate")
        except StigmerError as exc:
            log.debug("schedule %s: the run for %s failed to start: %s", name, fire_time.isoformat(), exc)
            return Fire(name, fire_time, "failed", error=str(exc))
        log.info("schedule %s fired for %s: %s", name, fire_time.isoformat(), created.metadata.id)
        return Fire(name, fire_time, "started", created.metadata.id)


def new_run(schedule: Schedule, fire_time: datetime, *, by_hand: bool = False) -> Execution:
    """The execution a fire starts, its expressions evaluated with the fire time.

    Raises:
        ExpressionError: An expression of the schedule cannot be evaluated.
    """
    spec = schedule.spec
    times = FireTimes.of(spec)
    local = fire_time.astimezone(times.zone)
    context = {
        "schedule": {
            "name": schedule.metadata.name,
            "fireTime": local.isoformat(),
            "fireTimeUtc": fire_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "date": local.date().isoformat(),
        }
    }
    trigger = ExecutionTrigger(
        type="schedule", source=schedule.metadata.name, via="trigger" if by_hand else ""
    )
    trigger.fire_time.FromDatetime(fire_time.astimezone(UTC))
    execution: Execution
    if spec.workflow:
        execution = WorkflowExecution(api_version=API_VERSION, kind="WorkflowExecution")
        execution.spec.workflow = spec.workflow
        inputs: Any = expressions.evaluate(
            to_dict(spec.inputs), context, where="spec.inputs", roots=SCHEDULE_ROOTS
        )
        if inputs:
            execution.spec.inputs.update(inputs)
    else:
        execution = AgentExecution(api_version=API_VERSION, kind="AgentExecution")
        execution.spec.agent = spec.agent
        message = expressions.evaluate(spec.message, context, where="spec.message", roots=SCHEDULE_ROOTS)
        execution.spec.message = message if isinstance(message, str) else str(message)
    execution.spec.environment = spec.environment
    execution.spec.trigger.CopyFrom(trigger)
    return execution


def next_fires(schedule: Schedule, now: datetime, n: int) -> list[datetime]:
    """The next ``n`` fire times after ``now`` (none while the schedule is paused)."""
    if schedule.spec.paused:
        return []
    return FireTimes.of(schedule.spec).next(now, n)


def all_schedules(backend: Backend) -> Iterator[Schedule]:
    """Every Schedule, page by page."""
    token = ""
    while True:
        page = backend.list(Schedule, page_size=500, page_token=token)
        yield from page.items
        token = page.next_page_token
        if not token:
            return


class ScheduleService:
    """Fires due schedules every ``every`` seconds, beside a worker: the service the process
    host runs in `stigmer worker`, `stigmer server` and `stigmer ui` (see stigmer.host).

    Ticks run on a thread of its own with one backend, opened at the first tick (and again
    after a failure), so neither the worker's runs nor the server's calls wait for them.

    Args:
        open_backend: Opens the backend the ticks use.
        every: Seconds between ticks.
        say: Where started runs, and fires that cannot start (once each), are reported.
        clock: Where "now" comes from.
    """

    name = "schedules"

    def __init__(
        self,
        open_backend: Callable[[], Backend],
        *,
        every: float = TICK_SECONDS,
        say: Callable[[str], None] = log.info,
        clock: Clock = utcnow,
    ) -> None:
        self.open_backend = open_backend
        self.every = every
        self.say = say
        self.clock = clock
        self._backend: Backend | None = None
        self._failed: set[tuple[str, datetime]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="stigmer-schedules", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()  # after the tick under way, if any

    def _main(self) -> None:
        try:
            while not self._stop.is_set():
                self.tick()
                if self._stop.wait(self.every):
                    return
        finally:
            self.close()

    def tick(self) -> list[Fire]:
        """One tick: fire what is due and report it; a failure is logged and tried again next tick."""
        try:
            if self._backend is None:
                self._backend = self.open_backend()
            fires = ScheduleFirer(self._backend, clock=self.clock).tick()
        except Exception:
            log.exception("firing schedules failed")
            self.close()  # a fresh backend at the next tick
            return []
        for fire in fires:
            when = fire.fire_time.isoformat()
            if fire.outcome == "started":
                self.say(f"schedule {fire.schedule} fired for {when}: {fire.execution_id}")
            elif fire.outcome == "failed" and (fire.schedule, fire.fire_time) not in self._failed:
                # A fire that cannot start is tried at every tick; it is reported once.
                self._failed.add((fire.schedule, fire.fire_time))
                self.say(f"schedule {fire.schedule}: the run for {when} did not start: {fire.error}")
        return fires

    def close(self) -> None:
        """Close the backend (the next tick opens another)."""
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def with_status(backend: RunJournal, schedule: Schedule, now: datetime, *, upcoming: int = 3) -> Schedule:
    """``schedule`` with its status filled as readers see it: the next fire times and its last run.

    Status is never stored: both change with time and with runs, so they are computed on read.
    """
    status = schedule.status
    for name in ("next_fire_times", "last_execution_id", "last_fire_time"):
        status.ClearField(name)  # references stay: the backend resolved them
    for fire in next_fires(schedule, now, upcoming):
        status.next_fire_times.add().FromDatetime(fire.astimezone(UTC))
    runs = schedule_runs(backend, schedule.metadata.name, limit=1)
    if runs:
        status.last_execution_id = runs[0].metadata.id
        status.last_fire_time.CopyFrom(_trigger(runs[0]).fire_time)
    return schedule


__all__ = [
    "DEFAULT_GRACE",
    "TICK_SECONDS",
    "Fire",
    "ScheduleFirer",
    "ScheduleService",
    "all_schedules",
    "last_fire",
    "new_run",
    "next_fires",
    "schedule_runs",
    "with_status",
]
