"""`stigmer workflow create|list|get|delete`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from stigmer.cli.context import App, add_read_and_delete, parse_pairs, pass_app

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
    from stigmer.errors import InvalidArgument
    from stigmer.resources.documents import Document, read

    docs = read([path])
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
