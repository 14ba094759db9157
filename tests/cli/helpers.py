"""Helpers for CLI tests: the real `stigmer` executable, run in a temporary home.

Tests read like the README: ``stigmer("apply", "-f", "examples/")`` runs the installed
console script in a subprocess with ``STIGMER_HOME`` pointing at a fresh directory and
returns what a user would see (exit code, stdout, stderr).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
EXECUTABLE = Path(sys.executable).parent / "stigmer"

# The resources in examples/, as `apply` reports them (kind/name), in the order it reports them.
EXAMPLE_LABELS = [
    "agent/release-notes-writer",
    "agent/support-bot-scripted",
    "agent/support-bot",
    "environment/staging",
    "mcpserver/helpdesk",
    "skill/refund-policy",
    "workflow/order-update",
    "workflow/weekly-release-notes",
]

# Every kind `get` lists, and `export --all` / `import` carry (executions are listed separately).
LISTED_KINDS = (
    "agents",
    "agentinstances",
    "workflows",
    "workflowinstances",
    "sessions",
    "skills",
    "mcpservers",
    "environments",
)

# Variables from the developer's shell that would change what the CLI does.
_SCRUBBED = (
    "STIGMER_HOME",
    "STIGMER_FAULTS",
    "STIGMER_MODEL",
    "STIGMER_DURABILITY",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
)


@dataclass(frozen=True)
class Result:
    """What a user sees after one command."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.out)

    def lines(self) -> list[str]:
        """stdout as a list of lines."""
        return self.out.splitlines()

    def __str__(self) -> str:
        command = " ".join(self.args)
        return f"$ stigmer {command}\n[exit {self.code}]\n--- stdout\n{self.out}--- stderr\n{self.err}"


class Stigmer:
    """Runs the real `stigmer` command with one home and one working directory."""

    def __init__(self, home: Path, cwd: Path) -> None:
        self.home = home
        self.cwd = cwd

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a command runs in: this home, no faults, no model keys."""
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        env["STIGMER_HOME"] = str(self.home)
        env["HOME"] = str(self.home.parent)
        env["STIGMER_KEYRING"] = "0"  # the master key in $STIGMER_HOME/master.key, never a real keyring
        env.update(extra or {})
        return env

    def __call__(
        self,
        *args: str | Path,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = True,
    ) -> Result:
        """Run ``stigmer ARGS``; with ``check`` (the default) fail the test unless it exits 0."""
        argv = tuple(str(a) for a in args)
        proc = subprocess.run(
            [str(EXECUTABLE), *argv],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=self.env(env),
            cwd=cwd or self.cwd,
            timeout=60,
            check=False,
        )
        result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
        if check and result.code != 0:
            pytest.fail(f"command failed:\n{result}")
        return result

    def start(self, *args: str | Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``stigmer ARGS`` without waiting for it (for concurrency tests)."""
        return subprocess.Popen(
            [str(EXECUTABLE), *(str(a) for a in args)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(env),
            cwd=self.cwd,
        )

    def counts(self) -> dict[str, int]:
        """How many resources of each kind the home holds (history entries included)."""
        counts = self("backend", "status", "-o", "json").json()["counts"]
        return {str(k): int(v) for k, v in counts.items()}

    def names(self, kind: str) -> list[str]:
        """The names `get KIND -o json` lists."""
        return [item["metadata"]["name"] for item in self("get", kind, "-o", "json").json()]

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        """`get KIND NAME -o json`, parsed."""
        data: dict[str, Any] = self("get", kind, name, "-o", "json").json()
        return data

    @property
    def database(self) -> Path:
        return self.home / "local.db"


def pending_input(stigmer: Stigmer, *, after_step: int = -1, timeout: float = 60) -> dict[str, Any]:
    """The newest run, once it shows a request of its MCP server for a person (``pendingInput``)
    recorded after step ``after_step`` (a sign-in has no step: 0); fails the test when none
    comes within ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = stigmer("execution", "list", "-o", "json").json()
        pending = runs[0]["status"].get("pendingInput", {}) if runs else {}
        if pending and int(pending.get("step", 0)) > after_step:
            return dict(runs[0])
        time.sleep(0.1)
    pytest.fail(f"no run came to wait for a person within {timeout:g}s")


def write(path: Path, text: str) -> Path:
    """Write a (dedented) file, creating its directory; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def skill_yaml(name: str, content: str = "Be kind.") -> str:
    """A Skill resource file."""
    return (
        "apiVersion: agentic.stigmer.ai/v1\n"
        "kind: Skill\n"
        f"metadata:\n  name: {name}\n"
        f"spec:\n  content: {content}\n"
    )


def table(text: str) -> list[dict[str, str]]:
    """Rows of a table the CLI printed, keyed by header (headers may hold one space: "MCP SERVERS")."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", lines[0])]
    headers = [lines[0][a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
    return [
        {h: line[a:b].strip() for h, a, b in zip(headers, starts, [*starts[1:], None], strict=True)}
        for line in lines[1:]
    ]


def headers(text: str) -> list[str]:
    """The header row of a table the CLI printed."""
    first = text.splitlines()[0]
    return re.findall(r"\S+(?: \S+)*", first)


def create_executions(stigmer: Stigmer) -> tuple[str, str]:
    """Record one pending agent execution and one pending workflow execution; return their ids.

    No CLI command starts an execution yet, so this writes them through the backend, as
    `stigmer agent execute --detach` will.
    """
    from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
    from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
    from stigmer.backend.local import LocalBackend

    backend = LocalBackend.open(stigmer.database)
    try:
        agent_run = AgentExecution()
        agent_run.spec.agent = "support-bot"
        agent_run.spec.message = "Where is order 42?"
        workflow_run = WorkflowExecution()
        workflow_run.spec.workflow = "weekly-release-notes"
        workflow_run.spec.inputs.update({"week": "2026-W47"})
        return (
            backend.create_execution(agent_run).metadata.id,
            backend.create_execution(workflow_run).metadata.id,
        )
    finally:
        backend.close()


def workdir(path: Path) -> Path:
    """A working directory holding a copy of examples/, so tests may edit it."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLES, path / "examples")
    return path


__all__ = [
    "EXAMPLES",
    "EXAMPLE_LABELS",
    "EXECUTABLE",
    "LISTED_KINDS",
    "Result",
    "Stigmer",
    "create_executions",
    "headers",
    "skill_yaml",
    "table",
    "workdir",
    "write",
]
