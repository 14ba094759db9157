"""`stigmer schedule …`, `get schedules` and `execution list --trigger`, as a user runs them."""

from __future__ import annotations

import signal
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.cli.helpers import Stigmer, table, workdir, write

FILES = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: digest}
spec:
  inputs: {week: string}
  tasks:
    - name: gather
      set: {summary: "Changes for ${workflow.inputs.week}"}
  outputs: {summary: "${tasks.gather.outputs.summary}"}
---
apiVersion: agentic.stigmer.ai/v1
kind: Schedule
metadata: {name: weekly-digest}
spec:
  cron: "0 9 * * 1"
  timeZone: Europe/Berlin
  workflow: digest
  inputs: {week: "${schedule.date}"}
"""


@pytest.fixture
def stigmer(tmp_path: Path) -> Stigmer:
    home = Stigmer(tmp_path / "home", workdir(tmp_path / "work"))
    write(home.cwd / "digest.yaml", FILES)
    home("apply", "-f", "digest.yaml")
    return home


def test_get_schedules_shows_the_next_fire_and_the_last_run(stigmer: Stigmer) -> None:
    [row] = table(stigmer("get", "schedules").out)
    assert row["WHEN"] == "0 9 * * 1 (Europe/Berlin)" and row["TARGET"] == "workflow/digest"
    assert row["NEXT FIRE"].endswith(("09:00 CET", "09:00 CEST")) and row["LAST RUN"] == "-"
    run_id = stigmer("schedule", "trigger", "weekly-digest", "-o", "json").json()["executionId"]
    [row] = table(stigmer("get", "schedules").out)
    assert row["LAST RUN"] == run_id
    shown = stigmer("get", "schedule", "weekly-digest", "-o", "json").json()
    assert len(shown["status"]["nextFireTimes"]) == 3 and shown["status"]["lastExecutionId"] == run_id


def test_schedule_next_lists_the_coming_fire_times_in_the_time_zone(stigmer: Stigmer) -> None:
    fires = stigmer("schedule", "next", "weekly-digest", "-n", "5", "-o", "json").json()
    assert len(fires) == 5
    for fire in fires:
        local = datetime.fromisoformat(fire["local"])
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    assert len(table(stigmer("schedule", "next", "weekly-digest").out)) == 5
    assert stigmer("schedule", "next", "weekly-digest", "-n", "2", "-o", "yaml").out.count("utc:") == 2


def test_pause_and_resume(stigmer: Stigmer) -> None:
    assert stigmer("schedule", "pause", "weekly-digest").out.strip() == "schedule/weekly-digest paused"
    [row] = table(stigmer("get", "schedules").out)
    assert (row["PAUSED"], row["NEXT FIRE"]) == ("yes", "-")
    assert "already paused" in stigmer("schedule", "pause", "weekly-digest").out
    stigmer("schedule", "resume", "weekly-digest")
    [row] = table(stigmer("get", "schedules").out)
    assert row["PAUSED"] == "no" and row["NEXT FIRE"] != "-"


def test_trigger_starts_one_run_that_execution_list_finds_by_trigger(stigmer: Stigmer) -> None:
    run_id = stigmer("schedule", "trigger", "weekly-digest").out.split()[-1]
    stigmer("workflow", "execute", "digest", "--input", "week=now", "--detach")
    by_schedule = stigmer(
        "execution", "list", "--trigger", "schedule", "--source", "weekly-digest", "-o", "json"
    )
    assert [r["metadata"]["id"] for r in by_schedule.json()] == [run_id]
    manual = stigmer("execution", "list", "--trigger", "manual", "-o", "json").json()
    assert len(manual) == 1 and manual[0]["spec"]["trigger"]["via"] == "cli"
    assert manual[0]["spec"]["trigger"]["actor"]
    rows = table(stigmer("execution", "list").out)
    assert sorted(r["TRIGGER"] for r in rows) == ["manual", "schedule/weekly-digest"]
    assert "Started by: schedule weekly-digest at" in stigmer("execution", "get", run_id).out


def test_bad_usage_is_refused(stigmer: Stigmer) -> None:
    assert stigmer("execution", "list", "--source", "weekly-digest", check=False).code == 2
    assert stigmer("execution", "list", "--trigger", "cron", check=False).code == 2
    missing = stigmer("schedule", "trigger", "nope", check=False)
    assert missing.code == 1 and "not found" in missing.err.lower()
    assert stigmer("execution", "list", "--trigger", "schedule", "-o", "json").json() == []


def test_a_worker_fires_a_due_schedule_and_the_run_completes(tmp_path: Path) -> None:
    home = Stigmer(tmp_path / "home", workdir(tmp_path / "work"))
    write(home.cwd / "digest.yaml", FILES.replace('cron: "0 9 * * 1"', "every: 1s\n  catchUp: last"))
    home("apply", "-f", "digest.yaml")
    worker = home.start("worker")
    try:
        deadline = time.monotonic() + 60
        runs: list[dict[str, object]] = []
        while time.monotonic() < deadline and not runs:
            listed = home("execution", "list", "--trigger", "schedule", "--phase", "completed", "-o", "json")
            runs = listed.json()
            time.sleep(0.2)
        assert runs, "the worker fired nothing"
        assert str(runs[0]["status"]["outputs"]["summary"]).startswith("Changes for 20")  # type: ignore[index]
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)
