"""`stigmer export` and `stigmer import`: portable backups of a home's resources."""

from __future__ import annotations

import sys

import click

from stigmer.cli.context import App, pass_app

# Execution contexts are ephemeral (and will hold unsealed secrets); history stays home.
NOT_EXPORTED = ("ExecutionContext", "ApiResourceVersion")


@click.command()
@click.argument("kinds", nargs=-1)
@click.option("--all", "all_kinds", is_flag=True, help="Every kind (the default when no KIND is given).")
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@pass_app
def export(app: App, kinds: tuple[str, ...], all_kinds: bool, fmt: str) -> None:
    """Write resources to stdout, exactly as stored: ids, versions, times and status.

    `stigmer import` restores the file into any home. Executions and sessions are
    included with --all; history is not.

    \b
    Examples:
      stigmer export --all > backup.yaml
      stigmer export agents skills > agents.yaml
    """
    from stigmer.backend.protocol import ExecutionQuery
    from stigmer.cli.output import dump_json, dump_yaml
    from stigmer.resources.codec import to_dict
    from stigmer.resources.kinds import KINDS, Resource, kind_info

    if kinds and all_kinds:
        raise click.UsageError("give kinds or --all, not both")
    chosen = [kind_info(k) for k in kinds] if kinds else [k for k in KINDS if k.kind not in NOT_EXPORTED]
    documents = []
    for info in chosen:
        token = ""
        while True:
            items: list[Resource]
            if info.execution:
                executions = app.backend.list_executions(
                    ExecutionQuery(kind=info.kind, page_size=500, page_token=token)
                )
                items, token = list(executions.items), executions.next_page_token
            else:
                resources = app.backend.list(info.message, page_size=500, page_token=token)
                items, token = list(resources.items), resources.next_page_token
            for item in items:
                data = to_dict(item)
                status = data.get("status", {})
                status.pop("references", None)  # resolved on read, not stored
                if not status:
                    data.pop("status", None)
                documents.append(data)
            if not token:
                break
    click.echo(dump_json(documents) if fmt == "json" else dump_yaml(documents).rstrip("\n"))
    click.echo(f"Exported {len(documents)} resources.", err=True)


@click.command("import")
@click.option(
    "-f", "--filename", "path", default="-", show_default=True, help="The export to restore; - for stdin."
)
@pass_app
def import_(app: App, path: str) -> None:
    """Restore resources written by `stigmer export`, ids and versions included.

    All or nothing: on any error the home is unchanged. A resource with the same id is
    replaced; one with the same name but another id is an error.

    \b
    Example:
      stigmer --home /tmp/new import < backup.yaml
    """
    from stigmer.cli.locate import load
    from stigmer.errors import InvalidArgument

    loaded = load([path], exact=True, stdin=sys.stdin)
    try:
        count = app.backend.import_resources(loaded.resources)
    except InvalidArgument as exc:
        raise loaded.locate(exc) from None
    click.echo(f"Imported {count} resources.")
