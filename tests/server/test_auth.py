"""API keys: every call but health needs one; a missing, wrong or revoked key changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.backend.remote import RemoteBackend
from stigmer.backend.wire import ERROR_TYPE, pack
from stigmer.errors import Unauthenticated
from tests.builders import skill
from tests.server.conftest import create_key
from tests.server.harness import ServerProcess, bearer, raw_call, unary


def _same(data: bytes) -> bytes:
    return data


CREATE_SKILL = pb.CreateResourceRequest(resource=pack(skill("intruder"))).SerializeToString()


def _history_size(server: ServerProcess, key: str) -> int:
    backend = RemoteBackend(server.url, token=key)
    try:
        return int(backend.info().counts["ApiResourceVersion"])
    finally:
        backend.close()


def _assert_refused(server: ServerProcess, token: str | None) -> None:
    for method, request, stream in [
        ("CreateResource", CREATE_SKILL, False),
        ("GetBackendInfo", b"", False),
        ("WatchExecution", pb.WatchExecutionRequest(execution_id="aex_x").SerializeToString(), True),
    ]:
        code, details, trailers = raw_call(server, method, request, token=token, stream=stream)
        assert code == grpc.StatusCode.UNAUTHENTICATED, (method, details)
        assert (ERROR_TYPE, "Unauthenticated") in list(trailers)


def test_health_answers_without_a_key(served: tuple[ServerProcess, str]) -> None:
    server, _ = served
    backend = RemoteBackend(server.url)
    try:
        assert backend.health() == "SERVING"
    finally:
        backend.close()


@pytest.mark.parametrize(
    "token",
    [None, "sk_0123456789abcdef_wrong", "not-even-a-key", "sk_____"],
    ids=["none", "wrong", "junk", "empty"],
)
def test_a_call_without_a_valid_key_is_unauthenticated_and_changes_nothing(
    served: tuple[ServerProcess, str], token: str | None
) -> None:
    server, key = served
    before = _history_size(server, key)

    _assert_refused(server, token)

    assert _history_size(server, key) == before
    with pytest.raises(Exception, match="not found"):
        RemoteBackend(server.url, token=key).get(Skill, "intruder")


def test_a_key_that_is_not_bearer_is_refused(served: tuple[ServerProcess, str]) -> None:
    server, key = served
    with server.channel() as channel:
        call = unary(channel, "/stigmer.backend.v1.BackendService/GetBackendInfo")
        with pytest.raises(grpc.RpcError) as err:
            call(b"", metadata=(("authorization", f"Basic {key}"),), timeout=10)
    assert isinstance(err.value, grpc.Call)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_revoked_key_is_refused_at_once(served: tuple[ServerProcess, str]) -> None:
    server, key = served
    bob_key = create_key(server.home, "bob")
    bob = RemoteBackend(server.url, token=bob_key)
    try:
        assert bob.info().api_key == "bob"
        server.home("server", "keys", "revoke", "bob")
        before = _history_size(server, key)

        with pytest.raises(Unauthenticated, match="refused") as err:
            bob.create(skill("after-revoke"))

        assert "stigmer login" in err.value.hint
        _assert_refused(server, bob_key)
        assert _history_size(server, key) == before
    finally:
        bob.close()


def test_reflection_lists_the_services_to_a_caller_with_a_key(served: tuple[ServerProcess, str]) -> None:
    server, key = served
    request = reflection_pb2.ServerReflectionRequest(list_services="").SerializeToString()
    path = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
    with server.channel() as channel:
        call = channel.stream_stream(
            path,
            request_serializer=_same,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        with pytest.raises(grpc.RpcError) as refused:
            list(call(iter([request]), timeout=10))
        [answer] = list(call(iter([request]), metadata=bearer(key), timeout=10))
    assert isinstance(refused.value, grpc.Call)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    names = {s.name for s in answer.list_services_response.service}
    assert {"stigmer.backend.v1.BackendService", "grpc.health.v1.Health"} <= names


def test_keys_are_shown_once_and_listed_without_their_secret(served: tuple[ServerProcess, str]) -> None:
    server, key = served
    home = server.home
    listed = home("server", "keys", "list", "-o", "json").json()
    assert {k["name"] for k in listed if k["active"]} >= {"admin"}
    secret = key.split("_", 2)[-1]
    assert secret not in home("server", "keys", "list").out + str(listed)
    stored = b"".join(p.read_bytes() for p in Path(home.home).glob("local.db*"))
    assert secret.encode() not in stored  # only a salted hash of it
    assert home("server", "keys", "list").lines()[0].split() == ["NAME", "ID", "CREATED", "BY", "STATUS"]

    again = home("server", "keys", "create", "admin", check=False)
    assert again.code == 1 and "already exists" in again.err
    missing = home("server", "keys", "revoke", "nobody", check=False)
    assert missing.code == 1 and "no active API key named 'nobody'" in missing.err


def _v1(name: str) -> Any:
    """A message class of reflection v1, from its own descriptor (package grpc.reflection.v1)."""
    from google.protobuf import descriptor_pool, message_factory

    from stigmer.server.reflection import add_v1_descriptors

    add_v1_descriptors()
    return message_factory.GetMessageClass(
        descriptor_pool.Default().FindMessageTypeByName(f"grpc.reflection.v1.{name}")
    )


def test_reflection_v1_answers_beside_v1alpha(served: tuple[ServerProcess, str]) -> None:
    from google.protobuf import descriptor_pb2

    from stigmer.server.reflection import V1_SERVICE

    server, key = served
    request_type, response_type = _v1("ServerReflectionRequest"), _v1("ServerReflectionResponse")
    assert request_type.DESCRIPTOR.full_name == "grpc.reflection.v1.ServerReflectionRequest"
    requests = [
        request_type(list_services=""),
        request_type(file_containing_symbol="stigmer.backend.v1.BackendService"),
        request_type(file_containing_symbol=V1_SERVICE),
    ]
    with server.channel() as channel:
        call: Any = channel.stream_stream(
            f"/{V1_SERVICE}/ServerReflectionInfo",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_type.FromString,
        )
        listed, backend, itself = list(call(iter(requests), metadata=bearer(key), timeout=10))
    names = {s.name for s in listed.list_services_response.service}
    assert {"stigmer.backend.v1.BackendService", "grpc.health.v1.Health", V1_SERVICE} <= names
    assert "grpc.reflection.v1alpha.ServerReflection" in names
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(b)
        for b in backend.file_descriptor_response.file_descriptor_proto
    ]
    assert any(service.name == "BackendService" for f in files for service in f.service)
    v1_files = [
        descriptor_pb2.FileDescriptorProto.FromString(b)
        for b in itself.file_descriptor_response.file_descriptor_proto
    ]
    assert [f.package for f in v1_files if f.service] == ["grpc.reflection.v1"]
