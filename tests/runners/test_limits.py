"""What runs cost, and the limits that stop them: each limit stops a scripted agent before the
model call past it, with its journal intact, and a retry with a higher limit goes on from there
without running a completed step again."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution, ExecutionLimits
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.protocol import ExecutionQuery
from stigmer.backend.runs import retried_agent_execution
from stigmer.engine.local import run_claimed
from stigmer.errors import InvalidArgument
from stigmer.models.types import ToolCall
from stigmer.prices import Price, Prices, parse_prices
from stigmer.resources.steps import MODEL, output_of
from stigmer.runners.agent.runner import AgentRunner
from stigmer.runners.settings import DEFAULTS, RunSettings
from tests.builders import agent
from tests.clock import FakeClock
from tests.runners.conftest import WORKER, Runs, calls, helpdesk, scripted

P = ExecutionPhase
# A dollar an input token and two an output token: costs are whole numbers of dollars.
PRICED = RunSettings(prices=Prices({"scripted": Price(input=1_000_000, output=2_000_000)}))
FIND = [calls("find_order", id=f"A-{i}") for i in range(1, 4)] + [{"text": "All three shipped."}]


def run(runs: Runs, name: str, message: str, settings: RunSettings = PRICED, **spec: Any) -> AgentExecution:
    return resume(runs, runs.create(name, message, **spec), settings)


def resume(runs: Runs, execution_id: str, settings: RunSettings = PRICED) -> AgentExecution:
    asyncio.run(run_claimed(runs.backend, execution_id, worker_id=WORKER, settings=settings))
    found = runs.backend.get_execution(execution_id)
    assert isinstance(found, AgentExecution)
    return found


def model_steps(runs: Runs, execution_id: str) -> list[dict[str, Any]]:
    return [output_of(s) for s in runs.backend.list_steps(execution_id) if s.name == MODEL]


def step_names(runs: Runs, execution_id: str) -> list[str]:
    return [s.name for s in runs.backend.list_steps(execution_id)]


def tool_calls(runs: Runs) -> list[str]:
    return [json.loads(line)["arguments"]["id"] for line in runs.tool_log()]


# -- cost ------------------------------------------------------------------------------------


def test_each_model_call_is_priced_and_the_run_shows_tokens_and_cost(runs: Runs) -> None:
    runs.agent("echo", model="scripted")
    done = run(runs, "echo", "hello there")
    usage = done.status.usage
    # In: "You answer questions." and "hello there"; out: "echo: hello there".
    assert (usage.input_tokens, usage.output_tokens, usage.model_calls) == (5, 3, 1)
    assert usage.cost == 5 * 1 + 3 * 2
    assert usage.unpriced_model_calls == 0
    (step,) = model_steps(runs, done.metadata.id)
    assert step["usage"] == {"inputTokens": 5, "outputTokens": 3, "cost": 11}


def test_a_model_without_a_price_is_counted_as_unpriced_not_free(runs: Runs) -> None:
    runs.agent("echo", model="scripted")
    done = run(runs, "echo", "hi", settings=DEFAULTS)
    assert done.status.usage.model_calls == 1
    assert (done.status.usage.cost, done.status.usage.unpriced_model_calls) == (0, 1)


def test_a_provider_wide_price_prices_its_models() -> None:
    prices = parse_prices({"ollama/*": {"input": 0}, "openai/gpt-4o-mini": {"input": 0.15, "output": 0.6}})
    assert prices.cost("openai/gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert prices.cost("ollama/qwen2.5:0.5b", 10, 10) == 0
    assert prices.cost("anthropic/claude-sonnet-4-5", 10, 10) is None


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (["openai/gpt-4o-mini"], "prices"),
        ({"openai/gpt-4o-mini": 0.15}, "prices.openai/gpt-4o-mini"),
        ({"openai/gpt-4o-mini": {"input": "cheap"}}, "prices.openai/gpt-4o-mini"),
        ({"openai/gpt-4o-mini": {"input": -1}}, "prices.openai/gpt-4o-mini"),
        ({"openai/gpt-4o-mini": {"in": 1}}, "prices.openai/gpt-4o-mini"),
    ],
)
def test_malformed_prices_are_refused_naming_the_model(value: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_prices(value, source="config.yaml")
    assert caught.value.field == field


def test_sub_agents_count_in_their_parent_s_usage(runs: Runs) -> None:
    runs.agent("echo", model="scripted", description="Repeats what it is told.")
    runs.agent("boss", model=scripted(calls("echo", message="ping"), {"text": "Done."}), subAgents=["echo"])
    done = run(runs, "boss", "delegate")
    assert done.status.phase == P.COMPLETED, done.status.error.message
    (child,) = runs.backend.list_executions(ExecutionQuery(parent_execution_id=done.metadata.id)).items
    own = sum(s["usage"]["cost"] for s in model_steps(runs, done.metadata.id))
    assert done.status.usage.model_calls == 2 + child.status.usage.model_calls
    assert done.status.usage.cost == own + child.status.usage.cost


# -- limits ----------------------------------------------------------------------------------


def test_the_turn_limit_stops_the_run_before_the_call_past_it(runs: Runs) -> None:
    runs.agent("finder", model=scripted(*FIND), mcpServers=[helpdesk(runs.log)], limits={"maxTurns": 2})
    done = run(runs, "finder", "find them")
    assert (done.status.phase, done.status.error.code) == (P.FAILED, "LIMIT_TURNS")
    assert done.status.error.message.startswith(
        "stopped before model call 3: 2 model calls made, the limit (maxTurns) is 2"
    )
    assert f"stigmer execution retry {done.metadata.id} --max-turns" in done.status.error.message
    # The journal holds every step up to the limit, each whole.
    assert step_names(runs, done.metadata.id) == ["model", "tool:find_order", "model", "tool:find_order"]
    assert tool_calls(runs) == ["A-1", "A-2"]


def _spent_after(runs: Runs, turns: int) -> tuple[int, float]:
    """Tokens and cost of the first ``turns`` model calls of the finder script, unlimited."""
    runs.agent("measure", model=scripted(*FIND), mcpServers=[helpdesk(runs.tmp_path / "m.log")])
    done = run(runs, "measure", "find them")
    usage = [s["usage"] for s in model_steps(runs, done.metadata.id)][:turns]
    return sum(u["inputTokens"] + u["outputTokens"] for u in usage), sum(u["cost"] for u in usage)


def test_the_token_limit_stops_the_run_once_its_tokens_are_spent(runs: Runs) -> None:
    tokens, _ = _spent_after(runs, 2)
    runs.agent("finder", model=scripted(*FIND), mcpServers=[helpdesk(runs.log)], limits={"maxTokens": tokens})
    done = run(runs, "finder", "find them")
    assert (done.status.phase, done.status.error.code) == (P.FAILED, "LIMIT_TOKENS")
    assert f"{tokens} tokens used, the limit (maxTokens) is {tokens}" in done.status.error.message
    assert len(model_steps(runs, done.metadata.id)) == 2
    assert tool_calls(runs) == ["A-1", "A-2"]


def test_the_cost_limit_stops_the_run_once_its_budget_is_spent(runs: Runs) -> None:
    _, cost = _spent_after(runs, 2)
    limit = cost - 1  # spent after two calls, not after one
    runs.agent("finder", model=scripted(*FIND), mcpServers=[helpdesk(runs.log)], limits={"maxCost": limit})
    done = run(runs, "finder", "find them")
    assert (done.status.phase, done.status.error.code) == (P.FAILED, "LIMIT_COST")
    assert f"${cost:,.2f} spent, the limit (maxCost) is ${limit:,.2f}" in done.status.error.message
    assert done.status.usage.cost == cost
    assert len(model_steps(runs, done.metadata.id)) == 2


def test_a_cost_limit_needs_a_price_for_the_model(runs: Runs) -> None:
    runs.agent("finder", model=scripted(*FIND), limits={"maxCost": 0.5})
    done = run(runs, "finder", "find them", settings=DEFAULTS)
    assert done.status.phase == P.FAILED
    assert "its model scripted has no price" in done.status.error.message
    assert "prices: {scripted: {input: DOLLARS, output: DOLLARS}}" in done.status.error.message
    assert step_names(runs, done.metadata.id) == []


def test_the_time_limit_stops_the_run_once_its_time_is_up(runs: Runs) -> None:
    clock = FakeClock(tick=timedelta(seconds=0))
    runs.agent("finder", model=scripted(*FIND), mcpServers=[helpdesk(runs.log)], limits={"timeout": "1m"})
    execution_id = runs.create("finder", "find them")
    claimed = runs.backend.claim_execution(WORKER, execution_id=execution_id)
    assert isinstance(claimed, AgentExecution)
    claimed.status.start_time.FromDatetime(clock.now)

    class Slow(AgentRunner):
        """Each model turn takes 25 seconds."""

        async def _model_turn(self, run: Any) -> tuple[str, list[ToolCall]]:
            clock.advance(timedelta(seconds=25))
            return await super()._model_turn(run)

    done = asyncio.run(Slow(runs.backend, worker_id=WORKER, clock=clock).run(claimed))
    assert (done.status.phase, done.status.error.code) == (P.FAILED, "LIMIT_TIME")
    assert "75.0s elapsed, the limit (timeout) is 1m" in done.status.error.message
    assert len(model_steps(runs, execution_id)) == 3


def test_an_execution_s_limits_override_its_agent_s_one_by_one(runs: Runs) -> None:
    runs.agent("finder", model=scripted(*FIND), limits={"maxTurns": 1, "maxTokens": 100_000})
    execution = AgentExecution()
    execution.spec.agent, execution.spec.message = "finder", "go"
    execution.spec.limits.max_turns = 2
    done = resume(runs, runs.backend.create_execution(execution).metadata.id)
    assert done.status.error.code == "LIMIT_TURNS"
    assert len(model_steps(runs, done.metadata.id)) == 2


# -- going on past a limit --------------------------------------------------------------------


def test_a_retry_with_a_higher_limit_goes_on_without_running_a_step_again(runs: Runs) -> None:
    runs.agent("finder", model=scripted(*FIND), mcpServers=[helpdesk(runs.log)], limits={"maxTurns": 2})
    stopped = run(runs, "finder", "find them")
    assert stopped.status.error.code == "LIMIT_TURNS"
    retry = retried_agent_execution(runs.backend, stopped.metadata.id, limits=ExecutionLimits(max_turns=10))
    assert (retry.spec.retry_of, retry.spec.limits.max_turns) == (stopped.metadata.id, 10)
    done = resume(runs, retry.metadata.id)
    assert done.status.phase == P.COMPLETED, done.status.error.message
    assert done.status.output == "All three shipped."
    # Each order was looked up once, across both runs.
    assert tool_calls(runs) == ["A-1", "A-2", "A-3"]
    steps = runs.backend.list_steps(done.metadata.id)
    assert [s.name for s in steps] == ["model", "tool:find_order"] * 3 + ["model"]
    assert [output_of(s).get("reusedFrom") for s in steps[:4]] == [stopped.metadata.id] * 4
    # Its record counts what it spent itself: its two model calls, not the replayed ones.
    assert done.status.usage.model_calls == 2
    assert [m.role for m in done.status.messages] == ["user"] + ["assistant", "tool"] * 3 + ["assistant"]
    # The run it retried stays as it ended.
    assert runs.backend.get_execution(stopped.metadata.id).status.error.code == "LIMIT_TURNS"


def test_a_retry_counts_the_replayed_steps_against_its_limits(runs: Runs) -> None:
    runs.agent("finder", model=scripted(*FIND), mcpServers=[helpdesk(runs.log)], limits={"maxTurns": 1})
    stopped = run(runs, "finder", "find them")
    retry = retried_agent_execution(runs.backend, stopped.metadata.id, limits=ExecutionLimits(max_turns=2))
    done = resume(runs, retry.metadata.id)
    assert (done.status.error.code, len(model_steps(runs, done.metadata.id))) == ("LIMIT_TURNS", 2)
    assert tool_calls(runs) == ["A-1", "A-2"]


def test_limits_out_of_bounds_are_refused_when_applied(runs: Runs) -> None:
    for limits, field in [
        ({"maxCost": -1}, "spec.limits.maxCost"),
        ({"maxTurns": -2}, "spec.limits.maxTurns"),
        ({"timeout": "soon"}, "spec.limits.timeout"),
        ({"timeout": "${workflow.inputs.t}"}, "spec.limits.timeout"),
    ]:
        with pytest.raises(InvalidArgument) as caught:
            runs.backend.apply([agent("bad", model="scripted", limits=limits)])
        assert caught.value.field == field
