"""Webhooks against a real `stigmer ui` on 127.0.0.1: signed deliveries start their workflow once."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stigmer.triggers.webhooks import sign
from tests.cli.helpers import Stigmer, workdir, write
from tests.ui.harness import DashboardProcess

SECRET = "It's a Secret to Everybody"
HOOKS = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: review-pr}
spec:
  inputs: {number: integer, event: string, title: string}
  tasks:
    - name: note
      set: {line: "PR ${workflow.inputs.number} (${workflow.inputs.event}): ${workflow.inputs.title}"}
  outputs: {line: "${tasks.note.outputs.line}"}
---
apiVersion: agentic.stigmer.ai/v1
kind: Webhook
metadata: {name: github-prs}
spec:
  workflow: review-pr
  environment: hooks
  when: "${headers['x-github-event'] == 'pull_request'}"
  inputs:
    number: "${body.pull_request.number}"
    event: "${headers['x-github-event']}"
    title: "${body.pull_request.title}"
"""
PAYLOAD = {"action": "opened", "pull_request": {"number": 42, "title": "Add schedules"}}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Stigmer:
    root = tmp_path_factory.mktemp("hooks")
    stigmer = Stigmer(root / "home", workdir(root / "work"))
    write(stigmer.cwd / "hooks.yaml", HOOKS)
    stigmer("env", "create", "hooks", "--secret", f"WEBHOOK_SECRET={SECRET}")
    stigmer("apply", "-f", "hooks.yaml")
    return stigmer


@pytest.fixture(scope="module")
def ui(home: Stigmer) -> Iterator[DashboardProcess]:
    with DashboardProcess(home) as running:
        yield running


def post(
    ui: DashboardProcess, name: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", ui.port, timeout=30)
    try:
        conn.request(
            "POST",
            f"/hooks/{name}",
            body=body,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def github_headers(
    body: bytes, delivery: str, *, secret: str = SECRET, event: str = "pull_request"
) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(secret, body),
        "User-Agent": "GitHub-Hookshot/abc",
    }


def webhook_runs(home: Stigmer) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = home("execution", "list", "--trigger", "webhook", "-o", "json").json()
    return listed


def finished(home: Stigmer, execution_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found: dict[str, Any] = home("execution", "get", execution_id, "-o", "json").json()
        if found["status"].get("phase") in ("COMPLETED", "FAILED", "CANCELLED"):
            return found
        time.sleep(0.1)
    raise AssertionError(f"{execution_id} did not finish")


def test_a_signed_github_delivery_starts_the_workflow_with_the_payload_mapped_to_inputs(
    home: Stigmer, ui: DashboardProcess
) -> None:
    body = json.dumps(PAYLOAD).encode()
    status, answer = post(ui, "github-prs", body, github_headers(body, "d-1"))
    assert status == 202, answer
    run = finished(home, answer["executionId"])
    assert run["status"]["phase"] == "COMPLETED"
    assert run["spec"]["inputs"] == {"number": 42, "event": "pull_request", "title": "Add schedules"}
    assert run["status"]["outputs"] == {"line": "PR 42 (pull_request): Add schedules"}
    assert run["spec"]["trigger"] == {"type": "webhook", "source": "github-prs", "deliveryId": "d-1"}
    shown = home("execution", "get", answer["executionId"]).out
    assert "Started by: webhook github-prs, delivery d-1" in shown


def test_a_replayed_delivery_is_refused_and_starts_nothing(home: Stigmer, ui: DashboardProcess) -> None:
    body = json.dumps({**PAYLOAD, "replay": True}).encode()
    assert post(ui, "github-prs", body, github_headers(body, "d-2"))[0] == 202
    before = len(webhook_runs(home))
    status, answer = post(ui, "github-prs", body, github_headers(body, "d-2"))
    assert (status, answer["code"]) == (409, "REPLAYED")
    assert len(webhook_runs(home)) == before


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 401),  # unsigned
        ({"X-Hub-Signature-256": sign("not the secret", b"{}")}, 401),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, 401),
    ],
)
def test_unsigned_or_badly_signed_deliveries_are_refused(
    home: Stigmer, ui: DashboardProcess, headers: dict[str, str], expected: int
) -> None:
    body = json.dumps(PAYLOAD).encode()
    before = len(webhook_runs(home))
    status, answer = post(
        ui, "github-prs", body, {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "bad", **headers}
    )
    assert (status, answer["code"]) == (expected, "BAD_SIGNATURE")
    assert len(webhook_runs(home)) == before


