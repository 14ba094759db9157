"""The agent loop with the scripted model: what a run does and what its record shows."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.backend.protocol import ExecutionQuery
from stigmer.models.types import TextDelta, ToolCall
from stigmer.runners.agent.events import RunEvent
from stigmer.runners.agent.prompt import system_prompt
from stigmer.runners.agent.runner import AgentRunner
from stigmer.runners.settings import RunSettings
from tests.builders import skill
from tests.clock import FakeClock
from tests.runners.conftest import WORKER, Runs, calls, scripted
from tests.server.embedded import stored_rows


def test_a_run_answers_and_its_record_shows_the_conversation(runs: Runs) -> None:
    runs.agent("echo", model="scripted")
    events: list[RunEvent] = []
    done = runs.run("echo", "hello there", events)
    assert done.status.phase == ExecutionPhase.COMPLETED
    assert done.status.output == "echo: hello there"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "echo: hello there"
    assert [(m.role, m.content) for m in done.status.messages] == [
        ("user", "hello there"),
        ("assistant", "echo: hello there"),
    ]
    assert done.status.usage.model_calls == 1
    assert done.status.model == "scripted"
    assert done.status.start_time.seconds and done.status.end_time.seconds


def test_the_default_model_is_the_configured_one(runs: Runs) -> None:
    runs.agent("plain")
    execution_id = runs.create("plain", "hi")
    claimed = runs.backend.claim_execution(WORKER, execution_id=execution_id)
    assert isinstance(claimed, AgentExecution)
    runner = AgentRunner(runs.backend, worker_id=WORKER, settings=RunSettings(model="scripted"))
    done = asyncio.run(runner.run(claimed))
    assert (done.status.model, done.status.output) == ("scripted", "echo: hi")


def test_skills_are_loaded_into_the_prompt(runs: Runs) -> None:
    runs.backend.apply([skill("tone", content="Always be brief. " * 5)])
    runs.agent("skilled", model="scripted", skills=["tone"])
    plain = runs.run("skilled", "hi")
    runs.agent("unskilled", model="scripted")
    without = runs.run("unskilled", "hi")
    # The skill went to the model under its heading: "## Skill: tone (version 1)" and 15 words.
    assert plain.status.usage.input_tokens == without.status.usage.input_tokens + 5 + 15
    prompt = system_prompt(runs.backend.get(Agent, "skilled"), [runs.backend.get(Skill, "tone")])
    assert prompt.startswith("You answer questions.\n\n## Skill: tone (version 1)\n\nAlways be brief.")


def test_a_missing_skill_fails_the_run_naming_it(runs: Runs) -> None:
    runs.agent("forgetful", model="scripted", skills=["no-such-skill"])
    done = runs.run("forgetful", "hi")
    assert done.status.phase == ExecutionPhase.FAILED
    assert "no-such-skill" in done.status.error.message
    assert done.status.usage.model_calls == 0


def test_a_missing_mcp_server_fails_the_run_naming_it(runs: Runs) -> None:
    runs.agent("lonely", model="scripted", mcpServers=["nowhere"])
    done = runs.run("lonely", "hi")
    assert done.status.phase == ExecutionPhase.FAILED
    assert "'nowhere'" in done.status.error.message


def test_an_unknown_tool_goes_back_to_the_model_as_an_error(runs: Runs) -> None:
    runs.agent("confused", model=scripted(calls("teleport", to="mars"), {"text": "Sorry."}))
    done = runs.run("confused", "go")
    assert done.status.phase == ExecutionPhase.COMPLETED
    assert done.status.output == "Sorry."
    (call,) = done.status.tool_calls
    assert call.is_error and "unknown tool 'teleport'" in call.result


def test_turn_limit_is_checked_before_the_model_call(runs: Runs) -> None:
    loop = [calls("teleport") for _ in range(5)]
    runs.agent("looper", model=scripted(*loop), limits={"maxTurns": 2})
    done = runs.run("looper", "go")
    assert done.status.phase == ExecutionPhase.FAILED
    assert done.status.error.code == "LIMIT_TURNS"
    models = [s for s in runs.backend.list_steps(done.metadata.id) if s.name == "model"]
    assert len(models) == 2


def test_token_limit_is_checked_before_the_model_call(runs: Runs) -> None:
    runs.agent("talker", model=scripted(calls("teleport"), calls("teleport")), limits={"maxTokens": 5})
    done = runs.run("talker", "one two three four five six")
    assert done.status.error.code == "LIMIT_TOKENS"
    assert done.status.usage.model_calls == 1


def test_time_limit_is_checked_before_the_model_call(runs: Runs) -> None:
    backend = runs.backend
    clock = FakeClock(tick=timedelta(seconds=0))
    runs.agent("slow", model=scripted(calls("teleport"), calls("teleport")), limits={"timeout": "1m"})
    execution_id = runs.create("slow", "go")
    claimed = backend.claim_execution(WORKER, execution_id=execution_id)
    assert isinstance(claimed, AgentExecution)
    claimed.status.start_time.FromDatetime(clock.now)

    class Sleepy(AgentRunner):
        """Each model turn takes a minute and a second."""

        async def _model_turn(self, run: Any) -> tuple[str, list[ToolCall]]:
            clock.advance(timedelta(seconds=61))
            return await super()._model_turn(run)

    done = asyncio.run(Sleepy(backend, worker_id=WORKER, clock=clock).run(claimed))
    assert done.status.error.code == "LIMIT_TIME"
    assert done.status.usage.model_calls == 1


def test_a_cancelled_run_stops_before_its_next_model_call(runs: Runs) -> None:
    runs.agent("echo", model="scripted")
    execution_id = runs.create("echo", "hi")
    claimed = runs.backend.claim_execution(WORKER, execution_id=execution_id)
    assert isinstance(claimed, AgentExecution)
    runs.backend.cancel_execution(execution_id)  # from elsewhere, while it runs
    claimed.status.cancel_requested = True  # what the worker's next status write returns
    done = asyncio.run(AgentRunner(runs.backend, worker_id=WORKER).run(claimed))
    assert done.status.phase == ExecutionPhase.CANCELLED
    assert runs.backend.list_steps(execution_id) == []


def test_structured_output_is_parsed_and_retried_when_invalid(runs: Runs) -> None:
    runs.agent("writer", model=scripted({"text": "Here you go!"}, {"text": '{"title": "T", "body": "B"}'}))
    execution = AgentExecution()
    execution.spec.agent, execution.spec.message = "writer", "notes"
    execution.spec.outputs.extend(["title", "body"])
    execution_id = runs.backend.create_execution(execution).metadata.id
    done = runs.resume(execution_id)
    assert done.status.phase == ExecutionPhase.COMPLETED
    assert dict(done.status.outputs) == {"title": "T", "body": "B"}
    assert done.status.usage.model_calls == 2


def test_sessions_carry_the_conversation(runs: Runs) -> None:
    runs.agent("echo", model="scripted")
    first = runs.run("echo", "one", session="chat")
    second = runs.run("echo", "two", session="chat")
    alone = runs.run("echo", "two")
    # The second run's prompt held the first exchange: "one" and "echo: one".
    assert second.status.usage.input_tokens == alone.status.usage.input_tokens + 3
    page = runs.backend.list_executions(ExecutionQuery(session="chat"))
    assert {e.metadata.id for e in page.items} == {first.metadata.id, second.metadata.id}


def test_sub_agents_run_as_child_executions(runs: Runs) -> None:
    runs.agent("echo", model="scripted", description="Repeats what it is told.")
    runs.agent(
        "boss",
        model=scripted(calls("echo", message="ping"), {"text": "The echo said pong-ish."}),
        subAgents=["echo"],
    )
    done = runs.run("boss", "delegate")
    assert done.status.phase == ExecutionPhase.COMPLETED
    (call,) = done.status.tool_calls
    assert (call.name, call.result, call.is_error) == ("echo", "echo: ping", False)
    children = runs.backend.list_executions(ExecutionQuery(parent_execution_id=done.metadata.id)).items
    assert [(c.spec.agent, c.status.phase) for c in children] == [("echo", ExecutionPhase.COMPLETED)]  # type: ignore[union-attr]


def test_a_changed_script_under_a_run_in_flight_is_refused(runs: Runs) -> None:
    runs.agent("fickle", model=scripted(calls("teleport"), {"text": "done"}))
    execution_id = runs.create("fickle", "go")
    claimed = runs.backend.claim_execution(WORKER, execution_id=execution_id)
    assert isinstance(claimed, AgentExecution)
    step = runs.backend.list_steps(execution_id)
    assert step == []
    # A first run records its model turn and its tool call, then "dies" (the lease expires).
    from stigmer.api.backend.v1.backend_pb2 import ExecutionStep

    recorded = ExecutionStep(execution_id=execution_id, step=1, name="tool:teleport", status="completed")
    runs.backend.record_step(recorded, worker_id=WORKER)
    done = asyncio.run(AgentRunner(runs.backend, worker_id=WORKER).run(claimed))
    assert done.status.phase == ExecutionPhase.FAILED
    assert "step 1 on record is 'tool:teleport'" in done.status.error.message


def test_each_message_is_stored_once(runs: Runs) -> None:
    turns = [calls("teleport", n=i) for i in range(6)] + [{"text": "done"}]
    runs.agent("chatty", model=scripted(*turns))
    done = runs.run("chatty", "go")
    assert len(done.status.messages) == 1 + 7 + 6
    with stored_rows(runs.backend) as conn:
        stored = conn.execute(
            "SELECT status FROM agent_executions WHERE id = ?", (done.metadata.id,)
        ).fetchone()[0]
    # The row's status holds the summary, not the conversation: it does not grow per turn.
    assert "messages" not in json.loads(stored) and "toolCalls" not in json.loads(stored)
    steps = runs.backend.list_steps(done.metadata.id)
    assert [s.name for s in steps].count("model") == 7
    assert len(steps) == 13


def test_the_agent_definition_is_read_when_the_run_starts(runs: Runs) -> None:
    runs.agent("echo", model="scripted")
    execution_id = runs.create("echo", "hi")
    updated = runs.backend.get(Agent, "echo")
    updated.spec.model.options.update({"script": [{"text": "changed"}]})
    runs.backend.update(updated)
    assert runs.resume(execution_id).status.output == "changed"
