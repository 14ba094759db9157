"""Schedules fire once per fire time, in their time zone, by their overlap and catch-up policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from stigmer.api.schedule.v1.schedule_pb2 import Schedule
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.local import LocalBackend
from stigmer.errors import AlreadyExists, InvalidArgument
from stigmer.triggers.schedules import ScheduleFirer, new_run, schedule_runs
from tests.triggers.conftest import SetClock, finish, schedule

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def started(backend: LocalBackend, name: str = "weekly-digest") -> list[str]:
    """The fire times (in UTC, ISO) of the runs a schedule started, oldest first."""
    runs = schedule_runs(backend, name, limit=1000)
    return [r.spec.trigger.fire_time.ToJsonString() for r in reversed(runs)]


def run_minutes(firer: ScheduleFirer, clock: SetClock, start: datetime, minutes: int, step: int = 1) -> None:
    start = start.astimezone(UTC)  # real minutes: wall-clock arithmetic would skip a repeated hour
    for minute in range(0, minutes, step):
        clock.set(start + timedelta(minutes=minute, seconds=5))
        firer.tick()


def test_a_workflow_schedule_starts_its_run_with_the_fire_time_in_its_inputs(
    home: LocalBackend, set_clock: SetClock
) -> None:
    home.apply([schedule(cron="0 9 * * 1", timeZone="Europe/Berlin")])
    firer = ScheduleFirer(home, clock=set_clock)
    set_clock.set(datetime(2025, 1, 6, 8, 59, tzinfo=UTC))  # 09:59 in Berlin: 09:00 was before the schedule
    assert firer.tick() == []
    set_clock.set(datetime(2025, 1, 13, 8, 0, 3, tzinfo=UTC))  # Monday 09:00:03 in Berlin
    [fire] = firer.tick()
    assert fire.outcome == "started"
    run = home.get_execution(fire.execution_id)
    assert isinstance(run, WorkflowExecution)
    assert run.spec.inputs["week"] == "2025-01-13T09:00:00+01:00"
    assert run.spec.trigger.type == "schedule" and run.spec.trigger.source == "weekly-digest"
    assert run.spec.trigger.fire_time.ToJsonString() == "2025-01-13T08:00:00Z"
    assert firer.tick() == []  # the same fire again starts nothing


def test_an_agent_schedule_sends_its_message_with_the_fire_date(
    home: LocalBackend, set_clock: SetClock
) -> None:
    from tests.builders import agent

    home.apply(
        [
            agent("writer", model="scripted"),
            schedule("daily", workflow="", agent="writer", message="Summarise ${schedule.date}", every="1d"),
        ]
    )
    set_clock.set(datetime(2025, 1, 7, 0, 0, 2, tzinfo=UTC))
    [fire] = ScheduleFirer(home, clock=set_clock).tick()
    assert home.get_execution(fire.execution_id).spec.message == "Summarise 2025-01-07"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("zone", "day", "expected_utc"),
    [
        # Spring forward: 02:30 does not exist that night; cron runs it at the first valid time, 03:00.
        (
            BERLIN,
            datetime(2025, 3, 29),
            ["2025-03-29T01:30:00Z", "2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"],
        ),
        (
            NEW_YORK,
            datetime(2025, 3, 8),
            ["2025-03-08T07:30:00Z", "2025-03-09T07:00:00Z", "2025-03-10T06:30:00Z"],
        ),
        # Fall back: 02:30 (New York: 01:30) happens twice that night; a daily job runs once.
        (
            BERLIN,
            datetime(2025, 10, 25),
            ["2025-10-25T00:30:00Z", "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"],
        ),
    ],
)
def test_daily_fires_across_a_dst_change_happen_once_a_day(
    home: LocalBackend, set_clock: SetClock, zone: ZoneInfo, day: datetime, expected_utc: list[str]
) -> None:
    home.apply([schedule(cron="30 2 * * *", timeZone=str(zone), overlap="allow")])
    firer = ScheduleFirer(home, clock=set_clock)
    start = day.replace(tzinfo=zone)
    run_minutes(firer, set_clock, start, 3 * 24 * 60, step=10)
    assert started(home) == expected_utc


def test_hourly_fires_in_the_repeated_hour_run_twice_in_new_york(
    home: LocalBackend, set_clock: SetClock
) -> None:
    home.apply([schedule(cron="@hourly", timeZone="America/New_York", overlap="allow")])
    firer = ScheduleFirer(home, clock=set_clock)
    run_minutes(firer, set_clock, datetime(2025, 11, 2, 0, 30, tzinfo=NEW_YORK), 4 * 60)
    # 01:00 EDT and 01:00 EST are two hours apart in real time: both fire, as cron's hourly does.
    assert started(home) == [
        "2025-11-02T05:00:00Z",
        "2025-11-02T06:00:00Z",
        "2025-11-02T07:00:00Z",
        "2025-11-02T08:00:00Z",
    ]


def test_two_firers_racing_for_one_fire_start_one_run(
    tmp_path: Path, home: LocalBackend, set_clock: SetClock
) -> None:
    home.apply([schedule(every="1m")])
    other = LocalBackend.open(tmp_path / "local.db", clock=set_clock)
    set_clock.set(datetime(2025, 1, 6, 8, 5, 1, tzinfo=UTC))
    first, second = ScheduleFirer(home, clock=set_clock), ScheduleFirer(other, clock=set_clock)
    # Both decided before either wrote: the store's fire key lets one run through.
    fire = datetime(2025, 1, 6, 8, 5, tzinfo=UTC)
    schedule_message = home.get(Schedule, "weekly-digest")
    assert first.start(schedule_message, fire).outcome == "started"
    assert second.start(schedule_message, fire).outcome == "duplicate"
    with pytest.raises(AlreadyExists, match="already fired"):
        other.create_execution(new_run(schedule_message, fire))
    assert first.tick() == [] and second.tick() == []
    assert started(home) == ["2025-01-06T08:05:00Z"]
    other.close()


def test_every_minute_for_five_minutes_across_two_workers_and_a_restart_fires_five_times(
    tmp_path: Path, home: LocalBackend, set_clock: SetClock
) -> None:
    home.apply([schedule(every="1m", overlap="allow")])
    second = LocalBackend.open(tmp_path / "local.db", clock=set_clock)
    firers = [ScheduleFirer(home, clock=set_clock), ScheduleFirer(second, clock=set_clock)]
    start = datetime(2025, 1, 6, 8, 1, tzinfo=UTC)
    for minute in range(5):
        for seconds in (1, 3, 7):
            set_clock.set(start + timedelta(minutes=minute, seconds=seconds))
            for firer in firers:
                firer.tick()
        if minute == 2:  # the second worker stops and starts again, with a new backend
            second.close()
            second = LocalBackend.open(tmp_path / "local.db", clock=set_clock)
            firers[1] = ScheduleFirer(second, clock=set_clock)
    assert started(home) == [f"2025-01-06T08:0{m}:00Z" for m in range(1, 6)]
    second.close()


def test_a_worker_restarted_across_a_fire_time_starts_it_once_when_back(
    tmp_path: Path, home: LocalBackend, set_clock: SetClock
) -> None:
    home.apply([schedule(every="1h", catchUp="last")])
    set_clock.set(datetime(2025, 1, 6, 9, 0, 2, tzinfo=UTC))
    [first] = ScheduleFirer(home, clock=set_clock).tick()
    finish(home, home.get_execution(first.execution_id), datetime(2025, 1, 6, 9, 10, tzinfo=UTC))
    home.close()
    # Down from 09:30 to 10:20, across the 10:00 fire; a new process starts it once, late.
    set_clock.set(datetime(2025, 1, 6, 10, 20, tzinfo=UTC))
    again = LocalBackend.open(tmp_path / "local.db", clock=set_clock)
    firer = ScheduleFirer(again, clock=set_clock)
    assert [f.outcome for f in firer.tick()] == ["started"]
    assert firer.tick() == []
    assert started(again) == ["2025-01-06T09:00:00Z", "2025-01-06T10:00:00Z"]
    again.close()


@pytest.mark.parametrize(
    ("catch_up", "expected"),
    [
        ("none", []),
        ("last", ["2025-01-06T13:00:00Z"]),
        (3, ["2025-01-06T11:00:00Z", "2025-01-06T12:00:00Z", "2025-01-06T13:00:00Z"]),
    ],
)
def test_catch_up_policies_after_five_missed_hours(
    home: LocalBackend, set_clock: SetClock, catch_up: str | int, expected: list[str]
) -> None:
    home.apply([schedule(every="1h", catchUp=catch_up, overlap="allow")])
    set_clock.set(datetime(2025, 1, 6, 13, 20, tzinfo=UTC))  # 09:00 … 13:00 passed with no worker
    ScheduleFirer(home, clock=set_clock).tick()
    assert started(home) == expected


def test_catch_up_none_still_starts_a_fire_a_few_seconds_late(
    home: LocalBackend, set_clock: SetClock
) -> None:
    home.apply([schedule(every="1h")])
    set_clock.set(datetime(2025, 1, 6, 9, 0, 40, tzinfo=UTC))
    assert [f.outcome for f in ScheduleFirer(home, clock=set_clock).tick()] == ["started"]


def test_overlap_skip_drops_a_fire_while_the_last_run_goes_on(
    home: LocalBackend, set_clock: SetClock
) -> None:
    home.apply([schedule(every="1m", overlap="skip")])
    firer = ScheduleFirer(home, clock=set_clock)
    set_clock.set(datetime(2025, 1, 6, 8, 1, 1, tzinfo=UTC))
    [first] = firer.tick()
    set_clock.set(datetime(2025, 1, 6, 8, 2, 1, tzinfo=UTC))
    assert [f.outcome for f in firer.tick()] == ["skipped"]
    finish(home, home.get_execution(first.execution_id), datetime(2025, 1, 6, 8, 2, 30, tzinfo=UTC))
    set_clock.set(datetime(2025, 1, 6, 8, 2, 40, tzinfo=UTC))
    assert firer.tick() == [] or all(f.outcome == "skipped" for f in firer.tick())
    set_clock.set(datetime(2025, 1, 6, 8, 3, 1, tzinfo=UTC))
    assert [f.outcome for f in firer.tick()] == ["started"]
    assert started(home) == ["2025-01-06T08:01:00Z", "2025-01-06T08:03:00Z"]


def test_overlap_queue_starts_the_fire_when_the_last_run_ends(
    home: LocalBackend, set_clock: SetClock
) -> None:
    home.apply([schedule(every="1m", overlap="queue")])
    firer = ScheduleFirer(home, clock=set_clock)
    set_clock.set(datetime(2025, 1, 6, 8, 1, 1, tzinfo=UTC))
    [first] = firer.tick()
    set_clock.set(datetime(2025, 1, 6, 8, 2, 1, tzinfo=UTC))
    assert [f.outcome for f in firer.tick()] == ["waiting"]
    set_clock.set(datetime(2025, 1, 6, 8, 2, 50, tzinfo=UTC))
    finish(home, home.get_execution(first.execution_id), datetime(2025, 1, 6, 8, 2, 50, tzinfo=UTC))
    set_clock.set(datetime(2025, 1, 6, 8, 2, 55, tzinfo=UTC))
    assert [f.outcome for f in firer.tick()] == ["started"]
    assert started(home) == ["2025-01-06T08:01:00Z", "2025-01-06T08:02:00Z"]


def test_overlap_allow_starts_every_fire(home: LocalBackend, set_clock: SetClock) -> None:
    home.apply([schedule(every="1m", overlap="allow")])
    run_minutes(ScheduleFirer(home, clock=set_clock), set_clock, datetime(2025, 1, 6, 8, 1, tzinfo=UTC), 3)
    assert started(home) == ["2025-01-06T08:01:00Z", "2025-01-06T08:02:00Z", "2025-01-06T08:03:00Z"]


def test_a_paused_schedule_fires_nothing_and_does_not_catch_up_when_resumed(
    home: LocalBackend, set_clock: SetClock
) -> None:
    home.apply([schedule(every="1h", paused=True, catchUp="last")])
    firer = ScheduleFirer(home, clock=set_clock)
    set_clock.set(datetime(2025, 1, 6, 10, 0, 5, tzinfo=UTC))
    assert firer.tick() == []
    home.apply([schedule(every="1h", paused=False, catchUp="last")])
    assert firer.tick() == []
    set_clock.set(datetime(2025, 1, 6, 11, 0, 5, tzinfo=UTC))
    assert [f.outcome for f in firer.tick()] == ["started"]


def test_start_and_end_bound_the_fires(home: LocalBackend, set_clock: SetClock) -> None:
    home.apply(
        [schedule(every="1h", start="2025-01-06T10:30:00Z", end="2025-01-06T12:30:00Z", overlap="allow")]
    )
    run_minutes(
        ScheduleFirer(home, clock=set_clock),
        set_clock,
        datetime(2025, 1, 6, 8, 0, tzinfo=UTC),
        8 * 60,
        step=15,
    )
    # Intervals count from start.
    assert started(home) == ["2025-01-06T10:30:00Z", "2025-01-06T11:30:00Z", "2025-01-06T12:30:00Z"]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"cron": "61 * * * *"}, "spec.cron"),
        ({"cron": "0 9 * * 1", "every": "1h"}, "spec.cron"),
        ({"every": "soon"}, "spec.every"),
        ({"every": "1h", "timeZone": "Mars/Olympus"}, "spec.timeZone"),
        ({"every": "1h", "overlap": "sometimes"}, "spec.overlap"),
        ({"every": "1h", "catchUp": "all"}, "spec.catchUp"),
        ({"every": "1h", "inputs": {"week": "${nothing.here}"}}, "spec.inputs.week"),
        ({"every": "1h", "workflow": "", "agent": "writer"}, "spec.message"),
    ],
)
def test_a_bad_schedule_is_refused_and_nothing_is_written(
    home: LocalBackend, spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        home.apply([schedule(**spec)])
    assert caught.value.field == field
    assert home.list(Schedule).items == []


def test_a_schedule_whose_workflow_is_missing_fails_its_fire_and_others_still_fire(
    home: LocalBackend, set_clock: SetClock
) -> None:
    home.apply([schedule("orphan", every="1h", workflow="gone", inputs={}), schedule(every="1h")])
    set_clock.set(datetime(2025, 1, 6, 9, 0, 5, tzinfo=UTC))
    fires = {f.schedule: f for f in ScheduleFirer(home, clock=set_clock).tick()}
    assert fires["orphan"].outcome == "failed" and "gone" in fires["orphan"].error
    assert fires["weekly-digest"].outcome == "started"


def test_the_service_beside_a_worker_fires_and_reports_a_failing_fire_once(
    tmp_path: Path, home: LocalBackend, set_clock: SetClock
) -> None:
    from stigmer.triggers.schedules import ScheduleService

    home.apply([schedule("orphan", every="1h", workflow="gone", inputs={}), schedule(every="1h")])
    set_clock.set(datetime(2025, 1, 6, 9, 0, 5, tzinfo=UTC))
    said: list[str] = []
    service = ScheduleService(
        lambda: LocalBackend.open(tmp_path / "local.db", clock=set_clock), say=said.append, clock=set_clock
    )
    for _ in range(3):  # ticks as its thread would make them
        service.tick()
    service.close()
    assert len(said) == 2
    assert said[0].startswith("schedule orphan: the run for 2025-01-06T09:00:00+00:00 did not start")
    assert said[1].startswith("schedule weekly-digest fired for 2025-01-06T09:00:00+00:00: wex_")


def test_the_process_host_runs_schedules_beside_every_worker(tmp_path: Path) -> None:
    from stigmer.host.host import Host, HostOptions

    def opened() -> LocalBackend:
        return LocalBackend.open(tmp_path / "local.db")

    assert [s.name for s in Host(HostOptions(), open_backend=opened).services_beside_the_worker()] == [
        "schedules"
    ]
    with_retention = Host(HostOptions(retention_seconds=60), open_backend=opened)
    assert [s.name for s in with_retention.services_beside_the_worker()] == ["retention", "schedules"]
