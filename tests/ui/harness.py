"""`stigmer ui` as a subprocess on 127.0.0.1, a real headless Chromium, and plain HTTP calls.

The browser is Debian's Chromium (``/usr/bin/chromium``, installed by ``scripts/bootstrap``),
driven by Playwright; Playwright's own browser download is never used. A missing browser
fails the tests with the command that installs it: a skipped test would hide a dashboard
that nobody checked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import EXECUTABLE, Stigmer, write

READY = re.compile(r"stigmer ui \S+: (http://127\.0\.0\.1:(\d+)/)")
BANNER_END = "Ctrl-C stops it."
# As the machine notes say: no sandbox as root, no GPU, and none of Chromium's own traffic
# (updates, sync, field trials), which a machine without network would refuse many times a second.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "the dashboard's browser tests need Debian's Chromium (/usr/bin/chromium): run ./scripts/bootstrap "
    "as root (it installs it), or `sudo apt-get install --no-install-recommends chromium`; or point "
    "STIGMER_CHROMIUM at another Chromium"
)


def chromium_path() -> str:
    """Where Chromium is; fails the test (never skips it) when it is missing."""
    chosen = os.environ.get("STIGMER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chosen).is_file():
        pytest.fail(f"no Chromium at {chosen}: {INSTALL_HINT}", pytrace=False)
    return chosen


# A workflow that waits for a person: quick, deterministic, no model and no tools.
RELEASE_GATE = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: release-gate, labels: {team: eng}}
spec:
  description: Prepares release notes for each channel, asks a person, then publishes.
  inputs:
    version: {type: string, description: The version to release}
    channels: {type: array, required: false, default: [web, mail]}
    urgent: {type: boolean, required: false, default: false}
  tasks:
    - name: prepare
      set: {title: "Release ${workflow.inputs.version}"}
    - name: notes
      dependsOn: [prepare]
      forEach:
        items: "${workflow.inputs.channels}"
        do: {name: note, set: {channel: "${item}", text: "${tasks.prepare.outputs.title} on ${item}"}}
    - name: sign-off
      dependsOn: [prepare]
      approval: {message: "Publish ${tasks.prepare.outputs.title}?"}
    - name: publish
      dependsOn: [notes, sign-off]
      set: {published: true, channels: "${length(workflow.inputs.channels)}"}
  outputs:
    title: "${tasks.prepare.outputs.title}"
    published: "${tasks.publish.outputs.published}"
    notes: "${tasks.notes.outputs.results}"
"""

# An agent whose one tool call needs a person's yes (refund_order, in examples/mcpservers).
REFUND_BOT = """
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {name: refund-bot}
spec:
  description: Refunds orders, after a person approves each refund.
  instructions: Refund the order you are asked about.
  model:
    provider: scripted
    options:
      script:
        - toolCalls: [{name: refund_order, arguments: {id: A-1}}]
        - text: "Refunded order A-1."
  mcpServers: [helpdesk]
"""

STAGING_SECRET = "s3cr3t-value-never-shown"


def dashboard_home(root: Path) -> Stigmer:
    """A home with examples/, the two resources above and a secret in an Environment applied."""
    from tests.cli.helpers import workdir

    home = Stigmer(root / "home", workdir(root / "work"))
    write(home.cwd / "ui" / "release-gate.yaml", RELEASE_GATE)
    write(home.cwd / "ui" / "refund-bot.yaml", REFUND_BOT)
    home("apply", "-f", "examples/", "-f", "ui/")
    home("env", "create", "vault", "--var", "REGION=eu", "--secret", f"TOKEN={STAGING_SECRET}")
    return home


class DashboardProcess:
    """One `stigmer ui` over ``home``; its output goes to a file.

    Args:
        home: The home it serves (and whose working directory holds examples/).
        args: Extra arguments for `stigmer ui`.
    """

    def __init__(self, home: Stigmer, *args: str) -> None:
        self.home = home
        self.args = list(args)
        self.url = ""
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home.home.parent / f"ui-{time.monotonic_ns()}.log"

    def start(self, *, timeout: float = 20) -> DashboardProcess:
        """Start it on a free port and wait until it serves."""
        # The worker runs agents' MCP servers with `python`: the one of this venv.
        env = self.home.env({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(EXECUTABLE), "ui", "--port", "0", *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                cwd=self.home.cwd,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.output()
            found = READY.search(output)
            # Ready once the whole banner is out: its warnings follow the address line.
            if found and BANNER_END in output:
                self.url, self.port = found.group(1), int(found.group(2))
                return self
            if self.process.poll() is not None:
                raise AssertionError(f"`stigmer ui` exited ({self.process.returncode}):\n{self.output()}")
            time.sleep(0.02)
        raise AssertionError(f"`stigmer ui` did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM (as Ctrl-C), then SIGKILL if it does not stop; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def __enter__(self) -> DashboardProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def http(
    url: str,
    *,
    method: str = "GET",
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One request: (status, headers, JSON body or text); HTTP errors are returned, not raised."""
    data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
    sent = dict(headers or {})
    if body is not None and "Content-Type" not in sent:
        sent["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=15) as response:
            status, found, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, found, payload = error.code, dict(error.headers), error.read()
    text = payload.decode("utf-8", "replace")
    kind = found.get("Content-Type", "")
    return status, found, json.loads(text) if kind.startswith("application/json") and text else text


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def wait_for(check: Any, *, timeout: float = 20, every: float = 0.05) -> Any:
    """Call ``check`` until it returns something true; that value (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; last value: {value!r}")
        time.sleep(every)


__all__ = [
    "CHROMIUM_FLAGS",
    "REFUND_BOT",
    "RELEASE_GATE",
    "STAGING_SECRET",
    "DashboardProcess",
    "chromium_path",
    "dashboard_home",
    "http",
    "wait_for",
]
