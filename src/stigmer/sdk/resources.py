"""What the SDK accepts as a resource: proto messages, authoring objects and file-form dicts."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeAlias, runtime_checkable

from google.protobuf.message import Message

from stigmer.errors import InvalidArgument
from stigmer.resources.kinds import API_VERSION, KindInfo, Resource, kind_info

# Fields the backend assigns; present in what `get` returns, ignored when applying.
_OUTPUT_ONLY_METADATA = ("id", "slug", "version", "createTime", "updateTime")


@runtime_checkable
class SupportsToResource(Protocol):
    """An authoring object (``stigmer.Agent(...)``, …): it knows its resource message."""

    def to_resource(self) -> Any:
        """The resource message (or messages) this object stands for."""
        ...


ResourceLike: TypeAlias = Resource | SupportsToResource | Mapping[str, Any]
"""A resource message, an authoring object, or a dict in file form (camelCase keys)."""


def as_resources(
    objects: Iterable[Any], *, kind: KindInfo | None = None, for_apply: bool = True
) -> list[Resource]:
    """Resource messages for ``objects``; lists and tuples among them are flattened.

    Args:
        objects: Messages, authoring objects, file-form dicts (short forms allowed, as in
            files: ``model: scripted``, ``mcpServers: [helpdesk]``), or lists of them.
        kind: The only kind allowed (a typed resource client's); a dict may then leave out
            ``kind`` and ``apiVersion``.
        for_apply: Drop what the backend assigns (ids, versions, status) from dicts, as
            `stigmer apply` does; keep it for an update, whose version is checked.

    Raises:
        InvalidArgument: An object is none of these, is of another kind than ``kind``, or
            a dict has an unknown or malformed field (``field`` names it).
    """
    flat = _flatten(objects)
    if kind is None:
        # `client.apply(agent)` applies what the agent refers to as well (its McpServer and
        # Skill objects), each once, before it; a typed client applies only its own kind.
        from stigmer.sdk.authoring import Definition
        from stigmer.sdk.collect import with_dependencies

        definitions = [o for o in flat if isinstance(o, Definition)]
        if definitions:  # references resolve when something runs: the order does not matter
            flat = [*with_dependencies(definitions), *(o for o in flat if not isinstance(o, Definition))]
    out: list[Resource] = []
    for obj in flat:
        out.extend(_resources(obj, kind, for_apply))
    return out


def _flatten(objects: Iterable[Any]) -> list[Any]:
    flat: list[Any] = []
    for obj in objects:
        if isinstance(obj, list | tuple):
            flat.extend(_flatten(obj))
        else:
            flat.append(obj)
    return flat


def _resources(obj: Any, kind: KindInfo | None, for_apply: bool) -> list[Resource]:
    if isinstance(obj, Message):
        return [_message(obj, kind)]
    if isinstance(obj, Mapping):
        return [_document(obj, kind, for_apply)]
    if isinstance(obj, SupportsToResource):
        made = obj.to_resource()
        made = list(made) if isinstance(made, list | tuple) else [made]
        if not all(isinstance(m, Message) for m in made):
            raise InvalidArgument(f"{type(obj).__name__}.to_resource() did not return a resource message")
        return [_message(m, kind) for m in made]
    raise InvalidArgument(
        f"cannot apply a {type(obj).__name__}",
        hint="pass resource messages, authoring objects (stigmer.sdk) or dicts in file form",
    )


def _message(message: Message, kind: KindInfo | None) -> Resource:
    info = kind_info(message)
    _check_kind(info, kind)
    resource: Resource = message  # type: ignore[assignment]  # kind_info accepted it: a resource
    if resource.api_version != API_VERSION or resource.kind != info.kind:
        resource = copy.deepcopy(resource)
        resource.api_version = resource.api_version or API_VERSION
        resource.kind = info.kind
    return resource


def _document(data: Mapping[str, Any], kind: KindInfo | None, for_apply: bool) -> Resource:
    from stigmer.resources.codec import from_dict
    from stigmer.resources.normalise import normalise

    doc = copy.deepcopy(dict(data))
    name = doc.get("kind") or (kind.kind if kind else "")
    if not isinstance(name, str) or not name:
        raise InvalidArgument("a resource needs its kind, e.g. 'Agent'", field="kind")
    try:
        info = kind_info(name)
    except InvalidArgument as exc:
        exc.field = "kind"
        raise
    doc["kind"] = info.kind
    doc.setdefault("apiVersion", API_VERSION)
    metadata = doc.get("metadata")
    label = f"{info.kind}/{metadata.get('name', '')}" if isinstance(metadata, dict) else info.kind
    if doc["apiVersion"] != API_VERSION:
        raise InvalidArgument(
            f"apiVersion must be {API_VERSION!r}, got {doc['apiVersion']!r}",
            field="apiVersion",
            resource=label,
        )
    _check_kind(info, kind)
    if for_apply:
        if not info.declarative:
            raise InvalidArgument(
                f"{info.kind} resources are written by Stigmer, not applied", field="kind", resource=label
            )
        doc.pop("status", None)
        if isinstance(metadata, dict):
            doc["metadata"] = {k: v for k, v in metadata.items() if k not in _OUTPUT_ONLY_METADATA}
    normalise(info.kind, doc)
    try:
        return from_dict(info.message, doc)
    except InvalidArgument as exc:
        exc.resource = exc.resource or label
        raise


def _check_kind(info: KindInfo, expected: KindInfo | None) -> None:
    if expected is not None and info.kind != expected.kind:
        raise InvalidArgument(
            f"expected a {expected.kind}, got a {info.kind}",
            field="kind",
            hint=f"apply it with client.{info.table}, or several kinds at once with client.apply",
        )


__all__ = ["ResourceLike", "SupportsToResource", "as_resources"]
