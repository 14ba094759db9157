"""Real model servers on 127.0.0.1 for tests, started as subprocesses."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stigmer.models.local import embedded_model_path
from tests.fixtures.network import free_port


@contextmanager
def llama_cpp_server(log: Path, timeout: float = 60.0) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with the embedded SmolLM2; yields its base URL."""
    model = embedded_model_path()
    assert model is not None, "the embedded model is not installed: pip install 'stigmer[local]'"
    port = free_port()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(model), "--model_alias", "smollm2",
                "--host", "127.0.0.1", "--port", str(port),
                "--n_ctx", "2048", "--n_threads", "2",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base_url = f"http://127.0.0.1:{port}/v1"
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"llama_cpp.server exited {proc.returncode}:\n{log.read_text()}")
                try:
                    with opener.open(f"{base_url}/models", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"llama_cpp.server did not answer in {timeout}s:\n{log.read_text()}")
                time.sleep(0.1)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


__all__ = ["free_port", "llama_cpp_server"]
