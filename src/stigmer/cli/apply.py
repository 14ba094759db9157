"""`stigmer apply -f`: create or update resources from files, all or nothing."""

from __future__ import annotations

import click

from stigmer.cli.context import App, output_option, pass_app
from stigmer.errors import InvalidArgument


@click.command()
@click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    required=True,
    metavar="PATH",
    help="A YAML/JSON file, a directory (searched recursively for them), a Python file that "
    "defines resources, or - for stdin. Repeatable.",
)
@click.option("--dry-run", is_flag=True, help="Validate and report what would change; write nothing.")
@output_option
@pass_app
def apply(app: App, paths: tuple[str, ...], dry_run: bool, output: str | None) -> None:
    """Create or update resources from YAML or JSON files, or Python files.

    Every document in every file is applied in one transaction: if any is invalid,
    nothing is written. Each resource is reported as created, configured or unchanged.
    References to resources that do not exist yet are allowed, with a warning.

    A Python file given by name (app.py) is imported, and the Agent, Workflow, Skill,
    McpServer and Environment objects it defines are applied: the same resources as the
    YAML that `stigmer synth app.py` prints. Directories are searched for YAML and JSON
    only.

    \b
    Examples:
      stigmer apply -f examples/
      stigmer apply -f agent.yaml -f workflow.yaml --dry-run
      stigmer apply -f app.py
      cat agent.yaml | stigmer apply -f -
    """
    from stigmer.cli.locate import load
    from stigmer.cli.output import dump_json, dump_yaml
    from stigmer.resources.codec import to_dict
    from stigmer.resources.kinds import kind_info

    loaded = load(paths)
    try:
        outcomes = app.backend.apply(loaded.resources, dry_run=dry_run)
    except InvalidArgument as exc:
        raise loaded.locate(exc) from None
    fmt = app.output(output)
    suffix = " (dry run)" if dry_run else ""
    for outcome in outcomes:
        label = f"{kind_info(outcome.resource).kind.lower()}/{outcome.resource.metadata.name}"
        for warning in outcome.warnings:
            click.echo(f"Warning: {label}: {warning}", err=True)
    if fmt == "table":
        for outcome in outcomes:
            label = f"{kind_info(outcome.resource).kind.lower()}/{outcome.resource.metadata.name}"
            click.echo(f"{label} {outcome.action}{suffix}")
        return
    report = [
        {"action": o.action, "dryRun": dry_run, "warnings": o.warnings, "resource": to_dict(o.resource)}
        for o in outcomes
    ]
    click.echo(dump_json(report) if fmt == "json" else dump_yaml(report).rstrip("\n"))
