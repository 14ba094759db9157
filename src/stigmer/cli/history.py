"""`stigmer history` and `stigmer rollback`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from stigmer.cli.context import App, echo_result, output_option, pass_app, result_output_option
from stigmer.cli.get import EXECUTION_WORDS, KIND_HELP

if TYPE_CHECKING:
    from stigmer.resources.kinds import KindInfo


def _kind(word: str, name: str) -> KindInfo:
    """The kind a CLI word names; for `execution`, the kind its id says (agent or workflow run)."""
    from stigmer.errors import InvalidArgument
    from stigmer.resources.kinds import kind_info, kind_of_id

    if word.lower() not in EXECUTION_WORDS:
        return kind_info(word)
    info = kind_of_id(name)
    if info is None or not info.kind.endswith("Execution"):
        raise InvalidArgument(
            f"{name!r} is not an execution id",
            hint="execution ids start with aex_ or wex_: stigmer execution list",
        )
    return info


@click.command(epilog=KIND_HELP)
@click.argument("kind")
@click.argument("name")
@output_option
@pass_app
def history(app: App, kind: str, name: str, output: str | None) -> None:
    """Show every version of a resource, oldest first.

    Each write (create, update, delete, rollback, import) is a version; `-o yaml` shows
    the whole resource as it was. History outlives a deleted resource.
    """
    from stigmer.cli.output import echo_resources

    info = _kind(kind, name)
    versions = app.backend.history(info.message, name)
    echo_resources(versions, app.output(output), kind="ApiResourceVersion")


@click.command(epilog=KIND_HELP)
@click.argument("kind")
@click.argument("name")
@click.option("--to", "to_version", type=click.IntRange(min=1), required=True, help="The version to restore.")
@result_output_option
@pass_app
def rollback(app: App, kind: str, name: str, to_version: int) -> None:
    """Make an old version of a resource current again.

    The rollback is itself a new version, so it can be rolled back too.
    """
    from stigmer.errors import InvalidArgument

    info = _kind(kind, name)
    if info.kind.endswith("Execution"):
        raise InvalidArgument(
            "an execution is a record of a run, not a definition: it has history but no rollback",
            hint=f"see how it changed: stigmer history execution {name}",
        )
    restored = app.backend.rollback(info.message, name, to_version)
    text = (
        f"{info.kind.lower()}/{restored.metadata.name} rolled back to version {to_version} "
        f"(now version {restored.metadata.version})"
    )
    echo_result(app, text, restored)
