"""Resources to and from their JSON form (protobuf's JSON mapping, camelCase keys)."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from stigmer.errors import InvalidArgument

M = TypeVar("M", bound=Message)

_FREE_FORM = {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
_STRING_FORM = {"google.protobuf.Timestamp", "google.protobuf.Duration"}
_INTS = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
}
_FLOATS = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}


def to_dict(message: Message) -> dict[str, Any]:
    """The JSON form of a message: camelCase keys, defaults omitted, map keys sorted.

    Protobuf maps have no order; sorting them makes exports and `-o yaml` diffable.
    """
    from google.protobuf import json_format

    desc = cast(Descriptor, message.DESCRIPTOR)
    if desc.full_name in _FREE_FORM:  # a Struct is its data: a key "fields" is not its map
        return cast(dict[str, Any], _free_form(message))
    data = json_format.MessageToDict(message)
    _sort_maps(desc, data)
    return data


def _free_form(message: Any) -> Any:
    """A Struct, Value or ListValue as data, keys sorted: what ``MessageToDict`` and
    :func:`_sorted` make of it, read straight from the message (every journal step and every
    expression's task outputs go through here, and the generic walk costs more)."""
    name = message.DESCRIPTOR.name
    if name == "Struct":
        return _struct(message)
    if name == "ListValue":
        return [_value(item) for item in message.values]
    return _value(message)


def _struct(message: Any) -> dict[str, Any]:
    fields = message.fields
    return {key: _value(fields[key]) for key in sorted(fields)}


def _value(value: Any) -> Any:
    which = value.WhichOneof("kind")
    if which == "string_value" or which == "bool_value":
        return getattr(value, which)
    if which == "number_value":
        number: float = value.number_value
        if number - number != 0.0:  # inf or nan: MessageToDict refuses them too
            raise ValueError(f"Fail to serialize {number} for Value.number_value")
        return number
    if which == "struct_value":
        return _struct(value.struct_value)
    if which == "list_value":
        return [_value(item) for item in value.list_value.values]
    return None  # null_value, or nothing set


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _sort_maps(desc: Descriptor, data: dict[str, Any]) -> None:
    for fd in desc.fields:
        value = data.get(fd.json_name)
        if value is None or fd.message_type is None:
            continue
        if fd.message_type.full_name in _FREE_FORM:
            data[fd.json_name] = _sorted(value)
            continue
        if fd.message_type.GetOptions().map_entry:
            data[fd.json_name] = ordered = dict(sorted(value.items()))
            value_fd = fd.message_type.fields_by_name["value"]
            if value_fd.message_type is not None:
                for key, item in ordered.items():
                    if value_fd.message_type.full_name in _FREE_FORM:
                        ordered[key] = _sorted(item)
                    else:
                        _sort_maps(value_fd.message_type, item)
        elif fd.is_repeated:
            for item in value:
                if isinstance(item, dict):
                    _sort_maps(fd.message_type, item)
        elif isinstance(value, dict):
            _sort_maps(fd.message_type, value)


def from_dict(cls: type[M], data: dict[str, Any], *, path: str = "") -> M:
    """Build a message from its JSON form, refusing unknown fields and wrong types.

    Raises:
        InvalidArgument: With the dotted path of the first offending field.
    """
    from google.protobuf import json_format

    cleaned = _check_message(cast(Descriptor, cls.DESCRIPTOR), data, path)
    message = cls()
    try:
        json_format.ParseDict(cleaned, message)
    except json_format.ParseError as exc:
        raise InvalidArgument(str(exc), field=path) from None
    return message


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _check_message(desc: Descriptor, data: Any, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidArgument(f"expected a mapping, got {_type_name(data)}", field=path)
    fields = {f.json_name: f for f in desc.fields}
    fields.update({f.name: f for f in desc.fields})
    cleaned: dict[str, Any] = {}
    oneofs: dict[str, str] = {}
    for key, value in data.items():
        field_path = _join(path, key)
        fd = fields.get(key)
        if fd is None:
            known = sorted({f.json_name for f in desc.fields})
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(known)}"
            raise InvalidArgument(f"unknown field {key!r}", field=field_path, hint=hint)
        if value is None:
            continue  # `key:` with nothing after it means unset
        oneof = fd.containing_oneof
        if oneof is not None and not oneof.name.startswith("_"):
            if oneof.name in oneofs:
                raise InvalidArgument(
                    f"{oneofs[oneof.name]!r} and {fd.json_name!r} cannot both be set: choose one "
                    f"of {', '.join(f.json_name for f in oneof.fields)}",
                    field=field_path,
                )
            oneofs[oneof.name] = fd.json_name
        cleaned[key] = _check_field(fd, value, field_path)
    return cleaned


def _check_field(fd: FieldDescriptor, value: Any, path: str) -> Any:
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        if not isinstance(value, dict):
            raise InvalidArgument(f"expected a mapping, got {_type_name(value)}", field=path)
        value_fd = fd.message_type.fields_by_name["value"]
        # Secret values are plaintext here, on their way to be sealed: never echo them in an error.
        sensitive = fd.name == "secrets"
        return {
            str(k): _check_value(value_fd, v, f"{path}.{k}", sensitive=sensitive) for k, v in value.items()
        }
    if fd.is_repeated:
        if not isinstance(value, list):
            raise InvalidArgument(f"expected a list, got {_type_name(value)}", field=path)
        return [_check_value(fd, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return _check_value(fd, value, path)


def _check_value(fd: FieldDescriptor, value: Any, path: str, *, sensitive: bool = False) -> Any:  # noqa: C901
    if fd.message_type is not None:
        name = fd.message_type.full_name
        if name in _FREE_FORM:
            if name == "google.protobuf.Struct" and not isinstance(value, dict):
                raise InvalidArgument(f"expected a mapping, got {_type_name(value)}", field=path)
            return value
        if name in _STRING_FORM:
            if not isinstance(value, str):
                raise InvalidArgument(f"expected a timestamp string, got {_type_name(value)}", field=path)
            return value
        return _check_message(fd.message_type, value, path)
    if fd.enum_type is not None:
        names = [v.name for v in fd.enum_type.values]
        if value not in names:
            raise InvalidArgument(
                f"invalid value {value!r}", field=path, hint=f"use one of: {', '.join(names[1:])}"
            )
        return value
    if fd.type == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise InvalidArgument(f"expected true or false, got {_type_name(value)}", field=path)
        return value
    if fd.type in _INTS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument(f"expected an integer, got {_type_name(value)} {value!r}", field=path)
        return value
    if fd.type in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidArgument(f"expected a number, got {_type_name(value)}", field=path)
        return value
    if fd.type == FieldDescriptor.TYPE_BYTES:
        if not isinstance(value, str):
            raise InvalidArgument(f"expected base64 text, got {_type_name(value)}", field=path)
        return value
    if not isinstance(value, str):
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        hint = "put the value in quotes" if sensitive else f'quote the value: "{shown}"'
        raise InvalidArgument(f"expected a string, got {_type_name(value)}", field=path, hint=hint)
    return value


__all__ = ["from_dict", "to_dict"]
