"""A server's code-execution and egress policy, against a real `stigmer server` on 127.0.0.1.

An editor key cannot make the server's host run code, start a command or reach a loopback,
private or cloud-metadata address; locally, on your own machine, all of it stays allowed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import grpc
import pytest
import yaml

from stigmer.api.backend.v1 import backend_pb2 as pb
from stigmer.backend.wire import FIELD, pack
from stigmer.config import load_token
from stigmer.resources.decode import decode
from stigmer.resources.documents import parse
from tests.cli.helpers import Stigmer, workdir
from tests.fixtures.http_counter import counting_server
from tests.server.conftest import server_home
from tests.server.harness import ServerProcess, raw_call

RUN_ID = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: run-id}
spec:
  tasks:
    - {name: shell, python: "subprocess:getoutput", inputs: {cmd: "id"}}
"""
STDIO_MCP = """
apiVersion: agentic.stigmer.ai/v1
kind: McpServer
metadata: {name: shell}
spec: {stdio: {command: sh, args: ["-c", "id"]}}
"""
HTTP_MCP = """
apiVersion: agentic.stigmer.ai/v1
kind: McpServer
metadata: {name: remote-tools}
spec: {http: {url: "https://tools.example.com/mcp"}}
"""
INLINE_STDIO_AGENT = """
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {name: sneaky}
spec:
  instructions: hi
  model: scripted
  mcpServers: [{name: sh, stdio: {command: bash}}]
"""


def fetch(url: str) -> str:
    return f"""
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {{name: fetch}}
spec:
  tasks:
    - name: get
      http: {{method: POST, url: "{url}", body: {{hello: world}}}}
"""


def _configure(home: Stigmer, server: dict[str, object] | None) -> None:
    path = home.home / "config.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    data = data or {}
    data.pop("server", None)
    if server is not None:
        data["server"] = server
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


@pytest.fixture
def strict(tmp_path: Path) -> tuple[ServerProcess, Stigmer]:
    """A server with the default policy, and a client home logged in with an editor key."""
    home = server_home(tmp_path)
    home("init")
    _configure(home, None)
    key = home("server", "keys", "create", "ed", "--role", "editor").out.strip()
    server = ServerProcess(home, trusting=False).start()
    client = Stigmer(tmp_path / "client", workdir(tmp_path / "client-work"))
    client("login", server.url, "--token", key)
    return server, client


def _file(client: Stigmer, name: str, text: str) -> Path:
    path = client.cwd / name
    path.write_text(text, encoding="utf-8")
    return path


def test_python_tasks_and_stdio_commands_are_refused_at_apply(strict: tuple[ServerProcess, Stigmer]) -> None:
    server, client = strict
    try:
        for text, field, key in (
            (RUN_ID, "spec.tasks[0].python", "server.python.allowedModules"),
            (STDIO_MCP, "spec.stdio.command", "server.mcp.allowedCommands"),
            (INLINE_STDIO_AGENT, "spec.mcpServers[0].stdio.command", "server.mcp.allowedCommands"),
        ):
            result = client("apply", "-f", _file(client, "r.yaml", text), check=False)
            assert result.code == 2, result
            assert field in result.err and key in result.err, result.err
            assert "Traceback" not in result.err
        assert client.names("workflow") == [] and client.names("mcpserver") == []
        client("apply", "-f", _file(client, "http.yaml", HTTP_MCP))  # HTTP MCP servers are fine
        assert client.names("mcpserver") == ["remote-tools"]
        # on the wire: INVALID_ARGUMENT with the field
        workflow = decode(parse(RUN_ID, "wire")[0])
        request = pb.ApplyResourcesRequest(resources=[pack(workflow)]).SerializeToString()
        code, details, trailers = raw_call(server, "ApplyResources", request, token=_token(client))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "server.python.allowedModules" in details
        assert (FIELD, b"spec.tasks[0].python") in list(trailers)
    finally:
        server.stop()


def _token(client: Stigmer) -> str:
    server = str(yaml.safe_load((client.home / "config.yaml").read_text(encoding="utf-8"))["server"])
    return load_token(client.home, server)


