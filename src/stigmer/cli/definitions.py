"""Building a resource from command-line options through the same path files take."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stigmer.errors import InvalidArgument
from stigmer.resources.kinds import API_VERSION, Resource

if TYPE_CHECKING:
    from stigmer.resources.documents import Document


def build(
    kind: str,
    name: str,
    spec: dict[str, Any],
    *,
    labels: dict[str, str] | None = None,
    source: Document | None = None,
) -> Resource:
    """Decode a resource written as options, with the short forms files accept.

    Args:
        source: The file the spec came from (lines keyed by field path), if any.

    Raises:
        InvalidArgument: As for a file, with the file or "<command line>" as the source.
    """
    from stigmer.resources.decode import decode
    from stigmer.resources.documents import Document

    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    data = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}
    if source is None:
        return decode(Document("<command line>", 0, data, {}))
    return decode(Document(source.source, 0, data, source.lines))


def create(app: Any, resource: Resource, *, source: Document | None = None) -> None:
    """Create a resource, print what happened and any missing references."""
    import click

    from stigmer.resources.kinds import kind_info

    try:
        created = app.backend.create(resource)
    except InvalidArgument as exc:
        if source is not None and not exc.source:
            exc.source = source.where(exc.field)
        raise
    label = f"{kind_info(created).kind.lower()}/{created.metadata.name}"
    from stigmer.cli.context import echo_result

    echo_result(app, f"{label} created", created)
    for ref in getattr(created.status, "references", []):
        if not ref.resolved:
            click.echo(
                f"Warning: {label}: {ref.field} refers to {ref.kind} {ref.name!r}, "
                "which does not exist (yet)",
                err=True,
            )
