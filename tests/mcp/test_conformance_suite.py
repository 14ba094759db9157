"""The official MCP conformance suite's client scenarios, with Stigmer as the client.

`@modelcontextprotocol/conformance` (pinned) runs on Node 22, both installed by
``scripts/bootstrap`` into ``~/.cache/stigmer/npm`` (or ``$STIGMER_NPM_CACHE``). For each
scenario the suite starts its own server on localhost and runs ``conformance_client.py``,
which applies an McpServer with the suite's URL and a scripted agent calling the scenario's
tool, signs in with ``stigmer mcpserver login`` where a person would, and runs the agent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).parent
DRIVER = HERE / "conformance_client.py"
VERSION = "0.1.16"
NPM_CACHE = Path(os.environ.get("STIGMER_NPM_CACHE") or Path.home() / ".cache" / "stigmer" / "npm")
NODE = NPM_CACHE / "node_modules" / ".bin" / "node"
SUITE = NPM_CACHE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
EXPECTED_FAILURES: list[str] = yaml.safe_load((HERE / "conformance-expected-failures.yml").read_text())[
    "client"
]

# Every client scenario of the pinned version (test_the_pinned_suite_lists_these_scenarios
# keeps this list honest).
CLIENT_SCENARIOS = [
    "initialize",
    "tools_call",
    "elicitation-sep1034-client-defaults",
    "sse-retry",
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "auth/2025-03-26-oauth-metadata-backcompat",
    "auth/2025-03-26-oauth-endpoint-fallback",
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/client-credentials-jwt",
    "auth/client-credentials-basic",
    "auth/cross-app-access-complete-flow",
]


def suite(*args: str, timeout: float = 110) -> subprocess.CompletedProcess[str]:
    """Run the pinned suite's CLI on Node 22."""
    if not (NODE.exists() and SUITE.exists()):
        pytest.fail(f"the MCP conformance suite is not installed in {NPM_CACHE}: run ./scripts/bootstrap")
    return subprocess.run(
        [str(NODE), str(SUITE), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_pinned_suite_lists_these_scenarios() -> None:
    assert suite("--version").stdout.strip() == VERSION
    listed = suite("list").stdout
    client = listed[listed.index("Client scenarios") :]
    assert re.findall(r"^  - (\S+)", client, re.MULTILINE) == CLIENT_SCENARIOS
    assert set(EXPECTED_FAILURES) <= set(CLIENT_SCENARIOS)


@pytest.mark.parametrize("scenario", CLIENT_SCENARIOS)
def test_client_scenario(scenario: str) -> None:
    result = suite(
        "client",
        "--command",
        f"{sys.executable} {DRIVER}",
        "--scenario",
        scenario,
        "--timeout",
        "90000",
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    passed = result.returncode == 0 and "OVERALL: PASSED" in output
    if scenario in EXPECTED_FAILURES:
        assert not passed, f"{scenario} passes now: remove it from conformance-expected-failures.yml"
    else:
        assert passed, output[-6000:]
