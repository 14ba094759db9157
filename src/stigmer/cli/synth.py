"""`stigmer synth FILE.py`: the resource documents a Python file defines, as YAML or JSON."""

from __future__ import annotations

import click


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE.py...")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="YAML documents (one per resource) or a JSON list.",
)
def synth(files: tuple[str, ...], output: str) -> None:
    """Print the resources that Python files define, as the YAML that `apply` reads.

    Each file is imported as a module named after it (app.py is module `app`, with its
    directory on the Python path), and every Agent, Workflow, Skill, McpServer and
    Environment object bound at its top level is printed, each after the resources it
    refers to. Applying the output makes exactly the resources `stigmer apply -f FILE.py`
    makes. Nothing is stored and no Stigmer home is needed.

    \b
    Examples:
      stigmer synth app.py
      stigmer synth app.py > app.yaml && stigmer apply -f app.yaml
      stigmer synth app.py -o json
    """
    from stigmer.cli.output import dump_json, dump_yaml
    from stigmer.sdk.collect import collect, with_dependencies

    objects = with_dependencies(obj for file in files for obj in collect(file))
    documents = [obj.to_document() for obj in objects]
    if output == "json":
        click.echo(dump_json(documents))
    else:
        click.echo(dump_yaml(documents), nl=False)
