"""Workflows run by each engine (local, and Temporal on a real dev server) against a real
store (both backends): what a run does and what its record shows, the same on every engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import TaskState, WorkflowExecution
from stigmer.backend.protocol import ExecutionQuery
from stigmer.errors import InvalidArgument
from stigmer.resources.codec import to_dict
from stigmer.resources.steps import plain
from tests.builders import agent, environment, workflow_execution
from tests.fixtures.http_counter import Hits, counting_server
from tests.runners.conftest import calls, helpdesk, scripted
from tests.runners.flows import Flows

FN = "tests.runners.workflow_functions"
P = ExecutionPhase


def outputs(execution: WorkflowExecution) -> dict[str, Any]:
    return dict(plain(to_dict(execution.status.outputs)))


def tasks(execution: WorkflowExecution) -> dict[str, TaskState]:
    return {t.name: t for t in execution.status.tasks}


def phases(execution: WorkflowExecution) -> dict[str, str]:
    return {t.name: P.Name(t.phase) for t in execution.status.tasks}


def task_outputs(state: TaskState) -> dict[str, Any]:
    return dict(plain(to_dict(state.outputs)))


def test_a_chain_passes_typed_values_from_task_to_task(flows: Flows) -> None:
    flows.apply(
        "chain",
        [
            {"name": "first", "set": {"n": "${workflow.inputs.count}", "who": "${workflow.inputs.who}"}},
            {
                "name": "second",
                "dependsOn": ["first"],
                "python": f"{FN}:add",
                "inputs": {"a": "${tasks.first.outputs.n}", "b": 10},
            },
            {"name": "third", "dependsOn": ["second"], "set": {"text": "sum=${tasks.second.output.sum}"}},
        ],
        inputs={"count": "integer", "who": {"type": "string", "default": "team"}},
        outputs={"sum": "${tasks.second.outputs.sum}", "text": "${tasks.third.outputs.text}"},
    )
    done = flows.run("chain", inputs={"count": 5})
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"sum": 15, "text": "sum=15"}
    assert phases(done) == {"first": "COMPLETED", "second": "COMPLETED", "third": "COMPLETED"}
    assert task_outputs(tasks(done)["first"]) == {"n": 5, "who": "team"}
    second = tasks(done)["second"]
    assert second.attempts == 1 and second.start_time.seconds and second.end_time.seconds
    assert done.spec.workflow_version == 1
    # The record shows what the run was given, defaults filled in.
    assert plain(to_dict(done.spec.inputs)) == {"count": 5, "who": "team"}


def test_inputs_are_checked_when_the_run_is_created(flows: Flows) -> None:
    flows.apply("typed", [{"name": "a", "set": {"x": 1}}], inputs={"count": "integer", "tag": "string"})
    with pytest.raises(InvalidArgument, match="missing input 'count'") as missing:
        flows.start("typed", inputs={"tag": "x"})
    assert missing.value.field == "inputs.count"
    with pytest.raises(InvalidArgument, match="must be a whole number"):
        flows.start("typed", inputs={"count": "many", "tag": "x"})
    with pytest.raises(InvalidArgument, match="unknown input 'cuont'"):
        flows.start("typed", inputs={"cuont": 1, "tag": "x"})
    # Text from a command line is read as the declared type.
    done = flows.run("typed", inputs={"count": "3", "tag": "x"})
    assert plain(to_dict(done.spec.inputs)) == {"count": 3, "tag": "x"}
    listed = flows.backend.list_executions(ExecutionQuery(kind="WorkflowExecution"))
    assert len(listed.items) == 1


def test_independent_tasks_run_at_the_same_time(flows: Flows) -> None:
    log = flows.file("met.log")

    def meet(name: str) -> dict[str, Any]:
        return {"python": f"{FN}:meet", "inputs": {"parties": 3, "log": log, "name": name}}

    flows.apply(
        "fan",
        [
            {"name": "a", **meet("a")},
            {"name": "b", **meet("b")},
            {"name": "c", **meet("c")},
            {
                "name": "join",
                "dependsOn": ["a", "b", "c"],
                "set": {"all": "${[tasks.a.outputs.met, tasks.b.outputs.met, tasks.c.outputs.met]}"},
            },
        ],
        outputs={"all": "${tasks.join.outputs.all}"},
    )
    # Each of a, b, c waits at a barrier for the other two: it completes only if all three run at once.
    done = flows.run("fan")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"all": ["a", "b", "c"]}
    assert sorted(Path(log).read_text().split()) == ["a", "b", "c"]


def test_a_switch_runs_the_chosen_branch_and_skips_the_other_to_its_end(flows: Flows) -> None:
    flows.apply(
        "route",
        [
            {
                "name": "route",
                "switch": {
                    "cases": [{"when": "workflow.inputs.amount > 100", "then": ["review"]}],
                    "default": ["auto"],
                },
            },
            {"name": "review", "set": {"path": "review"}},
            {"name": "auto", "set": {"path": "auto"}},
            {"name": "after-auto", "dependsOn": ["auto"], "set": {"x": 1}},
            {"name": "join", "dependsOn": ["review", "auto"], "set": {"done": True}},
            {
                "name": "never",
                "dependsOn": ["route"],
                "when": "${workflow.inputs.amount < 0}",
                "set": {"x": 1},
            },
        ],
        inputs={"amount": "number"},
    )
    big = flows.run("route", inputs={"amount": 500})
    assert big.status.phase == P.COMPLETED, big.status.error.message
    assert phases(big) == {
        "route": "COMPLETED",
        "review": "COMPLETED",
        "auto": "SKIPPED",
        "after-auto": "SKIPPED",
        "join": "COMPLETED",
        "never": "SKIPPED",
    }
    small = flows.run("route", inputs={"amount": 5})
    assert phases(small)["review"] == "SKIPPED" and phases(small)["after-auto"] == "COMPLETED"
    assert task_outputs(tasks(small)["route"]) == {"enabled": ["auto"], "case": "default"}


def test_for_each_runs_an_agent_per_item_and_keeps_their_order(flows: Flows) -> None:
    flows.backend.apply([agent("shouter", model="scripted")])
    flows.apply(
        "each",
        [
            {
                "name": "greet",
                "forEach": {
                    "items": "${workflow.inputs.names}",
                    "concurrency": 2,
                    "do": {"name": "hello", "agent": "shouter", "message": "hi ${item} (#${index})"},
                },
            }
        ],
        inputs={"names": "array"},
        outputs={"answers": "${tasks.greet.outputs.results}"},
    )
    done = flows.run("each", inputs={"names": ["ann", "bob", "cy"]})
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {
        "answers": [{"output": f"echo: hi {n} (#{i})"} for i, n in enumerate(["ann", "bob", "cy"])]
    }
    children = flows.backend.list_executions(
        ExecutionQuery(kind="AgentExecution", parent_execution_id=done.metadata.id)
    ).items
    assert len(children) == 3 and all(c.status.phase == P.COMPLETED for c in children)
    assert {tasks(done)[f"greet[{i}]"].child_execution_id for i in range(3)} == {
        c.metadata.id for c in children
    }


def test_for_each_concurrency_is_bounded(flows: Flows) -> None:
    log = flows.file("busy.log")
    flows.apply(
        "bounded",
        [
            {
                "name": "work",
                "forEach": {
                    "items": "${[1, 2, 3, 4, 5, 6]}",
                    "concurrency": 2,
                    "do": {"name": "one", "python": f"{FN}:busy", "inputs": {"key": "${item}", "log": log}},
                },
            }
        ],
    )
    done = flows.run("bounded")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    peaks = [int(line.split()[1]) for line in Path(log).read_text().splitlines()]
    assert len(peaks) == 6 and max(peaks) <= 2


def test_a_retry_succeeds_on_the_third_attempt(flows: Flows) -> None:
    counter = flows.file("flaky.count")
    flows.apply(
        "retry",
        [
            {
                "name": "flaky",
                "python": f"{FN}:flaky",
                "inputs": {"counter": counter, "fail_times": 2},
                "retry": {"maxAttempts": 3, "backoff": {"initial": "10ms", "jitter": True}},
            }
        ],
        outputs={"calls": "${tasks.flaky.outputs.calls}"},
    )
    done = flows.run("retry")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"calls": 3}
    assert tasks(done)["flaky"].attempts == 3


def test_a_failed_task_fails_the_run_unless_on_error_says_otherwise(flows: Flows) -> None:
    counter = flows.file("always.count")
    failing = {"python": f"{FN}:flaky", "inputs": {"counter": counter, "fail_times": 99}}
    flows.apply(
        "tolerant",
        [
            {"name": "optional", **failing, "onError": "continue"},
            {"name": "fallback", **failing, "onError": {"output": {"value": "default"}}},
            {
                "name": "after",
                "dependsOn": ["optional", "fallback"],
                "set": {"v": "${tasks.fallback.outputs.value}"},
            },
        ],
        outputs={"v": "${tasks.after.outputs.v}"},
    )
    done = flows.run("tolerant")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"v": "default"}
    assert (
        phases(done)["optional"] == "FAILED" and "fails on purpose" in tasks(done)["optional"].error.message
    )
    assert phases(done)["fallback"] == "COMPLETED"

    flows.apply(
        "strict",
        [
            {"name": "broken", **failing},
            {"name": "after", "dependsOn": ["broken"], "set": {"v": 1}},
        ],
    )
    failed = flows.run("strict")
    assert failed.status.phase == P.FAILED
    assert failed.status.error.code == "PYTHON_ERROR"
    assert "task 'broken' failed" in failed.status.error.message
    assert "after" not in phases(failed)


def test_a_task_timeout_fails_it(flows: Flows) -> None:
    flows.apply("slow", [{"name": "nap", "wait": {"duration": "30s"}, "timeout": "200ms"}])
    done = flows.run("slow")
    assert done.status.phase == P.FAILED
    assert tasks(done)["nap"].error.code == "TIMEOUT"


def test_an_approval_parks_the_run_until_a_person_decides(flows: Flows) -> None:
    flows.apply(
        "gated",
        [
            {"name": "prepare", "set": {"amount": 42}},
            {
                "name": "ok",
                "dependsOn": ["prepare"],
                "approval": {"message": "refund ${tasks.prepare.outputs.amount}?"},
            },
            {"name": "pay", "dependsOn": ["ok"], "set": {"by": "${tasks.ok.outputs.by}"}},
        ],
        outputs={"approved": "${tasks.ok.outputs.approved}"},
    )
    execution_id = flows.start("gated")
    parked = flows.resume(execution_id)
    assert parked.status.phase == P.WAITING_APPROVAL
    assert phases(parked) == {"prepare": "COMPLETED", "ok": "WAITING_APPROVAL"}
    steps = flows.backend.list_steps(execution_id)
    assert next(s for s in steps if s.name == "approval:ok").input["message"] == "refund 42?"

    flows.backend.resolve_approval(execution_id, approved=True, reason="fine")
    assert flows.get(execution_id).status.phase == P.PENDING
    done = flows.resume(execution_id)
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"approved": True}
    assert task_outputs(tasks(done)["ok"])["reason"] == "fine"

    rejected_id = flows.start("gated")
    flows.resume(rejected_id)
    flows.backend.resolve_approval(rejected_id, approved=False, reason="too much")
    rejected = flows.resume(rejected_id)
    assert rejected.status.phase == P.FAILED
    assert tasks(rejected)["ok"].error.code == "REJECTED" and "too much" in rejected.status.error.message


def test_an_approval_times_out_to_its_declared_outcome(flows: Flows) -> None:
    flows.apply(
        "timed",
        [{"name": "ok", "approval": {"message": "go?", "timeout": "100ms", "onTimeout": "approve"}}],
        outputs={"by": "${tasks.ok.outputs.by}"},
    )
    done = flows.run("timed")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"by": "timeout"}


def test_a_wait_survives_a_worker_that_dies_and_keeps_its_deadline(flows: Flows) -> None:
    flows.apply(
        "pause",
        [
            {"name": "nap", "wait": {"duration": "1s"}},
            {"name": "after", "dependsOn": ["nap"], "set": {"x": 1}},
        ],
    )
    execution_id = flows.start("pause")
    flows.die_while_running(execution_id, after=0.3)
    first = [s for s in flows.backend.list_steps(execution_id) if s.name == "start:nap"]
    assert len(first) == 1 and phases(flows.get(execution_id))["nap"] == "RUNNING"
    done = flows.resume(execution_id)
    assert done.status.phase == P.COMPLETED, done.status.error.message
    starts = [s for s in flows.backend.list_steps(execution_id) if s.name == "start:nap"]
    assert len(starts) == 1  # the timer was not started again
    assert task_outputs(tasks(done)["nap"])["until"] == first[0].input["until"]


def test_cancel_stops_running_tasks_and_their_children(flows: Flows) -> None:
    flows.apply(
        "child",
        [{"name": "nap", "wait": {"duration": "30s"}}],
    )
    flows.apply(
        "parent",
        [{"name": "sub", "workflow": "child"}, {"name": "nap", "wait": {"duration": "30s"}}],
    )
    execution_id = flows.start("parent")
    done = flows.cancel_while_running(execution_id, after=0.5)
    assert done.status.phase == P.CANCELLED
    assert phases(done) == {"sub": "CANCELLED", "nap": "CANCELLED"}
    child = flows.backend.get_execution(tasks(done)["sub"].child_execution_id)
    assert child.status.phase == P.CANCELLED


def test_a_child_workflow_returns_its_outputs(flows: Flows) -> None:
    flows.apply(
        "double",
        [
            {
                "name": "calc",
                "python": f"{FN}:add",
                "inputs": {"a": "${workflow.inputs.n}", "b": "${workflow.inputs.n}"},
            }
        ],
        inputs={"n": "integer"},
        outputs={"value": "${tasks.calc.outputs.sum}"},
    )
    flows.apply(
        "outer",
        [{"name": "twice", "workflow": "double", "inputs": {"n": 21}}],
        outputs={"answer": "${tasks.twice.outputs.value}"},
    )
    done = flows.run("outer")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"answer": 42}
    child = flows.backend.get_execution(tasks(done)["twice"].child_execution_id)
    assert isinstance(child, WorkflowExecution) and child.spec.parent_execution_id == done.metadata.id


def test_a_run_keeps_the_version_it_started_with(flows: Flows) -> None:
    flows.apply("versioned", [{"name": "a", "set": {"v": "one"}}], outputs={"v": "${tasks.a.outputs.v}"})
    execution_id = flows.start("versioned")
    flows.apply("versioned", [{"name": "a", "set": {"v": "two"}}], outputs={"v": "${tasks.a.outputs.v}"})
    assert outputs(flows.resume(execution_id)) == {"v": "one"}
    assert outputs(flows.run("versioned")) == {"v": "two"}


def test_an_agent_task_with_output_keys_gets_structured_outputs(flows: Flows) -> None:
    answer = json.dumps({"title": "Week 12", "body": "Faster runs."})
    flows.backend.apply([agent("writer", model=scripted({"text": answer}))])
    flows.apply(
        "notes",
        [{"name": "write", "agent": "writer", "message": "write", "outputs": ["title", "body"]}],
        outputs={"title": "${tasks.write.outputs.title}"},
    )
    done = flows.run("notes")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"title": "Week 12"}


@pytest.fixture
def http_server() -> Iterator[Hits]:
    with counting_server() as hits:
        yield hits


def test_an_http_task_sends_secrets_and_an_idempotency_key_and_records_no_secret(
    flows: Flows, http_server: Hits
) -> None:
    url, handler = http_server.url, http_server
    handler.fail_first = 1
    token = "tok-7d1e-very-secret"
    flows.backend.apply([environment("prod", secrets={"API_TOKEN": token}, variables={"REGION": "eu"})])
    flows.apply(
        "notify",
        [
            {
                "name": "post",
                "http": {
                    "method": "POST",
                    "url": url + "/hooks/${env.REGION}",
                    "headers": {"Authorization": "Bearer ${secrets.API_TOKEN}"},
                    "body": {"text": "hello", "n": 2},
                    "expectStatus": [201],
                },
                "retry": {"maxAttempts": 2, "backoff": {"initial": "10ms"}},
            }
        ],
        outputs={"status": "${tasks.post.outputs.status}", "echo": "${tasks.post.outputs.body.echo}"},
    )
    done = flows.run("notify", environment="prod")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert len(handler.requests) == 2
    assert handler.requests[1]["path"] == "/hooks/eu"
    assert handler.requests[1]["headers"]["Authorization"] == f"Bearer {token}"
    assert handler.requests[1]["body"] == {"text": "hello", "n": 2}
    assert handler.keys() == [f"{done.metadata.id}/post/1", f"{done.metadata.id}/post/2"]
    # The server echoed the token back: the record masks it.
    assert outputs(done) == {"status": 201, "echo": "Bearer ****"}
    recorded = json.dumps([to_dict(s) for s in flows.backend.list_steps(done.metadata.id)])
    assert token not in recorded and token not in json.dumps(to_dict(done))


def test_a_missing_secret_fails_the_run_before_any_task(flows: Flows, http_server: Hits) -> None:
    url, handler = http_server.url, http_server
    flows.backend.apply([environment("dev", variables={"REGION": "eu"})])
    flows.apply(
        "needs-token",
        [
            {"name": "first", "set": {"x": 1}},
            {
                "name": "post",
                "http": {"url": url, "headers": {"Authorization": "Bearer ${secrets.API_TOKEN}"}},
            },
        ],
    )
    done = flows.run("needs-token", environment="dev")
    assert done.status.phase == P.FAILED
    assert "API_TOKEN" in done.status.error.message and "dev" in done.status.error.message
    assert handler.requests == [] and list(done.status.tasks) == []


def test_a_retry_reuses_recorded_results_and_runs_the_rest_again(flows: Flows) -> None:
    counter = flows.file("calls.count")
    flows.apply(
        "fragile",
        [
            {"name": "costly", "python": f"{FN}:flaky", "inputs": {"counter": counter, "fail_times": 0}},
            {"name": "check", "dependsOn": ["costly"], "set": {"ok": "${workflow.inputs.good}"}},
            {
                "name": "gate",
                "dependsOn": ["check"],
                "python": f"{FN}:flaky",
                "inputs": {"counter": flows.file("gate.count"), "fail_times": 1},
            },
            {"name": "after", "dependsOn": ["gate"], "set": {"calls": "${tasks.costly.outputs.calls}"}},
        ],
        inputs={"good": "boolean"},
        outputs={"calls": "${tasks.after.outputs.calls}"},
    )
    failed = flows.run("fragile", inputs={"good": True})
    assert failed.status.phase == P.FAILED and phases(failed)["gate"] == "FAILED"

    retry = workflow_execution("fragile", inputs={"good": True}, retryOf=failed.metadata.id)
    done = flows.resume(flows.backend.create_execution(retry).metadata.id)
    assert done.status.phase == P.COMPLETED, done.status.error.message
    # costly ran once in all: its result came from the first run.
    assert outputs(done) == {"calls": 1} and Path(counter).read_text() == "1"
    assert phases(done) == {
        "costly": "COMPLETED",
        "check": "COMPLETED",
        "gate": "COMPLETED",
        "after": "COMPLETED",
    }

    again = workflow_execution("fragile", inputs={"good": True}, retryOf=done.metadata.id, retryFrom="costly")
    assert outputs(flows.resume(flows.backend.create_execution(again).metadata.id)) == {"calls": 2}

    flows.apply("fragile", [{"name": "other", "set": {"x": 1}}])
    latest = workflow_execution("fragile", retryOf=done.metadata.id, retryFrom="costly")
    bad = flows.resume(flows.backend.create_execution(latest).metadata.id)
    assert bad.status.phase == P.FAILED and "has no task 'costly'" in bad.status.error.message


def test_a_task_waits_for_the_tasks_its_expressions_read(flows: Flows) -> None:
    # No dependsOn: `report` reads `slow`, so it waits for it.
    flows.apply(
        "implicit",
        [
            {"name": "report", "set": {"text": "got ${tasks.slow.outputs.sum}"}},
            {"name": "slow", "python": f"{FN}:add", "inputs": {"a": 1, "b": 2}},
        ],
        outputs={"text": "${tasks.report.outputs.text}"},
    )
    done = flows.run("implicit")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"text": "got 3"}


def _refund_flow(flows: Flows) -> None:
    flows.backend.apply(
        [
            agent(
                "refunder",
                model=scripted(calls("refund_order", id="A-1"), {"text": "Refunded."}),
                mcpServers=[helpdesk(flows.tmp_path / "tools.log", approvalRequired=["refund_order"])],
            )
        ]
    )
    flows.apply(
        "refund",
        [{"name": "ask", "agent": "refunder", "message": "refund A-1"}],
        outputs={"answer": "${tasks.ask.output}"},
    )


def test_an_agent_task_waiting_for_a_tool_approval_parks_the_workflow(flows: Flows) -> None:
    _refund_flow(flows)
    execution_id = flows.start("refund")
    parked = flows.resume(execution_id)
    assert parked.status.phase == P.WAITING_APPROVAL
    child_id = tasks(parked)["ask"].child_execution_id
    assert flows.backend.get_execution(child_id).status.phase == P.WAITING_APPROVAL
    # Approving the workflow decides the approval its agent waits for, and queues both again.
    flows.backend.resolve_approval(execution_id, approved=True)
    assert flows.get(execution_id).status.phase == P.PENDING
    assert flows.backend.get_execution(child_id).status.phase == P.PENDING
    done = flows.resume(execution_id)
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"answer": "Refunded."}


def test_cancelling_a_parked_workflow_cancels_it_and_its_waiting_child_at_once(flows: Flows) -> None:
    _refund_flow(flows)
    execution_id = flows.start("refund")
    parked = flows.resume(execution_id)
    child_id = tasks(parked)["ask"].child_execution_id
    cancelled = flows.cancel(execution_id)
    assert cancelled.status.phase == P.CANCELLED
    assert flows.backend.get_execution(child_id).status.phase == P.CANCELLED
    assert flows.backend.claim_execution("other:2:w") is None


def test_for_each_items_whose_when_is_false_are_skipped(flows: Flows) -> None:
    flows.apply(
        "evens",
        [
            {
                "name": "each",
                "forEach": {
                    "items": "${[1, 2, 3, 4]}",
                    "do": {"name": "one", "when": "item % 2 == 0", "set": {"half": "${item / 2}"}},
                },
            }
        ],
        outputs={"results": "${tasks.each.outputs.results}"},
    )
    done = flows.run("evens")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"results": [{}, {"half": 1}, {}, {"half": 2}]}
    assert phases(done)["each[0]"] == "SKIPPED" and phases(done)["each[1]"] == "COMPLETED"


def test_a_watch_reports_an_approval_decided_after_later_steps(flows: Flows) -> None:
    from stigmer.backend.watch import ExecutionWatch

    flows.apply(
        "branches",
        [
            {"name": "ok", "approval": {"message": "go?"}},
            {"name": "other", "python": f"{FN}:add", "inputs": {"a": 1, "b": 2}},
        ],
    )
    execution_id = flows.start("branches")
    flows.resume(execution_id)  # ok waits; other's steps come after the approval's; it parks
    names = [s.name for s in flows.backend.list_steps(execution_id)]
    assert names.index("approval:ok") < names.index("end:other")
    watch = ExecutionWatch(execution_id)
    first = [e.step.name for e in watch.poll(flows.backend) if e.HasField("step")]
    assert "approval:ok" in first
    flows.backend.resolve_approval(execution_id, approved=True)
    decided = [e.step for e in watch.poll(flows.backend) if e.HasField("step")]
    assert [(s.name, s.status) for s in decided] == [("approval:ok", "completed")]


def test_an_approval_in_a_child_workflow_parks_the_parent_and_is_decided_through_it(flows: Flows) -> None:
    flows.apply(
        "gate",
        [{"name": "ok", "approval": {"message": "ship it?"}}],
        outputs={"by": "${tasks.ok.outputs.by}"},
    )
    flows.apply(
        "release",
        [
            {"name": "check", "workflow": "gate"},
            {"name": "ship", "dependsOn": ["check"], "set": {"shipped": True}},
        ],
        outputs={"shipped": "${tasks.ship.outputs.shipped}"},
    )
    execution_id = flows.start("release")
    parked = flows.resume(execution_id)
    assert parked.status.phase == P.WAITING_APPROVAL
    child_id = tasks(parked)["check"].child_execution_id
    assert flows.backend.get_execution(child_id).status.phase == P.WAITING_APPROVAL
    flows.backend.resolve_approval(execution_id, approved=True, reason="fine")
    done = flows.resume(execution_id)
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"shipped": True}
    assert flows.backend.get_execution(child_id).status.phase == P.COMPLETED


def test_a_long_run_on_temporal_continues_as_new_and_repeats_nothing(
    flows: Flows, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine == "temporal":  # a run's Temporal history starts afresh every 40 events or so
        monkeypatch.setenv("STIGMER_TEMPORAL_HISTORY_EVENTS", "40")
    log = flows.file("busy.log")
    chain: list[dict[str, Any]] = [{"name": "t0", "set": {"v": 0}}]
    chain += [
        {"name": f"t{i}", "dependsOn": [f"t{i - 1}"], "set": {"v": f"${{tasks.t{i - 1}.outputs.v + 1}}"}}
        for i in range(1, 25)
    ]
    fan = {
        "name": "fan",
        "dependsOn": ["t24"],
        "forEach": {
            "items": "${[1, 2, 3, 4, 5, 6]}",
            "concurrency": 3,
            "do": {"name": "one", "python": f"{FN}:busy", "inputs": {"key": "${item}", "log": log}},
        },
    }
    flows.apply("long", [*chain, fan], outputs={"v": "${tasks.t24.outputs.v}"})
    done = flows.run("long")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert outputs(done) == {"v": 24}
    ends = [s.name for s in flows.backend.list_steps(done.metadata.id) if s.name.startswith("end:")]
    assert len(ends) == len(set(ends)) == 25 + 1 + 6  # every task and item ended once
    assert sorted(Path(log).read_text().split()[::2]) == ["1", "2", "3", "4", "5", "6"]


def test_a_child_run_never_records_a_secret_its_parent_passed_it(flows: Flows) -> None:
    token = "tok-child-4f2a-secret"
    flows.backend.apply([environment("prod", secrets={"API_TOKEN": token}), agent("echo", model="scripted")])
    flows.apply(
        "inner", [{"name": "a", "set": {"got": "${workflow.inputs.token}"}}], inputs={"token": "string"}
    )
    flows.apply(
        "outer",
        [
            {"name": "ask", "agent": "echo", "message": "use ${secrets.API_TOKEN}"},
            {"name": "sub", "workflow": "inner", "inputs": {"token": "${secrets.API_TOKEN}"}},
        ],
        outputs={"answer": "${tasks.ask.output}"},
    )
    done = flows.run("outer", environment="prod")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    # Values from secrets are masked in what a child's spec records: pass secrets to a child
    # through its own environment, not through its message or inputs.
    assert outputs(done) == {"answer": "echo: use ****"}
    children = flows.backend.list_executions(ExecutionQuery(parent_execution_id=done.metadata.id)).items
    assert len(children) == 2
    recorded = json.dumps([to_dict(flows.backend.get_execution(c.metadata.id)) for c in children])
    assert token not in recorded and "****" in recorded
