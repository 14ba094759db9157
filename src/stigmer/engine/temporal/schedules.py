"""Schedules on the Temporal engine: every Schedule resource is mirrored as a Temporal Schedule.

Temporal's scheduler then wakes Stigmer at each fire time: its action is a short workflow,
``StigmerScheduleFire``, whose one activity asks the store-backed firer
(:class:`~stigmer.triggers.schedules.ScheduleFirer`) to start that schedule's due fires. The
firer keeps Stigmer's overlap and catch-up policies (they are about Stigmer's runs, not about
the short action workflow), and the store's fire key keeps each fire to one run, so the firer
that runs beside every worker and Temporal's wake-ups never start a fire twice.

The mirror follows the store: a worker's bridge loop creates, updates (a change, pause or
resume) and deletes Temporal Schedules whose id starts with ``stigmer-schedule/QUEUE/``:
one task queue serves one store, so stores that share a Temporal namespace keep apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError

from stigmer.api.schedule.v1.schedule_pb2 import Schedule as ScheduleResource
from stigmer.backend.protocol import Backend, RunJournal
from stigmer.config import TemporalSettings
from stigmer.errors import NotFound, StigmerError

log = logging.getLogger("stigmer.engine")

PREFIX = "stigmer-schedule/"
MIRROR_SECONDS = 5.0


def prefix(settings: TemporalSettings) -> str:
    """The ids of one store's Temporal Schedules start with this: a task queue serves one store."""
    return f"{PREFIX}{settings.task_queue}/"


def schedule_id(name: str, settings: TemporalSettings) -> str:
    """The Temporal Schedule id of a Schedule resource."""
    return prefix(settings) + name


@workflow.defn(name="StigmerScheduleFire")
class StigmerScheduleFire:
    """The action of a mirrored schedule: start the schedule's due fires in the store."""

    @workflow.run
    async def run(self, name: str) -> list[str]:
        started: list[str] = await workflow.execute_activity(
            "stigmer.fire_schedule", name, start_to_close_timeout=timedelta(minutes=1)
        )
        return started


class ScheduleActivities:
    """The activity behind :class:`StigmerScheduleFire`, over one backend."""

    def __init__(self, backend: RunJournal) -> None:
        self.backend = backend

    def all(self) -> list[Callable[..., Any]]:
        return [self.fire_schedule]

    @activity.defn(name="stigmer.fire_schedule")
    async def fire_schedule(self, name: str) -> list[str]:
        """Start the due fires of schedule ``name``; the ids of the runs started."""
        from stigmer.clock import utcnow
        from stigmer.triggers.schedules import ScheduleFirer

        try:
            schedule = self.backend.get(ScheduleResource, name)
        except NotFound:
            return []  # deleted since: the mirror removes its Temporal Schedule soon
        if schedule.spec.paused:
            return []
        fires = ScheduleFirer(self.backend).fire_due(schedule, utcnow())
        return [f.execution_id for f in fires if f.outcome == "started"]


def fingerprint(schedule: ScheduleResource) -> str:
    """What the Temporal Schedule mirrors of a resource: changes when it must be updated."""
    return hashlib.sha256(schedule.spec.SerializeToString(deterministic=True)).hexdigest()[:16]


def temporal_schedule(schedule: ScheduleResource, settings: TemporalSettings) -> Schedule:
    """The Temporal Schedule of a Schedule resource."""
    from stigmer.resources.schedule_times import FireTimes

    times = FireTimes.of(schedule.spec)
    name = schedule.metadata.name
    spec = ScheduleSpec(
        cron_expressions=[times.cron] if times.cron else [],
        intervals=[ScheduleIntervalSpec(every=times.interval)] if times.interval else [],
        time_zone_name=schedule.spec.time_zone or "UTC",
        start_at=times.start,
        end_at=times.end,
    )
    if times.interval and times.start:
        # Intervals count from start in Stigmer; Temporal counts from the epoch plus an offset.
        offset = (times.start - datetime(1970, 1, 1, tzinfo=UTC)) % times.interval
        spec.intervals = [ScheduleIntervalSpec(every=times.interval, offset=offset)]
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "StigmerScheduleFire",
            name,
            id=f"stigmer-fire/{settings.task_queue}/{name}",
            task_queue=settings.task_queue,
        ),
        spec=spec,
        # The action only wakes the firer, which applies Stigmer's own overlap policy to runs.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=timedelta(minutes=1)),
        state=ScheduleState(paused=schedule.spec.paused, note=f"stigmer {fingerprint(schedule)}"),
    )


async def mirror_once(client: Client, backend: Backend, settings: TemporalSettings) -> dict[str, str]:
    """Bring Temporal's schedules in step with the store's; what was done, by schedule id."""
    from stigmer.triggers.schedules import all_schedules

    wanted = {schedule_id(s.metadata.name, settings): s for s in all_schedules(backend)}
    existing: dict[str, str] = {}
    async for listed in await client.list_schedules():
        if listed.id.startswith(prefix(settings)):
            described = await client.get_schedule_handle(listed.id).describe()
            existing[listed.id] = described.schedule.state.note or ""
    done: dict[str, str] = {}
    for sid, resource in wanted.items():
        note = f"stigmer {fingerprint(resource)}"
        try:
            desired = temporal_schedule(resource, settings)
        except StigmerError as exc:
            log.warning("schedule %s cannot be mirrored on Temporal: %s", resource.metadata.name, exc)
            continue
        if sid not in existing:
            await client.create_schedule(sid, desired)
            done[sid] = "created"
        elif existing[sid] != note:

            def replace(_: ScheduleUpdateInput, desired: Schedule = desired) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=desired)

            await client.get_schedule_handle(sid).update(replace)
            done[sid] = "updated"
    for sid in existing.keys() - wanted.keys():
        await client.get_schedule_handle(sid).delete()
        done[sid] = "deleted"
    return done


async def mirror(
    client: Client,
    backend: Backend,
    settings: TemporalSettings,
    stop: asyncio.Event,
    *,
    every: float = MIRROR_SECONDS,
) -> None:
    """Until ``stop``: keep Temporal's schedules in step with the store's."""
    while not stop.is_set():
        try:
            await mirror_once(client, backend, settings)
        except (RPCError, RuntimeError, StigmerError) as exc:
            log.warning("could not mirror schedules on Temporal: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


__all__ = [
    "PREFIX",
    "ScheduleActivities",
    "StigmerScheduleFire",
    "fingerprint",
    "mirror",
    "mirror_once",
    "prefix",
    "schedule_id",
    "temporal_schedule",
]
