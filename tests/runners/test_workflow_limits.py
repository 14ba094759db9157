"""A workflow's overall timeout, and what its runs used, on both engines."""

from __future__ import annotations

import pytest

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.protocol import Backend, ExecutionQuery
from stigmer.backend.runs import retried_execution
from stigmer.errors import InvalidArgument
from stigmer.resources.steps import output_of
from tests.builders import agent, workflow
from tests.clock import FakeClock, WallClock
from tests.runners.flows import Flows
from tests.runners.test_workflow_runner import phases

P = ExecutionPhase


@pytest.fixture
def clock() -> FakeClock:
    """The store's clock on the wall clock's time: a run's timeout counts from its recorded start."""
    return WallClock()


SLOW = [
    {"name": "first", "set": {"x": 1}},
    {"name": "pause", "dependsOn": ["first"], "wait": {"duration": "3s"}},
    {"name": "last", "dependsOn": ["pause"], "set": {"y": 2}},
]


def test_a_run_past_its_timeout_stops_failed_naming_it(flows: Flows) -> None:
    flows.apply("slow", SLOW, timeout="1s")
    done = flows.run("slow")
    assert (done.status.phase, done.status.error.code) == (P.FAILED, "LIMIT_TIME")
    assert done.status.error.message == "the workflow's timeout of 1s passed; stopped pause"
    # The journal holds what happened: the task cut short is recorded CANCELLED.
    assert phases(done) == {"first": "COMPLETED", "pause": "CANCELLED"}


def test_a_retry_with_a_longer_timeout_goes_on_from_the_stopped_task(flows: Flows) -> None:
    flows.apply("slow", SLOW, timeout="1s")
    stopped = flows.run("slow")
    assert stopped.status.error.code == "LIMIT_TIME"
    retry = retried_execution(flows.backend, stopped.metadata.id, timeout="1m")
    assert retry.spec.timeout == "1m"
    done = flows.resume(retry.metadata.id)
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert phases(done) == {"first": "COMPLETED", "pause": "COMPLETED", "last": "COMPLETED"}
    reused = [output_of(s).get("reusedFrom") for s in flows.backend.list_steps(done.metadata.id)]
    assert reused[0] == stopped.metadata.id  # `first` was not run again


def test_a_workflow_s_usage_is_the_sum_of_its_agent_runs(flows: Flows) -> None:
    flows.backend.apply([agent("echo", model="scripted")])
    flows.apply(
        "ask",
        [
            {"name": "one", "agent": "echo", "message": "hello"},
            {"name": "two", "agent": "echo", "message": "hello there"},
        ],
    )
    done = flows.run("ask")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    children = flows.backend.list_executions(ExecutionQuery(parent_execution_id=done.metadata.id)).items
    assert len(children) == 2
    usage = done.status.usage
    assert usage.model_calls == 2
    assert usage.input_tokens == sum(c.status.usage.input_tokens for c in children)
    assert usage.output_tokens == sum(c.status.usage.output_tokens for c in children)
    # No prices configured here: every call is unpriced, none is free.
    assert usage.unpriced_model_calls == 2


@pytest.mark.parametrize(("timeout", "why"), [("soon", "duration"), ("${workflow.inputs.t}", "expression")])
def test_a_malformed_timeout_is_refused_when_applied(backend: Backend, timeout: str, why: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        backend.apply([workflow("bad", timeout=timeout)])
    assert caught.value.field == "spec.timeout"
    assert why in str(caught.value) + (caught.value.hint or "")
