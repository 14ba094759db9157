"""Resource documents (from files) to resource messages, with errors that point at lines."""

from __future__ import annotations

from typing import Any

from stigmer.errors import InvalidArgument
from stigmer.resources.codec import from_dict
from stigmer.resources.documents import Document
from stigmer.resources.kinds import API_VERSION, Resource, declarative_kinds, kind_info
from stigmer.resources.normalise import normalise

# Fields the backend assigns; present in exports, ignored when applying.
_OUTPUT_ONLY_METADATA = ("id", "slug", "version", "createTime", "updateTime")


def decode(doc: Document, *, exact: bool = False) -> Resource:
    """Turn one document into its resource message.

    Args:
        doc: The parsed document.
        exact: Keep ids, versions, times and status as written (import); otherwise they
            are dropped, since the backend assigns them (apply).

    Raises:
        InvalidArgument: With ``file:line``, the resource and the field path.
    """
    data = dict(doc.data)
    kind = _kind(doc, data)
    info = kind_info(kind)
    if not exact and not info.declarative:
        raise InvalidArgument(
            f"{kind} resources are written by Stigmer, not applied",
            source=doc.where("kind"),
            hint="apply agents, workflows, skills, MCP servers, environments and sessions",
        )
    metadata = data.get("metadata")
    name = metadata.get("name", "") if isinstance(metadata, dict) else ""
    label = f"{kind}/{name}" if name else kind
    if not exact:
        data.pop("status", None)
        if isinstance(metadata, dict):
            data["metadata"] = {k: v for k, v in metadata.items() if k not in _OUTPUT_ONLY_METADATA}
    normalise(kind, data)
    try:
        return from_dict(info.message, data)
    except InvalidArgument as exc:
        exc.source = exc.source or doc.where(exc.field)
        exc.resource = exc.resource or label
        raise


def _kind(doc: Document, data: dict[str, Any]) -> str:
    api_version = data.get("apiVersion")
    if api_version != API_VERSION:
        raise InvalidArgument(
            f"apiVersion must be {API_VERSION!r}, got {api_version!r}",
            source=doc.where("apiVersion"),
            field="apiVersion",
        )
    kind = data.get("kind")
    known = [k.kind for k in declarative_kinds()]
    if not isinstance(kind, str) or not kind:
        raise InvalidArgument(
            "kind is required", source=doc.where(), field="kind", hint=f"one of: {', '.join(known)}"
        )
    try:
        info = kind_info(kind)
    except InvalidArgument as exc:
        exc.source, exc.field = doc.where("kind"), "kind"
        raise
    if info.kind != kind:
        raise InvalidArgument(
            f"unknown kind {kind!r}",
            source=doc.where("kind"),
            field="kind",
            hint=f"did you mean {info.kind!r}?",
        )
    return kind


__all__ = ["decode"]
