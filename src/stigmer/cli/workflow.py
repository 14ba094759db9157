"""`stigmer workflow create|list|get|delete`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from stigmer.cli.context import (
    App,
    output_option,
    parse_pairs,
    pass_app,
    result_output_option,
)
from stigmer.cli.reads import add_read_and_delete

if TYPE_CHECKING:
    from stigmer.resources.documents import Document


@click.group()
def workflow() -> None:
    """Create, list, show and delete workflows.

    Workflows are usually written as files and applied (`stigmer apply -f`);
    `workflow create` covers the common case of a chain of agents.
    """


def _chain(agents: tuple[str, ...]) -> dict[str, Any]:
    """Agents run one after another, each given the previous one's answer."""
    tasks: list[dict[str, Any]] = []
    for i, agent_name in enumerate(agents):
        task: dict[str, Any] = {"name": f"step-{i + 1}", "agent": agent_name}
        if i == 0:
            task["message"] = "${workflow.inputs.message}"
        else:
            task["message"] = f"${{tasks.step-{i}.outputs.output}}"
            task["dependsOn"] = [f"step-{i}"]
        tasks.append(task)
    return {
        "inputs": {"message": {"type": "string", "description": "The message for the first agent."}},
        "tasks": tasks,
        "outputs": {"answer": f"${{tasks.step-{len(agents)}.outputs.output}}"},
    }


def _spec_file(path: str) -> tuple[dict[str, Any], Document]:
    """The spec in a file (a bare spec, or a whole Workflow), and where each field is written."""
    from stigmer.cli.locate import python_documents
    from stigmer.errors import InvalidArgument
    from stigmer.resources.documents import Document, read

    docs = read([path], python=python_documents)
    if len(docs) != 1:
        raise InvalidArgument(f"{path} must hold exactly one document (a workflow spec)", source=path)
    doc = docs[0]
    whole = "kind" in doc.data
    spec = doc.data.get("spec", doc.data) if whole else doc.data
    if not isinstance(spec, dict):
        raise InvalidArgument("the spec must be a mapping with tasks", source=doc.where("spec"))
    # Errors name fields as spec.…; a bare spec file writes them from its top level.
    lines = doc.lines if whole else {("spec." + k if k else "spec"): v for k, v in doc.lines.items()}
    return spec, Document(doc.source, 0, doc.data, lines)


@workflow.command("create")
@click.argument("name")
@click.option(
    "--agent", "agents", multiple=True, metavar="AGENT", help="Run this agent next in a chain. Repeatable."
)
@click.option(
    "--from-file",
    "spec_file",
    type=click.Path(dir_okay=False),
    help="A YAML/JSON file holding the spec (inputs, tasks, outputs).",
)
@click.option("--description", default="", help="What the workflow does.")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label. Repeatable.")
@result_output_option
@pass_app
def create(
    app: App,
    name: str,
    agents: tuple[str, ...],
    spec_file: str | None,
    description: str,
    labels: tuple[str, ...],
) -> None:
    """Create the workflow NAME from a chain of agents or a spec file.

    With --agent (repeated), each agent gets the previous agent's answer; the workflow
    takes one input, `message`, and outputs the last answer as `answer`.

    \b
    Examples:
      stigmer workflow create triage --agent classifier --agent responder
      stigmer workflow create release-notes --from-file release-notes.spec.yaml
    """
    from stigmer.cli.definitions import build
    from stigmer.cli.definitions import create as create_resource

    if bool(agents) == bool(spec_file):
        raise click.UsageError("give either --agent (one or more) or --from-file")
    spec, source = _spec_file(spec_file) if spec_file else (_chain(agents), None)
    if description:
        spec["description"] = description
    resource = build("Workflow", name, spec, labels=parse_pairs(labels, option="--label"), source=source)
    create_resource(app, resource, source=source)


add_read_and_delete(workflow, "Workflow", "workflow")


@workflow.command("execute")
@click.argument("name")
@click.option(
    "-i", "--input", "inputs", multiple=True, metavar="KEY=VALUE", help="An input value. Repeatable."
)
@click.option(
    "--input-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="A YAML/JSON file (or - for stdin) holding a mapping of inputs; --input values win.",
)
@click.option("--env", "environment", default="", metavar="E", help="Run with the Environment E.")
@click.option("--detach", is_flag=True, help="Only queue it; `stigmer worker` runs it. Prints the id.")
@click.option(
    "--no-wait",
    is_flag=True,
    help="If the run reaches an approval, exit (code 0) and leave it waiting instead of waiting here.",
)
@output_option
@pass_app
def execute(
    app: App,
    name: str,
    inputs: tuple[str, ...],
    input_file: str | None,
    environment: str,
    detach: bool,
    no_wait: bool,
    output: str | None,
) -> None:
    """Run the workflow NAME and show its tasks as they go.

    Inputs are given as text and read as their declared types (`--input count=3` is the
    number 3 when `count` is an integer). A live table shows each task's phase, attempts
    and duration; the workflow's outputs go to stdout at the end. The run is durable:
    if this process dies, `stigmer execution resume ID` (or a worker) continues it and no
    completed task runs again. Exit code 1 when the run fails.

    \b
    Examples:
      stigmer workflow execute weekly-release-notes --input week=2026-W47
      stigmer workflow execute triage --input-file inputs.yaml --env prod
      stigmer workflow execute nightly-sync --detach
    """
    from stigmer.backend.runs import new_workflow_execution
    from stigmer.cli.workflow_runs import run_workflow_foreground

    values = _input_file(input_file) if input_file else {}
    values.update(parse_pairs(inputs, option="--input"))
    created = new_workflow_execution(app.backend, name, values, env=environment or None, via="cli")
    if detach:
        from stigmer.cli.output import echo_queued

        app.hand_over(created.metadata.id)
        echo_queued(app, created, output)
        click.echo(
            "Queued. A worker runs it: `stigmer worker`; "
            f"see it: `stigmer execution get {created.metadata.id}`",
            err=True,
        )
        return
    run_workflow_foreground(app, created.metadata.id, fmt=app.output(output), wait_for_approval=not no_wait)


def _input_file(path: str) -> dict[str, Any]:
    import sys
    from pathlib import Path

    from stigmer.errors import InvalidArgument
    from stigmer.resources.documents import load_value, read_text

    try:
        if path == "-":
            text = read_text(sys.stdin, "<stdin>")
        else:
            with Path(path).open("rb") as handle:
                text = read_text(handle, path)
    except OSError as exc:
        raise InvalidArgument(f"cannot read inputs: {exc.strerror}", source=path) from None
    data = load_value(text, path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidArgument("an input file holds a mapping of input names to values", source=path)
    return {str(k): v for k, v in data.items()}


@workflow.command("graph")
@click.argument("name")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "mermaid"]),
    default="text",
    show_default=True,
    help="Text for a terminal, or a Mermaid flowchart for docs.",
)
@pass_app
def graph(app: App, name: str, output: str) -> None:
    """Print the task graph of the workflow NAME: what runs after what, and switch branches.

    \b
    Examples:
      stigmer workflow graph weekly-release-notes
      stigmer workflow graph weekly-release-notes -o mermaid > graph.md
    """
    from stigmer.api.workflow.v1.workflow_pb2 import Workflow
    from stigmer.resources.graph import mermaid, text

    target = app.backend.get(Workflow, name)
    click.echo(mermaid(target) if output == "mermaid" else text(target))
