"""Resource messages to store records and back: the one place the two shapes meet."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from stigmer.resources.codec import to_dict
from stigmer.resources.kinds import API_VERSION, Resource, kind_info
from stigmer.store.records import Record

if TYPE_CHECKING:
    from google.protobuf.timestamp_pb2 import Timestamp

R = TypeVar("R", bound=Resource)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STORED_LENGTH = len("2026-01-01T00:00:00.000000Z")  # what ``timestamp`` writes


def timestamp(moment: datetime) -> str:
    """A fixed-width RFC 3339 UTC time, so stored times sort as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def set_time(message: Timestamp, text: str) -> None:
    """Set a proto time from a stored one (``timestamp``'s form, or any RFC 3339 time).

    ``timestamp``'s form is read with ``datetime.fromisoformat``: ``Timestamp.FromJsonString``
    parses with ``strptime``, ~50x the cost, and every journal step read and written sets one
    or two. Other forms (nanoseconds, offsets) go to ``FromJsonString``.

    Raises:
        ValueError: ``text`` is not an RFC 3339 time with a zone.
    """
    moment = None
    # Only that exact form: fromisoformat drops nanoseconds and takes forms RFC 3339 does not.
    if len(text) == _STORED_LENGTH and text[10] == "T" and text[-1] == "Z":
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(text)
    if moment is None:
        message.FromJsonString(text)  # any other RFC 3339 time, or its own error
        return
    since = moment - _EPOCH
    message.seconds = since.days * 86400 + since.seconds
    message.nanos = since.microseconds * 1000


def to_record(resource: Resource) -> Record:
    """The record for a resource; metadata goes to columns, spec and status to JSON."""
    data = to_dict(resource)
    md = resource.metadata
    return Record(
        id=md.id,
        name=md.name,
        slug=md.slug,
        version=md.version,
        spec=data.get("spec", {}),
        status=data.get("status", {}),
        labels=dict(md.labels),
        annotations=dict(md.annotations),
        tags=list(md.tags),
        created_at=_time(data, "createTime"),
        updated_at=_time(data, "updateTime"),
    )


def _time(data: dict[str, Any], key: str) -> str:
    value = data.get("metadata", {}).get(key, "")
    if not value:
        return ""
    return timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))


def record_json(kind: str, rec: Record) -> dict[str, Any]:
    """The JSON form of a stored resource, as files and snapshots show it."""
    metadata: dict[str, Any] = {"id": rec.id, "name": rec.name, "slug": rec.slug}
    if rec.labels:
        metadata["labels"] = rec.labels
    if rec.annotations:
        metadata["annotations"] = rec.annotations
    if rec.tags:
        metadata["tags"] = rec.tags
    metadata.update(version=rec.version, createTime=rec.created_at, updateTime=rec.updated_at)
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "spec": rec.spec,
        "status": rec.status,
    }


def from_record(cls: type[R], rec: Record) -> R:
    """The resource message for a stored record (from its serialized form when it has one)."""
    message = cls()
    if rec.message:
        message.ParseFromString(rec.message)
        return message
    # protobuf's JSON mapping (~10 ms to import) only for records written without their blob.
    from google.protobuf import json_format

    data = record_json(kind_info(cls).kind, rec)
    # The record's own times are set without the JSON mapping's strptime (see set_time).
    del data["metadata"]["createTime"], data["metadata"]["updateTime"]
    json_format.ParseDict(data, message)
    if rec.created_at:
        set_time(message.metadata.create_time, rec.created_at)
    if rec.updated_at:
        set_time(message.metadata.update_time, rec.updated_at)
    return message


def seal(cls: type[R], rec: Record) -> R:
    """Build the message of a record about to be written and store its serialized form in it.

    Call it last, after every change to the record, so the JSON and the blob agree.
    """
    rec.message = b""
    message = from_record(cls, rec)
    rec.message = message.SerializeToString()
    return message


def from_json(cls: type[R], data: dict[str, Any]) -> R:
    """A resource message from JSON the store wrote itself (snapshots)."""
    from google.protobuf import json_format

    message = cls()
    json_format.ParseDict(data, message, ignore_unknown_fields=True)
    return message


__all__ = ["from_json", "from_record", "record_json", "seal", "timestamp", "to_record"]
