"""`stigmer execution list|get|logs|approve|reject|respond|resume|cancel|prune`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from stigmer.cli.context import (
    App,
    echo_result,
    no_wait_option,
    output_option,
    parse_pairs,
    pass_app,
    result_output_option,
)
from stigmer.cli.reads import list_executions, show_execution

if TYPE_CHECKING:
    from stigmer.resources.kinds import Execution

PHASES = ("pending", "running", "waiting_approval", "completed", "failed", "cancelled")


@click.group()
def execution() -> None:
    """List, inspect, cancel and prune agent and workflow executions."""


@execution.command("list")
@click.option(
    "--kind", type=click.Choice(["agent", "workflow"]), help="Only agent or only workflow executions."
)
@click.option(
    "--phase", type=click.Choice(PHASES, case_sensitive=False), help="Only executions in this phase."
)
@click.option("--parent", default="", metavar="ID", help="Only executions started by this execution.")
@click.option("--definition", default="", metavar="NAME", help="Only executions of this agent or workflow.")
@click.option("-l", "--selector", multiple=True, metavar="KEY=VALUE", help="Only executions with this label.")
@click.option(
    "--trigger",
    type=click.Choice(["manual", "schedule", "webhook"]),
    help="Only runs started by a person, a Schedule or a Webhook.",
)
@click.option(
    "--source", default="", metavar="NAME", help="With --trigger: only runs of this Schedule or Webhook."
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most this many."
)
@output_option
@pass_app
def list_(
    app: App,
    kind: str | None,
    phase: str | None,
    parent: str,
    definition: str,
    selector: tuple[str, ...],
    trigger: str | None,
    source: str,
    limit: int,
    output: str | None,
) -> None:
    """List executions, newest first.

    \b
    Examples:
      stigmer execution list --trigger schedule --source weekly-digest
      stigmer execution list --trigger webhook --phase failed
    """
    labels = parse_pairs(selector, option="--selector")
    if source and not trigger:
        raise click.UsageError("--source goes with --trigger schedule or --trigger webhook")
    if trigger:
        from stigmer.resources.provenance import trigger_labels

        labels.update(trigger_labels(trigger, source))
    list_executions(
        app,
        kind=kind or "",
        phase=phase or "",
        labels=labels,
        limit=limit,
        fmt=app.output(output),
        parent=parent,
        definition=definition,
    )


@execution.command("get")
@click.argument("execution_id", metavar="ID")
@output_option
@pass_app
def get(app: App, execution_id: str, output: str | None) -> None:
    """Show the execution ID (its spec, phase, outputs and errors)."""
    show_execution(app, execution_id, app.output(output))


def _print_step(step: Any) -> None:
    from stigmer.cli.runs import _short
    from stigmer.resources.steps import (
        AGENT,
        APPROVAL,
        ASKS,
        MODEL,
        TOOL,
        WAITING,
        input_of,
        output_of,
    )
    from stigmer.resources.workflow_steps import END, START

    out, inp = output_of(step), input_of(step)
    if step.name.startswith(START):
        attempt = int(inp.get("attempt", 1))
        child = f" → {inp['childExecutionId']}" if inp.get("childExecutionId") else ""
        again = f" (attempt {attempt})" if attempt > 1 else ""
        click.secho(f"▶ {step.name[len(START) :]}{again}{child}", err=True, fg="cyan")
        return
    if step.name.startswith(END):
        phase = str(out.get("phase", "COMPLETED"))
        retry = f"; retrying at {out['retryAt']}" if out.get("retryAt") else ""
        detail = f": {step.error}" if step.error else ""
        colour = {"COMPLETED": "green", "SKIPPED": None}.get(phase, "red")
        click.secho(f"■ {step.name[len(END) :]} {phase}{detail}{retry}", err=True, fg=colour)
        if phase == "COMPLETED" and out.get("outputs"):
            click.echo(f"  {_short(out['outputs'])}")
        return
    if step.name == MODEL:
        if out.get("text"):
            click.echo(str(out["text"]))
        return
    tool = step.name.partition(":")[2]
    if step.name.startswith(APPROVAL):
        if step.status == WAITING:
            what = inp.get("message") or _short(inp.get("arguments", {}))
            click.secho(f"⏸ {tool} {what} waits for approval", err=True, fg="yellow")
        else:
            verdict = "approved" if out.get("approved") else f"rejected ({out.get('reason') or 'no reason'})"
            click.secho(f"✓ {tool} {verdict} by {out.get('by', '?')}", err=True, fg="yellow")
    elif step.name.startswith(ASKS):
        _print_ask(step, tool, inp, out)
    elif step.name.startswith((TOOL, AGENT)):
        if step.status == WAITING:
            click.secho(f"→ {tool} {_short(inp.get('arguments', {}))} (running)", err=True, fg="cyan")
            return
        click.secho(f"→ {tool} {_short(inp.get('arguments', {}))}", err=True, fg="cyan")
        mark, colour = ("✗", "red") if out.get("isError") else ("←", "green")
        click.secho(f"{mark} {tool}: {_short(out.get('text', ''))}", err=True, fg=colour)


def _print_ask(step: Any, tool: str, inp: dict[str, Any], out: dict[str, Any]) -> None:
    """A request an MCP server made of a person during a tool call, and its answer."""
    from stigmer.cli.runs import _short, asked
    from stigmer.resources.steps import ELICITATION, WAITING
    from stigmer.runners.agent.events import input_needed

    server = inp.get("server", "?")
    if step.status == WAITING:
        click.secho(f"⏸ {asked(input_needed(step))}", err=True, fg="yellow")
    elif step.name.startswith(ELICITATION):
        content = f": {_short(out['content'])}" if out.get("content") else ""
        by = f" by {out['by']}" if out.get("by") else f" ({out.get('unanswered', '')})"
        action = out.get("action")
        click.secho(f"✓ {server}'s request during {tool}: {action}{by}{content}", err=True, fg="yellow")
    else:
        verdict = "approved" if out.get("approved") else f"rejected ({out.get('reason') or 'no reason'})"
        click.secho(f"✓ {server}'s sampling request during {tool} {verdict}", err=True, fg="yellow")


@execution.command("logs")
@click.argument("execution_id", metavar="ID")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new steps until the execution ends.")
@output_option
@pass_app
def logs(app: App, execution_id: str, follow: bool, output: str | None) -> None:
    """Show the steps of the execution ID: answers, tool calls and results, approvals.

    With -f, follow a run in progress (in this or another process, or on the server) until
    it ends; through a server, a lost connection is reconnected and the steps continue
    where they left off.
    """
    from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
    from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
    from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
    from stigmer.cli.output import dump_json, dump_yaml
    from stigmer.resources.codec import to_dict

    fmt = app.output(output)
    execution = app.backend.get_execution(execution_id)
    if isinstance(execution, AgentExecution):
        click.secho(f"AgentExecution {execution_id} of {execution.spec.agent}", err=True, dim=True)
        if fmt == "table":
            click.secho(f"> {execution.spec.message}", err=True, bold=True)
    else:
        click.secho(f"WorkflowExecution {execution_id} of {execution.spec.workflow}", err=True, dim=True)

    def show(steps: list[ExecutionStep]) -> None:
        if fmt == "table":
            for step in steps:
                _print_step(step)
        elif steps:
            data = [to_dict(s) for s in steps]
            click.echo(dump_json(data) if fmt == "json" else dump_yaml(data).rstrip("\n"))

    phase = execution.status.phase
    if follow:
        import asyncio

        phase = asyncio.run(_follow_steps(app, execution_id, show)).status.phase
    else:
        show(app.backend.list_steps(execution_id))
    if fmt == "table":
        click.secho(f"— {ExecutionPhase.Name(phase)}", err=True, dim=True)


async def _follow_steps(app: App, execution_id: str, show: Callable[[list[Any]], None]) -> Execution:
    """Show a run's steps as they are recorded until it is finished (through approvals),
    whoever runs it; nothing is run here. Its final record."""
    from stigmer.cli.runs import say_connection
    from stigmer.engine.drive import drive
    from stigmer.runners.events import ConnectionLost, PhaseChanged, Reconnected, StepRecorded

    where = f"the server at {app.config.server}" if app.config.backend == "cloud" else "the store"
    final = None
    events = drive(
        app.backend,
        execution_id,
        run_here=False,
        after_sequence=0,
        wait_for_decision=True,
        watch_tasks=False,
        steps=True,
    )
    async for event in events:
        if isinstance(event, StepRecorded):
            show([event.step])  # a waiting step shows again once it completes
        elif isinstance(event, PhaseChanged):
            final = event.execution
        elif isinstance(event, ConnectionLost | Reconnected):
            say_connection(event, where)
    assert final is not None  # drive reports the phase before it stops
    return final


@execution.command("trace")
@click.argument("execution_id", metavar="ID")
@click.option(
    "--width", type=click.IntRange(min=10, max=400), default=40, show_default=True, help="Width of the bars."
)
@output_option
@pass_app
def trace(app: App, execution_id: str, width: int, output: str | None) -> None:
    """Show where the time and money of the execution ID went: a waterfall of its spans.

    Built from the run's journal (no collector needed): the run, its task attempts, model
    calls, tool calls and approvals, and the runs it started (sub-agents, agent tasks, child
    workflows), each with its start, duration, tokens and cost. -o json|yaml gives the tree
    with each span's OpenTelemetry attributes; the dashboard draws the same waterfall.

    \b
    Examples:
      stigmer execution trace wex_01…
      stigmer execution trace aex_01… -o json | jq '.root.children[] | {name, durationMs}'
    """
    from datetime import UTC, datetime

    from stigmer.cli.output import dump_json, dump_yaml
    from stigmer.telemetry.trace import build_trace

    now = datetime.now(UTC)
    found = build_trace(app.backend, execution_id)
    fmt = app.output(output)
    if fmt != "table":
        data = found.to_dict(now)
        click.echo(dump_json(data) if fmt == "json" else dump_yaml([data]).rstrip("\n"))
        return
    import sys

    from rich.console import Console

    from stigmer.cli.waterfall import headline, waterfall

    click.echo(headline(found, now))
    # Piped, the table keeps its natural width rather than a terminal's 80 columns.
    Console(width=None if sys.stdout.isatty() else 400).print(waterfall(found, now, width))
    if found.runs_left_out:
        click.echo(f"{found.runs_left_out} more child runs are not shown.", err=True)


@execution.command("approve")
@click.argument("execution_id", metavar="ID")
@click.option("--detach", is_flag=True, help="Only record the decision; a worker continues the run.")
@no_wait_option
@output_option
@pass_app
def approve(app: App, execution_id: str, detach: bool, no_wait: bool, output: str | None) -> None:
    """Approve the tool call the execution ID waits for, and continue it.

    The run continues in this terminal; when the process that started it still waits and
    takes it up first, it runs there and this terminal shows it (--detach leaves it to a
    worker).
    """
    _decide(
        app, execution_id, approved=True, reason="", detach=detach, wait=not no_wait, fmt=app.output(output)
    )


@execution.command("reject")
@click.argument("execution_id", metavar="ID")
@click.option("--reason", default="", help="Why; the agent is told.")
@click.option("--detach", is_flag=True, help="Only record the decision; a worker continues the run.")
@no_wait_option
@output_option
@pass_app
def reject(app: App, execution_id: str, reason: str, detach: bool, no_wait: bool, output: str | None) -> None:
    """Reject the tool call the execution ID waits for; the agent is told, and goes on."""
    _decide(
        app,
        execution_id,
        approved=False,
        reason=reason,
        detach=detach,
        wait=not no_wait,
        fmt=app.output(output),
    )


@execution.command("respond")
@click.argument("execution_id", metavar="ID")
@click.option(
    "--set",
    "fields",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A field of the answer, read as the type the server asked for (42, 3.5, true, a choice; "
    "several choices: a,b). Fields left out take the server's defaults.",
)
@click.option("--decline", "action", flag_value="decline", help="Refuse to answer (the server is told).")
@click.option("--cancel", "action", flag_value="cancel", help="Dismiss the request without a choice.")
@click.option("--detach", is_flag=True, help="Only record the answer; a worker continues the run.")
@no_wait_option
@output_option
@pass_app
def respond(
    app: App,
    execution_id: str,
    fields: tuple[str, ...],
    action: str | None,
    detach: bool,
    no_wait: bool,
    output: str | None,
) -> None:
    """Answer what an MCP server asked during a tool call of the execution ID, and continue it.

    A server may ask for input in the middle of a tool call (MCP elicitation); the run waits
    for a person: `stigmer execution get ID` shows the request and its fields. The answer
    goes to the server and the tool call goes on (or, when the run had parked, the call is
    made again and the server's request is answered from the record).

    \b
    Examples:
      stigmer execution respond aex_123 --set name=Ada --set age=36
      stigmer execution respond aex_123                 # accept, with the defaults
      stigmer execution respond aex_123 --decline
    """
    from stigmer.backend.watch import last_step_sequence

    content = parse_pairs(fields, option="--set")
    if action and content:
        raise click.UsageError(f"--{action} takes no --set: a {action} carries no fields")
    waiting = app.backend.get_execution(execution_id)
    remote = not app.runs_here
    after = last_step_sequence(app.backend, execution_id) if remote and not detach else 0
    app.backend.respond(execution_id, action=action or "accept", content=content)
    verdict = {"decline": "declined", "cancel": "cancelled"}.get(action or "", "answered")
    click.echo(f"execution {execution_id}: {verdict} what its MCP server asked", err=True)
    if detach:
        app.hand_over(execution_id)
        return
    _continue(app, waiting, fmt=app.output(output), after=after, wait=not no_wait)


def _continue(app: App, waiting: Execution, *, fmt: str, after: int, wait: bool) -> None:
    """Go on with a run a person just decided for: here, or in the terminal that started it
    and waits (the store's claim picks one to run it, and the other shows what it does)."""
    from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
    from stigmer.cli.runs import run_foreground

    execution_id = waiting.metadata.id
    if isinstance(waiting, AgentExecution):
        run_foreground(app, execution_id, fmt=fmt, after_sequence=after, wait_for_approval=wait)
        return
    from stigmer.cli.workflow_runs import run_workflow_foreground

    run_workflow_foreground(app, execution_id, fmt=fmt, wait_for_approval=wait)


def _decide(
    app: App, execution_id: str, *, approved: bool, reason: str, detach: bool, wait: bool, fmt: str
) -> None:
    from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
    from stigmer.backend.watch import last_step_sequence
    from stigmer.cli.runs import run_foreground

    waiting = app.backend.get_execution(execution_id)
    if not isinstance(waiting, AgentExecution):
        app.backend.resolve_approval(execution_id, approved=approved, reason=reason)
        verdict = "approved" if approved else "rejected"
        click.echo(f"execution {execution_id}: {verdict} the approval it waited for", err=True)
        if detach:
            app.hand_over(execution_id)
        else:
            from stigmer.cli.workflow_runs import run_workflow_foreground

            run_workflow_foreground(app, execution_id, fmt=fmt, wait_for_approval=wait)
        return
    pending = waiting.status.pending_approval.name
    if waiting.status.pending_input.kind == "sampling":
        asked = waiting.status.pending_input
        pending = f"{asked.server}'s sampling request (during {asked.tool})"
    remote = not app.runs_here
    # A server's worker (or Temporal) continues the run: follow it from what is on record now.
    after = last_step_sequence(app.backend, execution_id) if remote and not detach else 0
    app.backend.resolve_approval(execution_id, approved=approved, reason=reason)
    pending = pending or "the tool call"
    click.echo(f"execution {execution_id}: {'approved' if approved else 'rejected'} {pending}", err=True)
    if detach:
        app.hand_over(execution_id)
        return
    # Here, or in the terminal that started it and waits for this decision: the store's claim
    # picks one to run it, and the other shows what it does.
    run_foreground(app, execution_id, fmt=fmt, after_sequence=after, wait_for_approval=wait)


@execution.command("resume")
@click.argument("execution_id", metavar="ID")
@no_wait_option
@output_option
@pass_app
def resume(app: App, execution_id: str, no_wait: bool, output: str | None) -> None:
    """Continue the execution ID here, after its last recorded step.

    For a run whose process died: steps already on record (model turns, tool calls)
    are replayed from the record, never run again. Against a server, its worker takes
    the run over (once the lease of the one that stopped has expired) and this follows it.
    """
    from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
    from stigmer.cli.runs import run_foreground

    _check_resumable(app, execution_id)
    if isinstance(app.backend.get_execution(execution_id), WorkflowExecution):
        from stigmer.cli.workflow_runs import run_workflow_foreground

        run_workflow_foreground(app, execution_id, fmt=app.output(output), wait_for_approval=not no_wait)
        return
    from stigmer.backend.watch import last_step_sequence

    # Against a server, show what its worker does from here on (what a run continued here shows).
    after = 0 if app.runs_here else last_step_sequence(app.backend, execution_id)
    fmt = app.output(output)
    run_foreground(app, execution_id, fmt=fmt, after_sequence=after, wait_for_approval=not no_wait)


@execution.command("retry")
@click.argument("execution_id", metavar="ID")
@click.option(
    "--from",
    "from_task",
    default="",
    metavar="TASK",
    help="Workflow runs: run again from this task (and everything after it); default: from the first "
    "task that did not complete.",
)
@click.option(
    "--definition",
    type=click.Choice(["pinned", "latest"]),
    default=None,
    help="Workflow runs: run the retried part on the workflow version the run used (pinned, the "
    "default), or on the latest one.",
)
@click.option(
    "--timeout",
    default="",
    metavar="DURATION",
    help="A new timeout for the run (a workflow's timeout, an agent's limits.timeout), e.g. 30m.",
)
@click.option(
    "--max-turns", type=click.IntRange(min=1), default=None, help="Agent runs: a new limit of model calls."
)
@click.option(
    "--max-tokens", type=click.IntRange(min=1), default=None, help="Agent runs: a new limit of tokens."
)
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="DOLLARS",
    help="Agent runs: a new limit of cost in US dollars (priced by `prices:` in config.yaml).",
)
@click.option("--detach", is_flag=True, help="Only queue the new run; a worker runs it. Prints its id.")
@no_wait_option
@output_option
@pass_app
def retry(
    app: App,
    execution_id: str,
    from_task: str,
    definition: str | None,
    timeout: str,
    max_turns: int | None,
    max_tokens: int | None,
    max_cost: float | None,
    detach: bool,
    no_wait: bool,
    output: str | None,
) -> None:
    """Start a new run of the execution ID that reuses what it recorded.

    A workflow run keeps the recorded outputs of every task before TASK (or, without --from,
    of every task that completed): they do not run again, so a failed run is fixed and
    continued without paying again for its model calls. An agent run replays its recorded
    model turns and tool calls and goes on from there: a run stopped by one of its limits
    (LIMIT_TURNS, LIMIT_TOKENS, LIMIT_COST, LIMIT_TIME) continues with a higher one. The new
    run is linked to ID.

    \b
    Examples:
      stigmer execution retry wex_01…                      # from the first failed task
      stigmer execution retry wex_01… --from write-notes   # redo write-notes and what follows
      stigmer apply -f fixed-workflow.yaml && stigmer execution retry wex_01… --definition latest
      stigmer execution retry wex_01… --timeout 2h         # stopped by its timeout: a longer one
      stigmer execution retry aex_01… --max-turns 50       # stopped by maxTurns: go on to 50
    """
    from stigmer.api.agentexecution.v1.agentexecution_pb2 import ExecutionLimits
    from stigmer.backend.runs import retried_run
    from stigmer.cli.output import echo_queued
    from stigmer.resources.durations import parse_duration
    from stigmer.resources.kinds import kind_of_id

    if timeout:
        parse_duration(timeout, field="--timeout")
    agent_limits = max_turns is not None or max_tokens is not None or max_cost is not None
    is_agent = (info := kind_of_id(execution_id)) is not None and info.kind == "AgentExecution"
    # Options of the other kind are usage errors here (exit 2); retried_run refuses them too.
    if is_agent and (from_task or definition):
        raise click.UsageError(
            "--from and --definition are for workflow runs; an agent run goes on from its last recorded step"
        )
    if not is_agent and agent_limits:
        raise click.UsageError(
            "--max-turns, --max-tokens and --max-cost are for agent runs; a workflow run takes --timeout"
        )
    limits = ExecutionLimits(max_turns=max_turns or 0, max_tokens=max_tokens or 0, max_cost=max_cost or 0.0)
    created = retried_run(
        app.backend,
        execution_id,
        from_task=from_task,
        definition=definition or "pinned",
        timeout=timeout,
        limits=limits,
    )
    click.echo(f"retrying {execution_id} as {created.metadata.id}", err=True)
    if detach:
        app.hand_over(created.metadata.id)
        echo_queued(app, created, output)
        return
    if is_agent:
        from stigmer.cli.runs import run_foreground

        run_foreground(app, created.metadata.id, fmt=app.output(output), wait_for_approval=not no_wait)
        return
    from stigmer.cli.workflow_runs import run_workflow_foreground

    run_workflow_foreground(app, created.metadata.id, fmt=app.output(output), wait_for_approval=not no_wait)


def _check_resumable(app: App, execution_id: str) -> None:
    from stigmer.backend.runs import check_resumable

    check_resumable(app.backend, execution_id)


@execution.command("cancel")
@click.argument("execution_id", metavar="ID")
@result_output_option
@pass_app
def cancel(app: App, execution_id: str) -> None:
    """Cancel the execution ID: at once if it is pending, else at its next step."""
    from stigmer.api.common.v1.execution_pb2 import ExecutionPhase

    result = app.backend.cancel_execution(execution_id)
    app.hand_over(execution_id)  # an engine that holds the run (Temporal) cancels it now
    if result.status.phase == ExecutionPhase.CANCELLED:
        text = f"execution {execution_id} cancelled"
    else:
        text = f"execution {execution_id}: cancellation requested; it stops at its next step"
    echo_result(app, text, result)


def _age(ctx: click.Context, param: click.Parameter, value: str) -> int:
    from stigmer.resources.durations import parse_age

    return parse_age(value, field="--older-than")


@execution.command("prune")
@click.option(
    "--older-than",
    "older_than",
    required=True,
    metavar="AGE",
    callback=_age,
    help="Delete runs that finished more than AGE ago: 30d, 12h, 1d12h, 90m.",
)
@click.option(
    "--kind",
    type=click.Choice(["agent", "workflow"]),
    help="Only agent or only workflow runs (their child runs go with them).",
)
@click.option("--dry-run", is_flag=True, help="Show what would be deleted; delete nothing.")
@output_option
@pass_app
def prune(app: App, older_than: int, kind: str | None, dry_run: bool, output: str | None) -> None:
    """Delete finished runs (completed, failed, cancelled) older than AGE.

    A run goes with everything that belongs to it: its steps, artifacts, history and child
    runs. Pending, running and waiting runs stay, and so does a run whose child run has not
    finished. The work is done in batches of one transaction each, so workers keep running
    meanwhile. With `retention: 30d` in config.yaml, every worker does this at start and then
    hourly (`stigmer worker`, and the worker inside `stigmer server` or `stigmer ui`).

    \b
    Examples:
      stigmer execution prune --older-than 30d --dry-run
      stigmer execution prune --older-than 12h --kind agent -o json
    """
    from stigmer.cli.output import dump_json, dump_yaml

    kinds = {"agent": "AgentExecution", "workflow": "WorkflowExecution"}
    result = app.backend.prune_executions(older_than, kind=kinds.get(kind or "", ""), dry_run=dry_run)
    fmt = app.output(output)
    if fmt != "table":
        # Every field, counts as numbers (protobuf's JSON mapping omits zeros and quotes int64s).
        data = {
            "dryRun": result.dry_run,
            "cutoff": result.cutoff.ToJsonString(),
            "deleted": {k: int(n) for k, n in sorted(result.deleted.items())},
            "executionIds": list(result.execution_ids),
            "idsTruncated": result.ids_truncated,
            "steps": int(result.steps),
            "artifacts": int(result.artifacts),
            "kept": int(result.kept),
        }
        click.echo(dump_json(data) if fmt == "json" else dump_yaml([data]).rstrip("\n"))
        return
    if dry_run:
        for execution_id in result.execution_ids:
            click.echo(execution_id)  # stdout: the ids alone, to read or pipe
    total = sum(result.deleted.values())
    per_kind = ", ".join(f"{n} {k}" for k, n in sorted(result.deleted.items()))
    summary = (
        f"{'Would delete' if dry_run else 'Deleted'} {_count(total, 'execution')}"
        + (f" ({per_kind})" if per_kind else "")
        + f" that finished before {result.cutoff.ToJsonString()}"
        + f", with {_count(result.steps, 'step')} and {_count(result.artifacts, 'artifact')}."
    )
    click.echo(summary, err=dry_run)
    if result.ids_truncated:
        click.echo(f"Only the first {len(result.execution_ids)} ids are shown.", err=True)
    if result.kept:
        click.echo(f"Kept {_count(result.kept, 'old run')} whose child runs have not all finished.", err=True)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