def test_a_2mb_body_is_refused_unread(home: Stigmer, ui: DashboardProcess) -> None:
    body = json.dumps({"pull_request": {"number": 1, "title": "x" * 2_000_000}}).encode()
    before = len(webhook_runs(home))
    status, answer = post(ui, "github-prs", body, github_headers(body, "d-big"))
    assert (status, answer["code"]) == (413, "TOO_LARGE")
    assert len(webhook_runs(home)) == before


def test_the_generic_signature_header_and_a_false_when(home: Stigmer, ui: DashboardProcess) -> None:
    body = json.dumps(PAYLOAD).encode()
    status, answer = post(ui, "github-prs", body, github_headers(body, "d-ping", event="ping"))
    assert (status, answer["started"]) == (200, False)  # `when` filters it out
    generic = {
        "X-Stigmer-Signature": sign(SECRET, body),
        "X-Stigmer-Delivery": "g-1",
        "X-GitHub-Event": "pull_request",
    }
    status, answer = post(ui, "github-prs", body, generic)
    assert status == 202 and answer["deliveryId"] == "g-1"


def test_an_unknown_webhook_is_404(ui: DashboardProcess) -> None:
    assert post(ui, "nope", b"{}")[0] == 404


def test_a_webhook_without_its_environment_is_refused_on_apply(tmp_path: Path) -> None:
    stigmer = Stigmer(tmp_path / "home", workdir(tmp_path / "work"))
    write(
        stigmer.cwd / "bad.yaml",
        "apiVersion: agentic.stigmer.ai/v1\nkind: Webhook\nmetadata: {name: h}\nspec: {workflow: w}\n",
    )
    result = stigmer("apply", "-f", "bad.yaml", check=False)
    assert result.code == 2 and "spec.environment" in result.err
    assert stigmer("get", "webhooks", "-o", "json").json() == []


def test_stigmer_server_serves_hooks_beside_its_dashboard_without_an_api_key(tmp_path: Path) -> None:
    import re
    from urllib.parse import urlsplit

    from tests.server.harness import ServerProcess
    from tests.ui.harness import wait_for

    stigmer = Stigmer(tmp_path / "home", workdir(tmp_path / "work"))
    write(stigmer.cwd / "hooks.yaml", HOOKS)
    stigmer("env", "create", "hooks", "--secret", f"WEBHOOK_SECRET={SECRET}")
    stigmer("apply", "-f", "hooks.yaml")
    stigmer("server", "keys", "create", "admin")
    server = ServerProcess(stigmer, "--ui-port", "0").start()
    try:
        found = wait_for(lambda: re.search(r"dashboard: (http://127\.0\.0\.1:\d+/)", server.output()))
        port = urlsplit(found.group(1)).port
        assert port is not None
        target = DashboardProcess(stigmer)
        target.port = port  # the server's HTTP side, addressed like a dashboard
        body = json.dumps(PAYLOAD).encode()
        assert post(target, "github-prs", body, {"X-Hub-Signature-256": "sha256=00"})[0] == 401
        status, answer = post(target, "github-prs", body, github_headers(body, "srv-1"))
        assert status == 202, answer
        run = finished(stigmer, answer["executionId"])  # the server's worker ran it
        assert run["status"]["outputs"] == {"line": "PR 42 (pull_request): Add schedules"}
    finally:
        server.stop()
