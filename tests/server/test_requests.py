"""Malformed, invalid and oversized requests get the right status and change nothing; TLS; exposure."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.backend.remote import RemoteBackend
from stigmer.backend.wire import ERROR_TYPE, FIELD
from stigmer.errors import InvalidArgument, NotFound, ResourceExhausted, Unavailable
from tests.builders import skill
from tests.cli.helpers import Stigmer
from tests.server.conftest import create_key, logged_in, server_home
from tests.server.harness import ServerProcess, bearer, raw_call, unary


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """A server that takes requests of at most 1 MiB."""
    home = server_home(tmp_path_factory.mktemp("small"))
    key = create_key(home, "admin")
    server = ServerProcess(home, "--max-request-mb", "1").start()
    try:
        yield server, key
    finally:
        server.stop()


@pytest.fixture
def remote(small: tuple[ServerProcess, str]) -> Iterator[RemoteBackend]:
    backend = RemoteBackend(small[0].url, token=small[1])
    yield backend
    backend.close()


def _writes(backend: RemoteBackend) -> int:
    return int(backend.info().counts["ApiResourceVersion"])


@pytest.mark.parametrize(
    ("method", "request_bytes"),
    [
        ("CreateResource", b"\xff\xff\xff\xff"),
        ("ApplyResources", b"\x0a\x05\x0a\x03\xff\xfe\xfd"),  # a truncated, invalid UTF-8 resource
        ("ImportResources", b"\x0a"),
        ("WatchExecution", b"\x0a\x02\xc3\x28"),  # an execution id that is not UTF-8
    ],
    ids=["garbage", "bad-utf8", "truncated", "stream"],
)
def test_a_malformed_request_is_invalid_and_changes_nothing(
    small: tuple[ServerProcess, str], remote: RemoteBackend, method: str, request_bytes: bytes
) -> None:
    server, key = small
    before = _writes(remote)

    code, details, trailers = raw_call(
        server, method, request_bytes, token=key, stream=method == "WatchExecution"
    )

    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert "not a valid" in details
    assert (ERROR_TYPE, "InvalidArgument") in list(trailers)
    assert _writes(remote) == before


def test_a_request_without_its_resource_is_invalid(
    small: tuple[ServerProcess, str], remote: RemoteBackend
) -> None:
    server, key = small
    code, _, trailers = raw_call(
        server, "CreateResource", pb.CreateResourceRequest().SerializeToString(), token=key
    )

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert (FIELD, b"resource") in list(trailers)


def test_an_invalid_resource_names_its_field_through_the_wire(remote: RemoteBackend) -> None:
    before = _writes(remote)
    with pytest.raises(InvalidArgument) as err:
        remote.create(skill("bad/name"))

    assert (err.value.field, err.value.resource) == ("metadata.name", "Skill/bad/name")
    assert err.value.hint
    assert _writes(remote) == before


def test_an_oversized_request_is_resource_exhausted_and_changes_nothing(remote: RemoteBackend) -> None:
    before = _writes(remote)

    with pytest.raises(ResourceExhausted) as err:
        remote.apply([skill("huge", "x" * (2 * 1024 * 1024))])
    with pytest.raises(ResourceExhausted):
        remote.store_artifact(b"\0" * (2 * 1024 * 1024), name="big.bin")

    assert "--max-request-mb" in err.value.hint
    assert _writes(remote) == before
    with pytest.raises(NotFound):
        remote.get(Skill, "huge")
    assert remote.apply([skill("small", "x" * 1024)])[0].action == "created"  # the server is fine


def test_an_unknown_method_is_unimplemented(small: tuple[ServerProcess, str]) -> None:
    server, key = small
    with server.channel() as channel:
        call = unary(channel, "/stigmer.backend.v1.BackendService/DropAllTables")
        with pytest.raises(grpc.RpcError) as err:
            call(b"", metadata=bearer(key), timeout=10)
    assert isinstance(err.value, grpc.Call)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_stopped_server_is_unavailable_with_a_hint(tmp_path: Path) -> None:
    backend = RemoteBackend("grpc://127.0.0.1:9", token="sk_x_y", retries=1)
    try:
        with pytest.raises(
            Unavailable, match=r"cannot reach the Stigmer server at grpc://127\.0\.0\.1:9"
        ) as err:
            backend.list(Skill)
    finally:
        backend.close()
    assert "stigmer backend status" in err.value.hint


def test_it_refuses_to_listen_beyond_this_machine_without_keys_or_tls(tmp_path: Path) -> None:
    home = server_home(tmp_path)

    no_key = home("server", "--host", "0.0.0.0", "--port", "0", check=False)
    assert no_key.code == 2
    assert "refusing to listen on 0.0.0.0 without any API key" in no_key.err
    assert "--insecure" in no_key.err

    create_key(home, "admin")
    no_tls = home("server", "--host", "0.0.0.0", "--port", "0", check=False)
    assert no_tls.code == 2
    assert "without TLS" in no_tls.err and "--tls-cert" in no_tls.err


def _certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_serves_clients_that_trust_its_certificate(tmp_path: Path, own_server: ServerProcess) -> None:
    cert, key_file = _certificate(tmp_path)
    key = create_key(own_server.home, "admin")
    own_server.args = ["--tls-cert", str(cert), "--tls-key", str(key_file)]
    own_server.start()
    secure_url = f"grpcs://127.0.0.1:{own_server.port}"

    client = Stigmer(tmp_path / "client-home", tmp_path)
    client("login", secure_url, "--token", key, "--ca-cert", str(cert))
    client("apply", "-f", own_server.home.cwd / "examples" / "skills")
    assert client.names("skills") == ["refund-policy"]

    plaintext = RemoteBackend(own_server.url, token=key, retries=0)
    try:
        with pytest.raises(Unavailable):
            plaintext.list(Skill)
    finally:
        plaintext.close()
    untrusted = Stigmer(tmp_path / "other-home", tmp_path)
    refused = untrusted("login", secure_url, "--token", key, check=False)
    assert refused.code == 1 and "cannot reach" in refused.err
    assert not (untrusted.home / "config.yaml").exists()


def test_a_client_with_a_key_of_another_server_is_told_so(
    small: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, key = small
    client = logged_in(tmp_path, server, key)
    (client.home / "credentials.yaml").write_text(f"tokens:\n  {server.url}: sk_0000_nope\n")

    result = client("get", "agents", check=False)

    assert result.code == 1
    assert "Error: the API key was refused" in result.err
    assert "Hint: log in with `stigmer login URL --token KEY`" in result.err
