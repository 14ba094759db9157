"""The `stigmer ui` command itself: starting, stopping, its options, and what it never imports."""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path

from tests.cli.helpers import Stigmer, write
from tests.server.harness import ServerProcess
from tests.ui.harness import DashboardProcess, http, wait_for

SLOW = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: slow}
spec:
  tasks:
    - {name: pause, wait: {duration: 4s}}
"""


def start(dashboard: DashboardProcess, workflow: str, inputs: dict[str, str] | None = None) -> str:
    status, _, body = http(
        f"{dashboard.url}api/workflows/{workflow}/executions", method="POST", body={"inputs": inputs or {}}
    )
    assert status == 201, body
    return str(body["id"])


def phase_of(dashboard: DashboardProcess, run: str) -> str:
    return str(http(f"{dashboard.url}api/executions/{run}")[2]["summary"]["phase"])


def test_it_says_where_it_is_and_stops_cleanly(home: Stigmer) -> None:
    running = DashboardProcess(home).start()
    output = running.output()
    assert f"backend: {home.database}" in output and "worker:  " in output and "Ctrl-C" in output
    assert running.stop() == 0
    assert "stopping" in running.output()


def test_a_port_in_use_is_refused_with_a_hint(dashboard: DashboardProcess, home: Stigmer) -> None:
    taken = home("ui", "--port", str(dashboard.port), check=False)
    assert taken.code == 2
    assert f"cannot listen on 127.0.0.1:{dashboard.port}" in taken.err
    assert "0 for any free one" in taken.err


def test_without_a_worker_runs_wait_for_one(own_home: Stigmer) -> None:
    with DashboardProcess(own_home, "--no-worker") as idle:
        assert "worker:  off (--no-worker)" in idle.output()
        run = start(idle, "release-gate", {"version": "idle"})
        time.sleep(1.0)
        assert phase_of(idle, run) == "PENDING"
        status, _, body = http(f"{idle.url}api/executions/{run}/resume", method="POST", body={})
        assert status == 409 and "--no-worker" in body["error"] and "stigmer worker" in body["hint"]
        http(f"{idle.url}api/executions/{run}/cancel", method="POST", body={})


def test_resume_runs_a_queued_run_at_once(own_home: Stigmer) -> None:
    write(own_home.cwd / "slow.yaml", SLOW)
    own_home("apply", "-f", "slow.yaml")
    with DashboardProcess(own_home, "--concurrency", "1") as busy:
        slow = start(busy, "slow")
        wait_for(lambda: phase_of(busy, slow) == "RUNNING")
        queued = start(busy, "release-gate", {"version": "now"})
        time.sleep(0.6)
        assert phase_of(busy, queued) == "PENDING"  # its one slot is taken

        status, _, body = http(f"{busy.url}api/executions/{slow}/resume", method="POST", body={})
        assert status == 409 and "another worker" in body["error"]
        status, _, body = http(f"{busy.url}api/executions/{queued}/resume", method="POST", body={})
        assert status == 202, body
        wait_for(lambda: phase_of(busy, queued) == "WAITING_APPROVAL", timeout=3)
        assert phase_of(busy, slow) == "RUNNING"


def test_require_key_needs_this_machines_store(tmp_path: Path) -> None:
    client = Stigmer(tmp_path / "home", tmp_path)
    write(client.home / "config.yaml", "backend: cloud\nserver: grpc://127.0.0.1:9\n")
    refused = client("ui", "--require-key", check=False)
    assert refused.code == 2 and "stigmer server --ui-port" in refused.err


def test_help_and_version_never_load_the_dashboard() -> None:
    probe = (
        "import sys\n"
        "from stigmer.cli.entry import main\n"
        "for argv in (['version'], ['--help'], ['ui', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "    print(argv[0], sorted(m for m in sys.modules if m.startswith('stigmer.ui')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(("version [", "--help [", "ui ["))]
    assert lines == ["version []", "--help []", "ui []"]


def _certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_a_server_with_tls_serves_the_dashboard_over_https_only(own_home: Stigmer, tmp_path: Path) -> None:
    cert, private = _certificate(tmp_path)
    key = own_home("server", "keys", "create", "admin").out.strip()
    server = ServerProcess(own_home, "--ui-port", "0", "--tls-cert", str(cert), "--tls-key", str(private))
    try:
        server.start()
        url = wait_for(lambda: re.search(r"dashboard: (https://127\.0\.0\.1:\d+/)", server.output())).group(1)
        trusted = ssl.create_default_context(cafile=str(cert))
        request = urllib.request.Request(f"{url}api/info", headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request, context=trusted, timeout=10) as response:
            assert json.loads(response.read())["auth"]["key"] == "admin"

        class Keep(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=trusted), Keep())
        try:
            opener.open(f"{url}?token={key}", timeout=10)
        except urllib.error.HTTPError as redirect:
            assert redirect.code == 303
            assert "Secure" in redirect.headers["Set-Cookie"] and "HttpOnly" in redirect.headers["Set-Cookie"]
        plain = url.replace("https://", "http://")
        try:
            urllib.request.urlopen(f"{plain}api/info", timeout=5)
            raise AssertionError("the dashboard answered in plain HTTP")
        except (urllib.error.URLError, ConnectionError, HTTPException):
            pass
    finally:
        server.stop()
