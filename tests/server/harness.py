"""`stigmer server` as a subprocess on 127.0.0.1, for tests: started, killed, restarted, always stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import grpc

from tests.cli.helpers import EXECUTABLE, Stigmer

READY = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
# What the operator of a test server allows (config.yaml `server:`): this venv's `python` for the
# example MCP servers, the test suite's step modules, and the fixtures' servers on 127.0.0.1.
TRUSTING = {
    "python": {"allowedModules": ["wfsteps", "batchsteps", "app"]},
    "mcp": {"allowedCommands": ["python", sys.executable]},
    "egress": {"allow": ["127.0.0.0/8", "::1"]},
}


def trust_fixtures(home: Stigmer) -> None:
    """Write TRUSTING into ``home``'s config.yaml, unless it says what its server allows."""
    import yaml

    path = home.home / "config.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    data = data if isinstance(data, dict) else {}
    if isinstance(data.get("server"), dict):
        return
    data["server"] = {**TRUSTING, **({"url": data["server"]} if data.get("server") else {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")


class ServerProcess:
    """One `stigmer server` over ``home``'s database; its stderr goes to a file.

    Args:
        home: The server's Stigmer home (the CLI helper that runs in it).
        args: Extra arguments for `stigmer server`.
        env: Extra environment variables.
        trusting: Let the server run the suite's fixtures (see TRUSTING); else its config decides.
    """

    def __init__(
        self, home: Stigmer, *args: str, env: dict[str, str] | None = None, trusting: bool = True
    ) -> None:
        self.home = home
        self.trusting = trusting
        self.args = list(args)
        self.env = env or {}
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home.home.parent / "server.log"
        self.starts = 0

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 20) -> ServerProcess:
        """Start it (on the port of the last start, if any) and wait until it listens."""
        offset = self.start_unready()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = READY.search(self.log.read_bytes()[offset:].decode("utf-8", "replace"))
            if found:
                self.port = int(found.group(1))
                return self
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the server exited ({self.process.returncode}):\n{self.output()}")
            time.sleep(0.02)
        raise AssertionError(f"the server did not start:\n{self.output()}")

    def start_unready(self) -> int:
        """Start it without waiting; the offset of this start's output in the log."""
        self.starts += 1
        if self.trusting:
            trust_fixtures(self.home)
        offset = self.log.stat().st_size if self.log.exists() else 0
        # The server runs agents' MCP servers with `python`: the one of this venv.
        env = self.home.env(
            {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **self.env}
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(EXECUTABLE), "server", "--port", str(self.port), *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                cwd=self.home.cwd,
            )
        return offset

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, as a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM, and wait for the graceful shutdown; the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop(self) -> None:
        """Stop it whatever state it is in (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.terminate(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.target)


def _same(data: bytes) -> bytes:
    return data


def unary(channel: grpc.Channel, path: str) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
    """A unary method of the channel, taking and giving raw bytes."""
    return channel.unary_unary(path, request_serializer=_same, response_deserializer=_same)


def bearer(token: str | None) -> tuple[tuple[str, str | bytes], ...]:
    """The call metadata that carries ``token`` (none for None)."""
    return (("authorization", f"Bearer {token}"),) if token else ()


def raw_call(
    server: ServerProcess,
    method: str,
    request: bytes,
    *,
    token: str | None = None,
    stream: bool = False,
) -> tuple[grpc.StatusCode, str, Sequence[tuple[str, str | bytes]]]:
    """Call ``/stigmer.backend.v1.BackendService/<method>`` with raw bytes: (code, details, trailers)."""
    metadata = bearer(token)
    with server.channel() as channel:
        path = f"/stigmer.backend.v1.BackendService/{method}"
        try:
            if stream:
                watch = channel.unary_stream(path, request_serializer=_same, response_deserializer=_same)
                for _ in watch(request, metadata=metadata, timeout=10):
                    pass
            else:
                unary(channel, path)(request, metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            assert isinstance(exc, grpc.Call)
            return exc.code(), exc.details() or "", exc.trailing_metadata() or ()
    return grpc.StatusCode.OK, "", ()


__all__ = ["ServerProcess", "bearer", "raw_call", "unary"]
