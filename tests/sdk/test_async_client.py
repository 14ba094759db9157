"""The AsyncClient on the local backend and on a real server: the Client's essentials, awaited."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.errors import AlreadyExists, Conflict, ExecutionFailed, InvalidArgument, NotFound, StigmerError
from stigmer.sdk.aio import AsyncClient
from stigmer.sdk.events import Event, TaskChanged, TextDelta, ToolFinished, ToolStarted
from stigmer.testing import scripted, tool_call
from tests.builders import skill, workflow
from tests.clock import FakeClock
from tests.sdk.test_client import agent, helpdesk, joined, open_backend

T = TypeVar("T")
Scenario = Callable[[AsyncClient], Awaitable[T]]


@pytest.fixture
def run(backend_type: str, tmp_path: Path, clock: FakeClock) -> Callable[[Scenario[T]], T]:
    """Run a scenario with an AsyncClient on the backend under test, in a fresh event loop."""

    def run_scenario(scenario: Scenario[T]) -> T:
        backend = open_backend(backend_type, tmp_path, clock)

        async def main() -> T:
            async with AsyncClient(backend=backend) as client:
                return await scenario(client)

        try:
            return asyncio.run(main())
        finally:
            backend.close()

    return run_scenario


def test_resources_are_applied_read_listed_and_deleted(run: Callable[[Scenario[None]], None]) -> None:
    async def scenario(client: AsyncClient) -> None:
        outcomes = await client.apply(agent("bot", model="scripted"), skill("notes"))
        assert [o.action for o in outcomes] == ["created", "created"]
        assert (await client.agents.get("bot")).spec.model.provider == "scripted"
        await client.skills.apply(skill("tips", labels={"team": "cs"}))
        assert [s.metadata.name for s in await client.skills.list()] == ["notes", "tips"]
        assert [s.metadata.name async for s in client.skills.iter(labels={"team": "cs"})] == ["tips"]
        assert len(await client.skills.history("notes")) == 1
        assert (await client.skills.delete("notes")).metadata.name == "notes"
        with pytest.raises(NotFound):
            await client.skills.get("notes")

    run(scenario)


def test_errors_are_typed(run: Callable[[Scenario[None]], None]) -> None:
    async def scenario(client: AsyncClient) -> None:
        with pytest.raises(NotFound):
            await client.agents.get("missing")
        with pytest.raises(NotFound):
            await client.agents.execute("missing", "hello")
        await client.agents.create(agent("bot", model="scripted"))
        with pytest.raises(AlreadyExists):
            await client.agents.create(agent("bot", model="scripted"))
        stale = await client.agents.get("bot")
        await client.agents.apply(agent("bot", model="scripted", description="newer"))
        with pytest.raises(Conflict):
            await client.agents.update(stale)
        with pytest.raises(InvalidArgument) as bad:
            await client.agents.apply({"metadata": {"name": "x"}, "spec": {"instructions": "x", "bogus": 1}})
        assert bad.value.field == "spec.bogus"

    run(scenario)


def test_an_agent_run_is_awaited_and_streamed_in_order(
    run: Callable[[Scenario[None]], None], tmp_path: Path
) -> None:
    log = tmp_path / "helpdesk.log"

    async def scenario(client: AsyncClient) -> None:
        await client.agents.apply(
            agent("greeter", model=scripted("Hello!")),
            agent(
                "support",
                model=scripted(tool_call("find_order", id="A-1"), {"echoToolResult": True}),
                mcpServers=[helpdesk(log)],
            ),
        )
        done = await client.agents.execute("greeter", "hi", session="s1")
        assert done.status.phase == ExecutionPhase.COMPLETED
        assert done.status.output == "Hello!"
        # Many runs at once through one client.
        many = await asyncio.gather(
            *(client.agents.execute("greeter", f"n{i}", check=False) for i in range(4))
        )
        assert {r.status.output for r in many} == {"Hello!"}

        stream = client.agents.execute("support", "Where is A-1?", stream=True)
        with pytest.raises(StigmerError, match="iterate"):
            _ = stream.execution
        events: list[Event] = [event async for event in stream]
        assert [type(e) for e in joined(events)] == [ToolStarted, ToolFinished, TextDelta]
        assert isinstance(stream.execution, AgentExecution)
        assert stream.execution.status.phase == ExecutionPhase.COMPLETED
        assert stream.execution.status.output.startswith("Order A-1: ")
        assert [json.loads(line)["tool"] for line in log.read_text().splitlines()] == ["find_order"]

    run(scenario)


def test_approve_reject_and_cancel(run: Callable[[Scenario[None]], None], tmp_path: Path) -> None:
    async def scenario(client: AsyncClient) -> None:
        await client.agents.apply(
            agent(
                "refunder",
                model=scripted(tool_call("refund_order", id="A-1"), "Refunded."),
                mcpServers=[helpdesk(tmp_path / "helpdesk.log", approvalRequired=["refund_order"])],
            )
        )
        paused = await client.agents.execute("refunder", "refund A-1")
        assert paused.status.phase == ExecutionPhase.WAITING_APPROVAL
        done = await client.executions.approve(paused.metadata.id)
        assert isinstance(done, AgentExecution) and done.status.output == "Refunded."

        paused = await client.agents.execute("refunder", "refund A-1")
        rest = client.executions.reject(paused.metadata.id, "no", stream=True)
        assert isinstance(joined([e async for e in rest])[-1], TextDelta)
        assert rest.execution.status.phase == ExecutionPhase.COMPLETED

        paused = await client.agents.execute("refunder", "refund A-1")
        cancelled = await client.executions.cancel(paused.metadata.id)
        assert cancelled.status.phase == ExecutionPhase.CANCELLED
        kinds = {e.metadata.id: e.status.phase for e in await client.executions.list(kind="agent")}
        assert sorted(kinds.values()) == sorted([ExecutionPhase.COMPLETED] * 2 + [ExecutionPhase.CANCELLED])

    run(scenario)


def test_a_workflow_run_returns_its_outputs_and_failures_raise(run: Callable[[Scenario[None]], None]) -> None:
    async def scenario(client: AsyncClient) -> None:
        await client.workflows.apply(
            workflow(
                "greeting",
                [{"name": "greet", "set": {"text": "Hello ${workflow.inputs.who}"}}],
                inputs={"who": "string"},
                outputs={"greeting": "${tasks.greet.outputs.text}"},
            ),
            workflow("boom", [{"name": "fail", "set": {"x": "${1 / 0}"}}]),
        )
        done = await client.workflows.execute("greeting", {"who": "Ada"})
        assert isinstance(done, WorkflowExecution)
        assert done.status.outputs["greeting"] == "Hello Ada"

        stream = client.workflows.execute("greeting", {"who": "Bo"}, stream=True)
        changes = [e async for e in stream]
        assert changes and isinstance(changes[-1], TaskChanged) and changes[-1].name == "greet"
        assert stream.execution.status.outputs["greeting"] == "Hello Bo"

        with pytest.raises(ExecutionFailed) as failed:
            await client.workflows.execute("boom")
        assert failed.value.execution is not None
        assert failed.value.execution.status.phase == ExecutionPhase.FAILED
        unchecked = await client.workflows.execute("boom", check=False)
        assert unchecked.status.phase == ExecutionPhase.FAILED
        queued = await client.workflows.execute("greeting", {"who": "Cy"}, wait=False)
        assert queued.status.phase == ExecutionPhase.PENDING

    run(scenario)


def test_a_run_stopped_by_its_limit_goes_on_with_retry(run: Callable[[Scenario[None]], None]) -> None:
    async def scenario(client: AsyncClient) -> None:
        seeker = agent(
            "seeker",
            model=scripted(tool_call("nowhere"), "Gave up."),
            limits={"maxTurns": 1},
        )
        await client.agents.apply(seeker)
        stopped = await client.agents.execute("seeker", "Find it", check=False)
        assert stopped.status.error.code == "LIMIT_TURNS"
        done = await client.executions.retry(stopped.metadata.id, max_turns=2)
        assert isinstance(done, AgentExecution) and done.status.output == "Gave up."
        assert done.spec.limits.max_turns == 2 and done.spec.retry_of == stopped.metadata.id

    run(scenario)
