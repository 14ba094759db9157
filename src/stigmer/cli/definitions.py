"""Building a resource from command-line options through the same path files take."""

from __future__ import annotations

from typing import Any

from stigmer.resources.kinds import API_VERSION, Resource


def build(kind: str, name: str, spec: dict[str, Any], *, labels: dict[str, str] | None = None) -> Resource:
    """Decode a resource written as options, with the short forms files accept.

    Raises:
        InvalidArgument: As for a file, with "<command line>" as the source.
    """
    from stigmer.resources.decode import decode
    from stigmer.resources.documents import Document

    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    data = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}
    return decode(Document("<command line>", 0, data, {}))


def create(app: Any, resource: Resource) -> None:
    """Create a resource, print what happened and any missing references."""
    import click

    from stigmer.resources.kinds import kind_info

    created = app.backend.create(resource)
    label = f"{kind_info(created).kind.lower()}/{created.metadata.name}"
    click.echo(f"{label} created")
    for ref in getattr(created.status, "references", []):
        if not ref.resolved:
            click.echo(
                f"Warning: {label}: {ref.field} refers to {ref.kind} {ref.name!r}, "
                "which does not exist (yet)",
                err=True,
            )
