"""Triggers on every backend: one run per fire, runs found by what started them, schedules as resources."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stigmer.api.schedule.v1.schedule_pb2 import Schedule
from stigmer.api.webhook.v1.webhook_pb2 import Webhook
from stigmer.backend.protocol import Backend, ExecutionQuery
from stigmer.errors import AlreadyExists, InvalidArgument
from stigmer.resources.provenance import trigger_labels
from stigmer.triggers.schedules import ScheduleFirer, new_run
from tests.builders import build, workflow, workflow_execution
from tests.clock import FakeClock

FIRE = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def digest(backend: Backend) -> Schedule:
    backend.apply(
        [
            workflow("digest", inputs={"week": "string"}),
            build(
                Schedule,
                "weekly",
                {"cron": "0 9 * * 1", "workflow": "digest", "inputs": {"week": "${schedule.date}"}},
            ),
        ]
    )
    return backend.get(Schedule, "weekly")


def test_a_schedule_fire_starts_one_run_and_a_second_attempt_is_refused(
    backend: Backend, digest: Schedule
) -> None:
    first = ScheduleFirer(backend).start(digest, FIRE)
    assert first.outcome == "started"
    with pytest.raises(AlreadyExists, match="already fired"):
        backend.create_execution(new_run(digest, FIRE))
    runs = backend.list_executions(ExecutionQuery(labels=trigger_labels("schedule", "weekly"))).items
    assert [r.metadata.id for r in runs] == [first.execution_id]
    assert runs[0].spec.inputs["week"] == "2025-01-06"


def test_runs_are_listed_by_trigger_and_manual_runs_record_their_writer(
    backend: Backend, digest: Schedule
) -> None:
    fired = ScheduleFirer(backend).start(digest, FIRE).execution_id
    manual = backend.create_execution(workflow_execution("digest", inputs={"week": "w1"}))
    assert manual.spec.trigger.type == "manual" and manual.spec.trigger.actor
    by_type = {
        t: [r.metadata.id for r in backend.list_executions(ExecutionQuery(labels=trigger_labels(t))).items]
        for t in ("manual", "schedule", "webhook")
    }
    assert by_type == {"manual": [manual.metadata.id], "schedule": [fired], "webhook": []}


def test_a_caller_cannot_forge_the_trigger_labels_or_a_half_trigger(
    backend: Backend, digest: Schedule
) -> None:
    forged = workflow_execution("digest", inputs={"week": "w"})
    forged.metadata.labels["stigmer.ai/trigger"] = "schedule"
    assert backend.create_execution(forged).metadata.labels["stigmer.ai/trigger"] == "manual"
    half = workflow_execution("digest", inputs={"week": "w"})
    half.spec.trigger.type = "webhook"
    with pytest.raises(InvalidArgument, match="source"):
        backend.create_execution(half)


def test_schedules_and_webhooks_are_resources_with_history(
    backend: Backend, digest: Schedule, clock: FakeClock
) -> None:
    backend.apply([build(Webhook, "prs", {"workflow": "digest", "environment": "hooks"})])
    paused = backend.get(Schedule, "weekly")
    paused.spec.paused = True
    backend.update(paused)
    assert [v.spec.operation for v in backend.history(Schedule, "weekly")] == ["create", "update"]
    assert backend.get(Schedule, "weekly").spec.paused
    backend.delete(Webhook, "prs")
    assert backend.list(Webhook).items == []


def test_a_schedule_of_a_missing_workflow_is_applied_with_a_warning(backend: Backend) -> None:
    [outcome] = backend.apply([build(Schedule, "early", {"every": "1h", "workflow": "later"})])
    assert outcome.warnings == ["spec.workflow refers to Workflow 'later', which does not exist (yet)"]
    backend.apply([workflow("later")])
    [ref] = backend.get(Schedule, "early").status.references
    assert (ref.kind, ref.name, ref.resolved) == ("Workflow", "later", True)