def test_a_python_task_applied_while_allowed_is_refused_at_run_time(tmp_path: Path) -> None:
    home = server_home(tmp_path)
    home("init")
    _configure(home, {"python": {"allowedModules": ["subprocess"]}})
    key = home("server", "keys", "create", "ed", "--role", "editor").out.strip()
    server = ServerProcess(home, trusting=False).start()
    try:
        client = Stigmer(tmp_path / "client", workdir(tmp_path / "client-work"))
        client("login", server.url, "--token", key)
        client("apply", "-f", _file(client, "r.yaml", RUN_ID))
        server.stop()
        _configure(home, None)  # the operator takes it back
        server.start()
        result = client("workflow", "execute", "run-id", "-o", "json", check=False)
        assert result.code == 1, result
        assert "server.python.allowedModules" in result.out + result.err
        assert "uid=" not in result.out + result.err
    finally:
        server.stop()


def test_http_tasks_reach_no_loopback_or_metadata_address_unless_allowed(tmp_path: Path) -> None:
    home = server_home(tmp_path)
    home("init")
    _configure(home, None)
    key = home("server", "keys", "create", "ed", "--role", "editor").out.strip()
    server = ServerProcess(home, trusting=False).start()
    try:
        client = Stigmer(tmp_path / "client", workdir(tmp_path / "client-work"))
        client("login", server.url, "--token", key)
        with counting_server() as hits:
            port = hits.url.rsplit(":", 1)[1].split("/")[0]
            for url in (hits.url, f"http://localhost:{port}/", "http://169.254.169.254/latest/meta-data/"):
                client("apply", "-f", _file(client, "f.yaml", fetch(url)))
                result = client("workflow", "execute", "fetch", "-o", "json", check=False)
                assert result.code == 1, (url, result)
                assert "server.egress.allow" in result.out + result.err, result
            assert hits.requests == []
            server.stop()
            _configure(home, {"egress": {"allow": ["127.0.0.1"]}})
            server.start()
            client("apply", "-f", _file(client, "f.yaml", fetch(hits.url)))
            done = client("workflow", "execute", "fetch", "-o", "json")
            assert json.loads(done.out)["status"]["phase"] == "COMPLETED"
            assert len(hits.requests) == 1
    finally:
        server.stop()


def test_locally_python_tasks_and_loopback_stay_allowed(tmp_path: Path) -> None:
    home = Stigmer(tmp_path / "home", workdir(tmp_path / "work"))
    home("apply", "-f", _file(home, "r.yaml", RUN_ID))
    done = home("workflow", "execute", "run-id", "-o", "json")
    assert "uid=" in done.out
    with counting_server() as hits:
        home("apply", "-f", _file(home, "f.yaml", fetch(hits.url)))
        home("workflow", "execute", "fetch", "-o", "json")
        assert len(hits.requests) == 1


def _worker_home(tmp_path: Path, name: str, url: str, key: str, settings: Mapping[str, object]) -> Stigmer:
    """A `stigmer worker` machine logged in to the server, with its own `server:` settings."""
    worker = Stigmer(tmp_path / name, workdir(tmp_path / f"{name}-work"))
    worker("login", url, "--token", key)
    _configure(worker, {"url": url, **settings})
    return worker


def test_a_worker_on_another_machine_follows_the_servers_policy(tmp_path: Path) -> None:
    home = server_home(tmp_path)
    home("init")
    _configure(home, {"python": {"allowedModules": ["subprocess"]}})
    editor = home("server", "keys", "create", "ed", "--role", "editor").out.strip()
    runs = home("server", "keys", "create", "box", "--role", "worker").out.strip()
    server = ServerProcess(home, "--no-worker", trusting=False).start()
    try:
        client = Stigmer(tmp_path / "client", workdir(tmp_path / "client-work"))
        client("login", server.url, "--token", editor)
        client("apply", "-f", _file(client, "r.yaml", RUN_ID))
        for name, settings, phase in (
            ("strict-box", {}, "FAILED"),  # nothing said: strict, as on a server
            ("trusted-box", {"python": {"allowedModules": ["subprocess"]}}, "COMPLETED"),
        ):
            worker = _worker_home(tmp_path, name, server.url, runs, settings)
            process = worker.start("worker")
            try:
                result = client("workflow", "execute", "run-id", "-o", "json", check=False)
            finally:
                process.terminate()
                process.communicate(timeout=30)
            assert json.loads(result.out)["status"]["phase"] == phase, result
            if phase == "FAILED":
                assert "server.python.allowedModules" in result.out + result.err
                assert "uid=" not in result.out
            else:
                assert "uid=" in result.out
    finally:
        server.stop()
