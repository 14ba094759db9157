"""Limits on what a run keeps: an http response larger than its limit fails the attempt,
and nothing of it is stored."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.cli.helpers import Stigmer


@pytest.fixture
def big_server() -> Iterator[str]:
    """GET /N answers N bytes of 'x' (streamed in 64 KB chunks)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            size = int(self.path.strip("/"))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for start in range(0, size, len(chunk)):
                    self.wfile.write(chunk[: min(len(chunk), size - start)])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading at its limit

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _workflow(url: str, limit: int | None = None) -> str:
    extra = f", maxResponseBytes: {limit}" if limit is not None else ""
    return f"""
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {{name: fetch}}
spec:
  tasks:
    - {{name: get, http: {{method: GET, url: "{url}"{extra}}}}}
"""


def _stored_bytes(stigmer: Stigmer) -> int:
    return sum(p.stat().st_size for p in stigmer.home.glob("local.db*"))


def test_a_response_past_the_default_limit_fails_and_is_not_stored(stigmer: Stigmer, big_server: str) -> None:
    stigmer("apply", "-f", "-", input=_workflow(f"{big_server}/{12 * 1024 * 1024}"))
    result = stigmer("workflow", "execute", "fetch", "-o", "json", check=False)
    assert result.code == 1
    assert (
        "RESPONSE_TOO_LARGE" in result.out + result.err
        or "larger than 10485760 bytes" in result.out + result.err
    )
    assert _stored_bytes(stigmer) < 4 * 1024 * 1024


def test_max_response_bytes_of_a_task(stigmer: Stigmer, big_server: str) -> None:
    stigmer("apply", "-f", "-", input=_workflow(f"{big_server}/2000", limit=1000))
    result = stigmer("workflow", "execute", "fetch", "-o", "json", check=False)
    assert result.code == 1 and "larger than 1000 bytes (maxResponseBytes)" in result.out + result.err
    stigmer("apply", "-f", "-", input=_workflow(f"{big_server}/900", limit=1000))
    done = stigmer("workflow", "execute", "fetch", "-o", "json")
    assert "x" * 900 in done.out


BOUNDED = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {{name: bounded}}
spec:
  inputs: {{n: integer, x: {{type: number, required: false}}}}
  tasks:
    - {task}
"""


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ("{name: a, set: {x: 1}, timeout: forever}", "spec.tasks[0].timeout"),
        ("{name: a, set: {x: 1}, timeout: 0s}", "spec.tasks[0].timeout"),
        ("{name: a, set: {x: 1}, timeout: 400d}", "spec.tasks[0].timeout"),
        ("{name: a, set: {x: 1}, retry: {maxAttempts: -1}}", "spec.tasks[0].retry.maxAttempts"),
        (
            "{name: a, set: {x: 1}, retry: {maxAttempts: 3, backoff: {initial: soon}}}",
            "spec.tasks[0].retry.backoff.initial",
        ),
        (
            "{name: a, forEach: {items: '${[1]}', concurrency: -3, do: {name: b, set: {}}}}",
            "spec.tasks[0].forEach.concurrency",
        ),
        ("{name: a, wait: {duration: never}}", "spec.tasks[0].wait.duration"),
        ("{name: a, approval: {message: ok?, timeout: '-1s'}}", "spec.tasks[0].approval.timeout"),
        ("{name: a, http: {url: 'http://x', maxResponseBytes: -1}}", "spec.tasks[0].http.maxResponseBytes"),
    ],
)
def test_bounds_are_checked_at_apply(stigmer: Stigmer, task: str, field: str) -> None:
    result = stigmer("apply", "-f", "-", input=BOUNDED.format(task=task), check=False)
    assert result.code == 2, result
    assert field in result.err and "Traceback" not in result.err
    assert stigmer.names("workflow") == []


def test_inputs_are_checked_against_their_types_before_a_run_exists(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", "-", input=BOUNDED.format(task="{name: a, set: {x: 1}}"))
    for given in ("n=9007199254740992", "n=-9223372036854775809", "n=1e400"):
        result = stigmer("workflow", "execute", "bounded", "--input", given, check=False)
        assert result.code == 2 and "inputs.n" in result.err, (given, result)
    result = stigmer("workflow", "execute", "bounded", "--input", "n=1", "--input", "x=1e999", check=False)
    assert result.code == 2 and "inputs.x" in result.err
    assert stigmer("execution", "list", "-o", "json").json() == []
    done = stigmer("workflow", "execute", "bounded", "--input", "n=9007199254740991", "-o", "json")
    assert "9007199254740991" in done.out


def test_a_tool_result_past_the_limit_is_an_error_and_is_not_kept() -> None:
    import mcp_types

    from stigmer.mcp.connection import to_tool_result

    big = mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text="y" * (10 * 1024 * 1024 + 1))]
    )
    result = to_tool_result(big)
    assert result.is_error and "larger than 10485760 bytes" in result.text and "yyyy" not in result.text
    small = to_tool_result(mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text="ok")]))
    assert (small.text, small.is_error) == ("ok", False)
