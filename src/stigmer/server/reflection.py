"""gRPC server reflection under both names current clients use: ``grpc.reflection.v1`` and
the older ``grpc.reflection.v1alpha``.

grpcio-reflection implements only v1alpha. The v1 protocol is the same messages under a
new package, byte for byte on the wire, so one servicer answers both: v1 requests are
parsed with the v1alpha message types, and the v1 file is added to the descriptor pool
so clients can also describe the v1 service itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2
from grpc_reflection.v1alpha._async import ReflectionServicer

V1_SERVICE = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE = reflection.SERVICE_NAME
_V1_FILE = "grpc/reflection/v1/reflection.proto"


def add_v1_descriptors() -> None:
    """Add ``grpc/reflection/v1/reflection.proto`` to the default descriptor pool (once)."""
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(_V1_FILE)
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    old, new = "grpc.reflection.v1alpha", "grpc.reflection.v1"
    proto.name, proto.package = _V1_FILE, new
    for message in proto.message_type:
        for field in message.field:
            if field.type_name:  # assigning "" would mark a scalar field as typed
                field.type_name = field.type_name.replace(f".{old}.", f".{new}.")
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(f".{old}.", f".{new}.")
            method.output_type = method.output_type.replace(f".{old}.", f".{new}.")
    proto.ClearField("options")
    pool.Add(proto)


def enable_reflection(service_names: Sequence[str], server: Any) -> None:
    """Serve reflection (v1 and v1alpha) on an asyncio gRPC ``server``, listing ``service_names``."""
    add_v1_descriptors()
    servicer = ReflectionServicer([*service_names, V1_SERVICE, V1ALPHA_SERVICE])
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                name,
                {
                    "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                        servicer.ServerReflectionInfo,
                        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
                    )
                },
            )
            for name in (V1_SERVICE, V1ALPHA_SERVICE)
        ]
    )


__all__ = ["V1ALPHA_SERVICE", "V1_SERVICE", "add_v1_descriptors", "enable_reflection"]
