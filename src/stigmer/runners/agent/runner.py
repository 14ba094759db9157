"""The agent runner: model → tool calls → results, until a final answer.

One loop serves every engine: the local engine runs it in a worker, and each model turn,
tool call, approval and sub-agent run goes through :class:`DurableSteps`, so a run that
died resumes after its last recorded step and no completed tool call runs twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from stigmer import faults
from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution, ExecutionLimits
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.protocol import RunJournal
from stigmer.clock import Clock, utcnow
from stigmer.errors import InvalidArgument, StigmerError
from stigmer.mcp.types import McpServerError, Tool, ToolResult
from stigmer.models.registry import default_model, resolve_model, split_model
from stigmer.models.types import (
    ChatMessage,
    Finish,
    Model,
    ModelRequest,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    ToolSpec,
    UsageEvent,
)
from stigmer.prices import money
from stigmer.resources.codec import to_dict
from stigmer.resources.durations import parse_duration
from stigmer.resources.kinds import Execution
from stigmer.resources.steps import AGENT, APPROVAL, COMPLETED, MODEL, TOOL, WAITING, input_of, output_of
from stigmer.resources.trace_ids import run_trace_id, step_span_id, traceparent
from stigmer.runners.agent.asks import RunAsks
from stigmer.runners.agent.cancel import RunCancelled, unless_cancelled
from stigmer.runners.agent.durable import DurableSteps, reuse_steps
from stigmer.runners.agent.environment import RedactingSink, RedactingTools, RunEnvironment
from stigmer.runners.agent.events import (
    ApprovalNeeded,
    EventSink,
    InputNeeded,
    ToolFinished,
    ToolStarted,
    TurnEnded,
    ignore,
)
from stigmer.runners.agent.prompt import load_skills, session_history, system_prompt
from stigmer.runners.agent.sign_ins import attach_sign_ins
from stigmer.runners.agent.tools import (
    NoTools,
    SubAgentTool,
    ToolHost,
    server_specs,
    sub_agent_tools,
    with_sampler,
)
from stigmer.runners.settings import DEFAULTS, RunSettings
from stigmer.runners.usage import Tally

DEFAULT_MAX_TURNS = 25
STRUCTURED_OUTPUT_RETRIES = 2


ChildRunner = Callable[[str], Awaitable[Execution]]
"""Runs a child execution (by id) until it ends or waits for a person; its record then."""


class _Stop(Exception):
    """Ends the loop with a phase (and an error) that the runner records."""

    def __init__(self, phase: ExecutionPhase.ValueType, code: str = "", message: str = "") -> None:
        super().__init__(message)
        self.phase, self.code, self.message = phase, code, message


@dataclass
class _Run:
    execution: AgentExecution
    agent: Agent
    model: Model
    steps: DurableSteps
    messages: list[ChatMessage]
    env: RunEnvironment
    emit: EventSink
    tools: dict[str, Tool] = field(default_factory=dict)
    sub_agents: dict[str, SubAgentTool] = field(default_factory=dict)
    host: ToolHost = field(default_factory=NoTools)
    limits: ExecutionLimits = field(default_factory=ExecutionLimits)
    asks: RunAsks | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    turns: int = 0
    # What this run's model calls and sub-agents used (its record's usage) ...
    spent: Tally = field(default_factory=Tally)
    # ... and what the run it retries had used in the steps it replays: limits count both.
    reused: Tally = field(default_factory=Tally)

    def used(self) -> Tally:
        """Everything the conversation has used so far, for its limits."""
        both = Tally()
        both.add(self.spent)
        both.add(self.reused)
        return both

    def tally(self, step_output: dict[str, Any]) -> Tally:
        """Where a replayed step's usage counts: copied from the retried run, or this run's."""
        return self.reused if step_output.get("reusedFrom") else self.spent


class AgentRunner:
    """Runs claimed AgentExecutions to their end (or to an approval).

    Args:
        backend: Where the run's record lives.
        worker_id: The lease holder; every write is fenced by it.
        on_event: Live events (text deltas, tool calls) for a viewer.
        settings: The home's default model and model prices (config.yaml).
        clock: Where "now" comes from.
        run_child: Runs a sub-agent's child execution until it ends or waits, and returns
            its record; handed in by the engine (a runner starts no runs of its own).
    """

    def __init__(
        self,
        backend: RunJournal,
        *,
        worker_id: str,
        on_event: EventSink = ignore,
        settings: RunSettings = DEFAULTS,
        clock: Clock = utcnow,
        run_child: ChildRunner | None = None,
    ) -> None:
        self.backend = backend
        self.worker_id = worker_id
        self.run_child = run_child
        self.on_event = on_event
        self.settings = settings
        self.clock = clock
        # The environment of each run in progress, by execution id (read once, after the claim).
        self._environments: dict[str, RunEnvironment] = {}

    async def run(self, execution: AgentExecution) -> AgentExecution:
        """Carry a RUNNING (claimed) execution as far as it goes; return its record."""
        run_id = execution.metadata.id
        env = RunEnvironment()
        try:
            async with AsyncExitStack() as stack:
                env = RunEnvironment.load(self.backend, execution, self.worker_id)
                self._environments[run_id] = env
                run = await self._prepare(execution, stack)
                await self._loop(run)
        except _Stop as stop:
            return self._finish(execution, env, stop.phase, stop.code, stop.message)
        except StigmerError as exc:
            if isinstance(exc, McpServerError) and exc.waits_for_sign_in:
                return self._wait_for_sign_in(execution, env, exc)
            message = f"{exc}" + (f"\nHint: {exc.hint}" if exc.hint else "")
            return self._finish(execution, env, ExecutionPhase.FAILED, type(exc).__name__.upper(), message)
        finally:
            self._environments.pop(run_id, None)
        return self._finish(execution, env, ExecutionPhase.COMPLETED)

    def _wait_for_sign_in(
        self, execution: AgentExecution, env: RunEnvironment, exc: McpServerError
    ) -> AgentExecution:
        """Park the run until a person signs in to the server (`stigmer mcpserver login`, which
        queues it again); it then goes on from its last recorded step."""
        pending = execution.status.pending_input
        pending.Clear()
        pending.kind, pending.server = "sign-in", exc.server
        pending.message = env.redactor.text(exc.message.partition("\n--- stderr")[0])
        self.on_event(InputNeeded("sign-in", "", exc.server, pending.message))
        return self._finish(execution, env, ExecutionPhase.WAITING_APPROVAL)

    async def _prepare(self, execution: AgentExecution, stack: AsyncExitStack) -> _Run:
        env = self._environments[execution.metadata.id]
        emit = RedactingSink(self.on_event, env.redactor)
        stack.callback(emit.flush)
        agent = self.backend.get(Agent, execution.spec.agent)
        # References are resolved (or the run fails, naming the missing one) before any work.
        model = self._model(agent, execution, env)
        specs = with_sampler(env.servers(server_specs(self.backend, agent)), model)
        attach_sign_ins(specs, env, self.backend, execution.metadata.id, self.worker_id)
        execution.status.model = model.id
        limits = effective_limits(agent, execution)
        if limits.max_cost and self.settings.prices.of(model.id) is None:
            raise InvalidArgument(
                f"agent {agent.metadata.name!r} has a cost limit (maxCost {money(limits.max_cost)}), "
                f"but its model {model.id} has no price",
                field="limits.maxCost",
                hint=f"give it one in config.yaml of the home that runs it: "
                f"prices: {{{model.id}: {{input: DOLLARS, output: DOLLARS}}}} (per million tokens)",
            )
        recorded = self.backend.list_steps(execution.metadata.id)
        if execution.spec.retry_of and not recorded:
            recorded = reuse_steps(self.backend, execution, self.worker_id)
        steps = DurableSteps(
            self.backend, execution.metadata.id, self.worker_id, recorded, self.clock, redact=env.redact
        )
        system = system_prompt(agent, load_skills(self.backend, agent))
        messages = [ChatMessage("system", system), *session_history(self.backend, execution)]
        messages.append(ChatMessage("user", execution.spec.message))
        run = _Run(execution, agent, model, steps, messages, env, emit, limits=limits)
        if specs:
            run.asks = RunAsks(
                self.backend,
                execution,
                steps,
                worker_id=self.worker_id,
                clock=self.clock,
                emit=emit,
                holds={spec.name: spec.tool_timeout_s for spec in specs},
            )
            for spec in specs:
                spec.person = run.asks
            from stigmer.mcp.servers import ToolServers

            run.host = await stack.enter_async_context(ToolServers(specs))
        if env.redactor:
            run.host = RedactingTools(run.host, env.redactor)
        run.tools = {t.spec.name: t for t in run.host.tools()}
        run.sub_agents = {t.spec.name: t for t in sub_agent_tools(agent)}
        return run

    def _model(self, agent: Agent, execution: AgentExecution, env: RunEnvironment) -> Model:
        overridden = execution.spec.HasField("model")
        chosen = execution.spec.model if overridden else agent.spec.model
        options = to_dict(chosen.options) if chosen.HasField("options") else {}
        options = env.resolve(options, where=f"{'execution ' if overridden else 'agent '}spec.model.options")
        if chosen.provider:
            return resolve_model(chosen.provider, chosen.name, options)
        provider, name = split_model(default_model(self.settings.model)[0])
        return resolve_model(provider, name, options)

    def _tool_specs(self, run: _Run) -> list[ToolSpec]:
        return [t.spec for t in run.tools.values()] + [s.spec for s in run.sub_agents.values()]

    async def _loop(self, run: _Run) -> None:
        retries = 0
        while True:
            self._check_limits(run)
            text, calls = await self._model_turn(run)
            if calls:
                for call in calls:
                    result = await self._tool_call(run, call)
                    run.messages.append(
                        ChatMessage("tool", result.text, tool_call_id=call.id, is_error=result.is_error)
                    )
                continue
            keys = list(run.execution.spec.outputs)
            if keys:
                parsed = _structured(text, keys)
                if parsed is None:
                    retries += 1
                    if retries > STRUCTURED_OUTPUT_RETRIES:
                        raise _Stop(
                            ExecutionPhase.FAILED,
                            "INVALID_OUTPUT",
                            f"the answer is not JSON with keys {keys}",
                        )
                    run.messages.append(ChatMessage("user", _retry_prompt(keys)))
                    continue
                run.execution.status.outputs.Clear()
                run.execution.status.outputs.update(parsed)
            run.execution.status.output = text
            return

    def _check_limits(self, run: _Run) -> None:
        limits, used = run.limits, run.used()
        max_turns = limits.max_turns or DEFAULT_MAX_TURNS
        if run.turns >= max_turns:
            raise _limit(
                run, "LIMIT_TURNS", f"{run.turns} model calls made, the limit (maxTurns) is {max_turns}"
            )
        if limits.max_tokens and used.tokens >= limits.max_tokens:
            raise _limit(
                run,
                "LIMIT_TOKENS",
                f"{used.tokens} tokens used, the limit (maxTokens) is {limits.max_tokens}",
            )
        if limits.max_cost and used.cost >= limits.max_cost:
            raise _limit(
                run,
                "LIMIT_COST",
                f"{money(used.cost)} spent, the limit (maxCost) is {money(limits.max_cost)}",
            )
        if limits.timeout and run.execution.status.start_time.seconds:
            started = run.execution.status.start_time.ToDatetime(UTC)
            elapsed = (self.clock() - started).total_seconds()
            if elapsed >= parse_duration(limits.timeout, field="limits.timeout"):
                raise _limit(
                    run, "LIMIT_TIME", f"{elapsed:.1f}s elapsed, the limit (timeout) is {limits.timeout}"
                )
        # Every status write returns the stored record, which carries a cancel from anywhere.
        if run.execution.status.cancel_requested:
            raise _Stop(ExecutionPhase.CANCELLED, "CANCELLED", "cancelled while running")

    async def _model_turn(self, run: _Run) -> tuple[str, list[ToolCall]]:
        run.turns += 1
        recorded = run.steps.next(MODEL)
        if recorded is not None:
            out = output_of(recorded)
            text = str(out.get("text", ""))
            calls = [
                ToolCall(str(c["id"]), str(c["name"]), dict(c.get("arguments") or {}))
                for c in out.get("toolCalls", [])
            ]
            run.tally(out).add_call(dict(out.get("usage") or {}))
        else:
            started = self.clock()
            text, calls, usage_event, finish = await self._stream(run)
            recorded_usage: dict[str, Any] = {"unreported": True}
            if usage_event is not None:
                recorded_usage = {
                    "inputTokens": usage_event.input_tokens,
                    "outputTokens": usage_event.output_tokens,
                }
                cost = self.settings.prices.cost(
                    run.model.id, usage_event.input_tokens, usage_event.output_tokens
                )
                if cost is not None:
                    recorded_usage["cost"] = cost
            run.spent.add_call(recorded_usage)
            output = {
                "text": text,
                "toolCalls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls],
                "usage": recorded_usage,
                "stopReason": finish.stop_reason,
                "model": run.model.id,
            }
            if finish.model:
                output["responseModel"] = finish.model
            run.steps.record(MODEL, input={"turn": run.turns}, output=output, started=started)
            faults.hit("agent.model_recorded")
            self._save_usage(run)
            run.emit(TurnEnded(run.spent.input_tokens, run.spent.output_tokens))
        run.messages.append(ChatMessage("assistant", text, tool_calls=calls))
        return text, calls

    async def _stream(self, run: _Run) -> tuple[str, list[ToolCall], UsageEvent | None, Finish]:
        request = ModelRequest(messages=list(run.messages), tools=self._tool_specs(run))
        keys = list(run.execution.spec.outputs)
        if keys:
            request.output_schema = {
                "type": "object",
                "properties": {k: {"type": "string"} for k in keys},
                "required": keys,
            }
        text: list[str] = []
        calls: list[ToolCall] = []
        usage: UsageEvent | None = None  # None: the provider reported no usage
        finish = Finish()
        async for event in run.model.stream(request):
            if isinstance(event, TextDelta):
                text.append(event.text)
                run.emit(event)
            elif isinstance(event, ToolCallEvent):
                calls.append(event.call)
            elif isinstance(event, UsageEvent):
                usage = usage or UsageEvent()
                usage.input_tokens += event.input_tokens
                usage.output_tokens += event.output_tokens
            else:
                finish = event
        return "".join(text), calls, usage, finish

    async def _tool_call(self, run: _Run, call: ToolCall) -> ToolResult:
        tool = run.tools.get(call.name)
        sub = run.sub_agents.get(call.name)
        call_input = {"callId": call.id, "arguments": call.arguments, "server": tool.server if tool else ""}
        if tool is not None and tool.needs_approval:
            decision = run.steps.next(APPROVAL + call.name)
            if decision is None:
                run.steps.record(
                    APPROVAL + call.name, input=call_input, output={}, started=self.clock(), status=WAITING
                )
                decision = None
            if decision is None or decision.status == WAITING:
                self._pause_for_approval(run, call, tool.server)
            elif not output_of(decision).get("approved"):
                reason = str(output_of(decision).get("reason") or "no reason given")
                return self._tool_step(
                    run, call, call_input, ToolResult(f"the user rejected this call: {reason}", True)
                )
        if sub is not None:
            return await self._sub_agent(run, call, sub)
        # What the server asked a person during this call on an earlier pass comes first.
        asked = run.asks.recorded(call) if run.asks is not None else []
        recorded = run.steps.next(TOOL + call.name) if run.steps.replaying else None
        if recorded is not None:
            out = output_of(recorded)
            return ToolResult(str(out.get("text", "")), bool(out.get("isError", False)))
        started = self.clock()
        run.emit(ToolStarted(call.name, call.arguments, tool.server if tool else ""))
        t0 = time.perf_counter()
        if tool is None:
            offered = ", ".join([*run.tools, *run.sub_agents]) or "none"
            result = ToolResult(f"unknown tool {call.name!r}; the tools are: {offered}", is_error=True)
        else:
            result = await self._call_tool(run, call, tool.server, asked)
        run.steps.next(TOOL + call.name)
        run.emit(
            ToolFinished(call.name, result.text, result.is_error, int((time.perf_counter() - t0) * 1000))
        )
        run.steps.record(
            TOOL + call.name,
            input=call_input,
            output={"text": result.text, "isError": result.is_error},
            started=started,
        )
        faults.hit("agent.tool_recorded")
        return result

    async def _call_tool(self, run: _Run, call: ToolCall, server: str, asked: list[Any]) -> ToolResult:
        """Call an MCP tool; its server's requests of a person are answered through the journal
        (a request nobody answers in time parks the run: see :mod:`.asks`)."""
        task = asyncio.current_task()
        assert task is not None and run.asks is not None  # a run with MCP tools has servers to ask
        with run.asks.during(call, server, asked) as current:
            try:
                result = await unless_cancelled(
                    self.backend, run.execution.metadata.id, lambda: run.host.call(call.name, call.arguments)
                )
            except RunCancelled:
                raise _Stop(ExecutionPhase.CANCELLED, "CANCELLED", f"cancelled during {call.name}") from None
            except asyncio.CancelledError:
                if current.parked and task.uncancel() == 0:
                    raise _Stop(ExecutionPhase.WAITING_APPROVAL) from None
                raise
        faults.hit("agent.tool_called")
        return result

    def _tool_step(
        self, run: _Run, call: ToolCall, call_input: dict[str, Any], result: ToolResult
    ) -> ToolResult:
        if run.steps.next(TOOL + call.name) is None:
            run.steps.record(
                TOOL + call.name,
                input=call_input,
                output={"text": result.text, "isError": result.is_error},
                started=self.clock(),
            )
        return result

    def _pause_for_approval(self, run: _Run, call: ToolCall, server: str) -> None:
        pending = run.execution.status.pending_approval
        pending.Clear()
        pending.id, pending.name, pending.server, pending.approval = call.id, call.name, server, "pending"
        pending.arguments.update(call.arguments)
        run.emit(ApprovalNeeded(call.name, call.arguments))
        raise _Stop(ExecutionPhase.WAITING_APPROVAL)

    async def _sub_agent(self, run: _Run, call: ToolCall, sub: SubAgentTool) -> ToolResult:
        if self.run_child is None:
            raise _Stop(
                ExecutionPhase.FAILED,
                "NO_CHILD_RUNNER",
                f"sub-agent {call.name!r} cannot run: this runner was given no way to run child executions",
            )
        name = AGENT + call.name
        recorded = run.steps.next(name)
        call_input = {"callId": call.id, "arguments": call.arguments, "server": "agent", "agent": sub.agent}
        if recorded is not None and recorded.status != WAITING:
            out = output_of(recorded)
            run.tally(out).add(Tally.from_dict(dict(out.get("usage") or {})))
            return ToolResult(str(out.get("text", "")), bool(out.get("isError", False)))
        if recorded is not None:
            child_id = str(input_of(recorded).get("childExecutionId", ""))
        else:
            child = AgentExecution()
            child.spec.agent = sub.agent
            child.spec.message = str(call.arguments.get("message", ""))
            child.spec.parent_execution_id = run.execution.metadata.id
            child.spec.environment = run.execution.spec.environment
            parent = run.execution
            trace = run_trace_id(parent.metadata.id, parent.spec.trace_parent)
            child.spec.trace_parent = traceparent(trace, step_span_id(parent.metadata.id, run.steps.position))
            child_id = self.backend.create_execution(child).metadata.id
            call_input["childExecutionId"] = child_id
            run.steps.record(name, input=call_input, output={}, started=self.clock(), status=WAITING)
        run.emit(ToolStarted(call.name, call.arguments, "agent"))
        t0 = time.perf_counter()
        done = await self.run_child(child_id)
        assert isinstance(done, AgentExecution)
        failed = done.status.phase != ExecutionPhase.COMPLETED
        text = done.status.error.message if failed else done.status.output
        result = ToolResult(text or ExecutionPhase.Name(done.status.phase), is_error=failed)
        run.emit(
            ToolFinished(call.name, result.text, result.is_error, int((time.perf_counter() - t0) * 1000))
        )
        child_usage = Tally()
        child_usage.add(done.status.usage)
        step = run.steps.recorded[run.steps.position]
        step.status = COMPLETED
        step.output.update(
            run.env.redact({"text": result.text, "isError": result.is_error, "childExecutionId": child_id})
        )
        step.output.update({"usage": child_usage.to_dict()})
        step.end_time.FromDatetime(self.clock())
        self.backend.record_step(step, worker_id=self.worker_id)
        run.spent.add(child_usage)
        self._save_usage(run)
        return result

    def _save_usage(self, run: _Run) -> None:
        run.spent.to_usage(run.execution.status.usage)
        run.execution.CopyFrom(self.backend.update_execution_status(run.execution, worker_id=self.worker_id))

    def _finish(
        self,
        execution: AgentExecution,
        env: RunEnvironment,
        phase: ExecutionPhase.ValueType,
        code: str = "",
        message: str = "",
    ) -> AgentExecution:
        execution.status.phase = phase
        if phase != ExecutionPhase.WAITING_APPROVAL:
            execution.status.ClearField("pending_approval")
            execution.status.ClearField("pending_input")
            execution.status.end_time.FromDatetime(self.clock())
        if code:
            execution.status.error.code, execution.status.error.message = code, message
        env.redact_status(execution)
        execution.status.ClearField("messages")
        execution.status.ClearField("tool_calls")
        return self.backend.update_execution_status(execution, worker_id=self.worker_id)


def effective_limits(agent: Agent, execution: AgentExecution) -> ExecutionLimits:
    """The limits of a run: its agent's, each overridden by the execution's where it sets one."""
    limits = ExecutionLimits()
    limits.CopyFrom(agent.spec.limits)
    own = execution.spec.limits
    limits.max_turns = own.max_turns or limits.max_turns
    limits.max_tokens = own.max_tokens or limits.max_tokens
    limits.max_cost = own.max_cost or limits.max_cost
    limits.timeout = own.timeout or limits.timeout
    return limits


def _limit(run: _Run, code: str, what: str) -> _Stop:
    """Stop a run at one of its limits, saying how to go on past it."""
    option = {
        "LIMIT_TURNS": "--max-turns N",
        "LIMIT_TOKENS": "--max-tokens N",
        "LIMIT_COST": "--max-cost DOLLARS",
        "LIMIT_TIME": "--timeout DURATION",
    }[code]
    message = (
        f"stopped before model call {run.turns + 1}: {what}\n"
        f"Hint: continue it with a higher limit: stigmer execution retry {run.execution.metadata.id} {option}"
    )
    return _Stop(ExecutionPhase.FAILED, code, message)


def _structured(text: str, keys: list[str]) -> dict[str, Any] | None:
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or any(k not in data for k in keys):
        return None
    return data


def _retry_prompt(keys: list[str]) -> str:
    return f"Answer again with only a JSON object with the keys {', '.join(keys)}, each a string."


__all__ = ["DEFAULT_MAX_TURNS", "AgentRunner", "ChildRunner", "ToolHost", "effective_limits"]
