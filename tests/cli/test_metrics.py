"""`stigmer server --metrics-port`: run metrics as Prometheus text, scraped and parsed."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from .helpers import Stigmer, table, write

SEEKER = {
    "apiVersion": "agentic.stigmer.ai/v1",
    "kind": "Agent",
    "metadata": {"name": "seeker"},
    "spec": {
        "instructions": "Look.",
        "model": {
            "provider": "scripted",
            "options": {
                "script": [
                    {"toolCalls": [{"name": "nowhere"}]},
                    {"toolCalls": [{"name": "nowhere"}]},
                    {"text": "Gave up."},
                ]
            },
        },
    },
}

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str], float]]]:
    """(the TYPE of each metric, every sample) of Prometheus text; fails on a line that is neither."""
    types: dict[str, str] = {}
    samples = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
        elif line.startswith("# HELP ") or not line:
            continue
        else:
            match = SAMPLE.match(line)
            assert match, f"not a Prometheus sample: {line!r}"
            labels = dict(LABEL.findall(match.group(3) or ""))
            samples.append((match.group(1), labels, float(match.group(4))))
    return types, samples


def value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, got, v in samples if n == name and all(got.get(k) == w for k, w in labels.items()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(stigmer: Stigmer) -> Iterator[str]:
    """`stigmer server` of this home with its worker and --metrics-port; the metrics URL."""
    port = free_port()
    process = stigmer.start("server", "--port", "0", "--metrics-port", str(port))
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                    break
            except OSError:
                assert process.poll() is None, process.communicate()[1]
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def scrape(url: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str], float]]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return parse(response.read().decode("utf-8"))


def wait_for(url: str, name: str, want: float, **labels: str) -> list[tuple[str, dict[str, str], float]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _, samples = scrape(url)
        if value(samples, name, **labels) >= want:
            return samples
        time.sleep(0.2)
    raise AssertionError(f"{name}{labels} never reached {want}: {samples}")


def test_the_server_shows_run_metrics_as_prometheus_text(stigmer: Stigmer) -> None:
    # A run killed mid-way before the server starts: its worker takes it over. (A server runs
    # no stdio MCP server its operator did not allow: the agent's tools are unknown ones.)
    stigmer("apply", "-f", write(stigmer.cwd / "a.json", json.dumps(SEEKER)))
    faults = {"STIGMER_FAULTS": "agent.tool_recorded=1"}
    killed = stigmer("agent", "execute", "seeker", "Find it", env=faults, check=False)
    assert killed.code == -signal.SIGKILL
    workflow = (
        "apiVersion: agentic.stigmer.ai/v1\nkind: Workflow\nmetadata: {name: pair}\n"
        "spec:\n  tasks:\n    - {name: one, set: {x: 1}}\n    - {name: two, dependsOn: [one], set: {y: 2}}\n"
    )
    stigmer("apply", "-f", write(stigmer.cwd / "w.yaml", workflow))
    with _serving(stigmer) as url:
        stigmer("workflow", "execute", "pair", "--detach")
        samples = wait_for(url, "stigmer_executions_finished_total", 2)
        types, samples = scrape(url)
    assert value(samples, "stigmer_executions_finished_total", kind="agent", phase="COMPLETED") == 1
    assert value(samples, "stigmer_executions_finished_total", kind="workflow", phase="COMPLETED") == 1
    assert value(samples, "stigmer_executions_started_total", kind="agent") == 1
    assert value(samples, "stigmer_lease_takeovers_total", kind="agent") == 1
    assert types["stigmer_executions_finished_total"] == "counter"
    assert types["gen_ai_client_operation_duration_seconds"] == "histogram"
    # Nothing waits for a worker any more: the queue's depth, read from the store at the scrape.
    assert types["stigmer_executions_queued"] == "gauge"
    assert [(labels, v) for n, labels, v in samples if n == "stigmer_executions_queued"] == [
        ({"kind": "agent"}, 0),
        ({"kind": "workflow"}, 0),
    ]
    # The three model calls of the run, the first one made before the kill.
    model = {"gen_ai_provider_name": "scripted", "gen_ai_request_model": "scripted"}
    assert value(samples, "gen_ai_client_operation_duration_seconds_count", **model) == 3
    record = stigmer("execution", "list", "--kind", "agent", "-o", "json").json()[0]
    assert record["status"]["takenOverFrom"]
    usage = record["status"]["usage"]
    assert (
        value(samples, "gen_ai_client_token_usage_tokens_sum", gen_ai_token_type="input")
        == usage["inputTokens"]
    )
    assert (
        value(samples, "gen_ai_client_token_usage_tokens_sum", gen_ai_token_type="output")
        == usage["outputTokens"]
    )
    assert value(samples, "stigmer_task_attempt_duration_seconds_count", stigmer_workflow_name="pair") == 2
    buckets = [v for n, labels, v in samples if n == "stigmer_task_attempt_duration_seconds_bucket"]
    assert buckets == sorted(buckets)  # cumulative
    (row,) = [r for r in table(stigmer("execution", "list").out) if r["KIND"] == "workflow"]
    assert row["PHASE"] == "COMPLETED"


def test_a_metrics_port_out_of_range_is_refused(stigmer: Stigmer) -> None:
    result = stigmer("server", "--metrics-port", "99999", check=False)
    assert result.code == 2 and "--metrics-port" in result.err
