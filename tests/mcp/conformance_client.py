"""Stigmer as the client under test of the MCP conformance suite (its client scenarios).

The suite runs ``python conformance_client.py SERVER_URL`` with ``MCP_CONFORMANCE_SCENARIO``
(and, for some auth scenarios, ``MCP_CONFORMANCE_CONTEXT``: a pre-registered client, or the
enterprise identity provider and the person's ID token) set.
This script does what a user would: in a fresh home it applies an McpServer with the
suite's URL and an agent whose scripted model calls the scenario's tool, signs in with
``stigmer mcpserver login`` where the scenario wants a person, and runs the agent with
``stigmer agent execute``. The "browser" is ``$BROWSER``: this same script with ``--browse``,
which opens the authorization URL and follows its redirect to Stigmer's loopback listener.
Where the scenario's server asks a person for input (elicitation), a person answers from
another terminal: ``stigmer execution respond ID`` (accepting the defaults), run by a thread
of this script once the run shows what it waits for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# The tool each scenario's server offers (the auth scenarios all offer `test-tool`).
TOOLS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "initialize": None,
    "tools_call": ("add_numbers", {"a": 5, "b": 3}),
    "sse-retry": ("test_reconnection", {}),
    "elicitation-sep1034-client-defaults": ("test_client_elicitation_defaults", {}),
}
AUTH_TOOL: tuple[str, dict[str, Any]] = ("test-tool", {})
# A client ID metadata document URL, as the suite's authorization servers accept it.
CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"


def browse(url: str) -> None:
    """Play the person's browser: open the authorization URL, follow redirects to the callback."""
    import httpx2

    httpx2.get(url, follow_redirects=True, timeout=30)


def authorization_server(url: str) -> str:
    """The issuer an administrator would configure: the suite hands over no issuer, so read it
    where the server publishes it (its protected resource metadata, RFC 9728)."""
    import httpx2

    parts = urlsplit(url)
    for path in (
        f"/.well-known/oauth-protected-resource{parts.path}",
        "/.well-known/oauth-protected-resource",
    ):
        response = httpx2.get(f"{parts.scheme}://{parts.netloc}{path}", timeout=30)
        if response.status_code == 200:
            return str(response.json()["authorization_servers"][0])
    raise SystemExit(f"{url} publishes no protected resource metadata")


def resources(url: str, scenario: str, context: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The resource file and the Environment's secrets for one scenario."""
    oauth: dict[str, Any] = {"clientMetadataUrl": CLIENT_METADATA_URL}
    secrets: dict[str, str] = {}
    if context.get("client_id"):
        oauth["clientId"] = context["client_id"]
    if context.get("client_secret"):
        secrets["CLIENT_SECRET"] = context["client_secret"]
        oauth["clientSecret"] = "${secrets.CLIENT_SECRET}"
    if context.get("private_key_pem"):
        secrets["PRIVATE_KEY"] = context["private_key_pem"]
        oauth["privateKey"] = "${secrets.PRIVATE_KEY}"
        oauth["tokenEndpointAuthMethod"] = "private_key_jwt"
        oauth["signingAlgorithm"] = context.get("signing_algorithm", "ES256")
    if scenario.startswith("auth/client-credentials"):
        oauth["grant"] = "client_credentials"
    if context.get("idp_token_endpoint"):
        # Enterprise-managed authorization: the person's ID token is a secret of the Environment;
        # the authorization server is configuration, as its administrator would give it.
        secrets["IDP_ID_TOKEN"] = context["idp_id_token"]
        del oauth["clientMetadataUrl"]
        oauth["issuer"] = authorization_server(url)
        oauth["identityAssertion"] = {
            "tokenEndpoint": context["idp_token_endpoint"],
            "idToken": "${secrets.IDP_ID_TOKEN}",
            "clientId": context["idp_client_id"],
        }
    tool = TOOLS.get(scenario, AUTH_TOOL if scenario.startswith("auth/") else None)
    script: list[dict[str, Any]] = [{"toolCalls": [{"name": tool[0], "arguments": tool[1]}]}] if tool else []
    script.append({"text": "done"})
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "agentic.stigmer.ai/v1",
            "kind": "McpServer",
            "metadata": {"name": "suite"},
            "spec": {"http": {"url": url}, "oauth": oauth},
        },
        {
            "apiVersion": "agentic.stigmer.ai/v1",
            "kind": "Agent",
            "metadata": {"name": "tester"},
            "spec": {
                "instructions": "Call the tool.",
                "model": {"provider": "scripted", "options": {"script": script}},
                "mcpServers": ["suite"],
            },
        },
    ]
    return "\n---\n".join(json.dumps(d) for d in docs), secrets


def answer_with_defaults(stop: threading.Event) -> None:
    """Play the person at another terminal: once the run waits for input, accept the defaults."""
    command = str(Path(sys.executable).parent / "stigmer")
    while not stop.wait(0.2):
        listed = subprocess.run(
            [command, "execution", "list", "-o", "json"], capture_output=True, text=True, check=False
        )
        runs = json.loads(listed.stdout or "[]")
        if runs and runs[0]["status"].get("pendingInput"):
            execution_id = runs[0]["metadata"]["id"]
            subprocess.run([command, "execution", "respond", execution_id, "--detach"], check=False)
            return


def stigmer(*args: str) -> int:
    """Run one `stigmer` command in this process (one start-up for the scenario's commands)."""
    from stigmer.cli.main import main as cli

    try:
        code = cli(list(args))
    except SystemExit as exc:
        code = exc.code
    return code if isinstance(code, int) else (0 if code is None else 1)


def main() -> int:
    """Run one scenario against the suite's server; the exit code is the run's."""
    if sys.argv[1:2] == ["--browse"]:
        browse(sys.argv[2])
        return 0
    url = sys.argv[-1]
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    with tempfile.TemporaryDirectory(prefix="stigmer-conformance-") as tmp:
        home = Path(tmp) / "home"
        os.environ.update(
            STIGMER_HOME=str(home),
            STIGMER_KEYRING="0",
            BROWSER=f"{sys.executable} {Path(__file__).resolve()} --browse %s",
        )

        text, secrets = resources(url, scenario, context)
        files = Path(tmp) / "suite.yaml"
        files.write_text(text, encoding="utf-8")
        env_args: list[str] = []
        if secrets:
            env_args = ["--env", "suite"]
            pairs = [arg for k, v in secrets.items() for arg in ("--secret", f"{k}={v}")]
            if stigmer("env", "create", "suite", *pairs):
                return 1
        if stigmer("apply", "-f", str(files)):
            return 1
        machine = scenario.startswith("auth/client-credentials") or "identityAssertion" in text
        if scenario.startswith("auth/") and not machine:
            code = stigmer("mcpserver", "login", "suite", *env_args, "--timeout", "20")
            if code:
                return code
        if not scenario.startswith("elicitation"):
            return stigmer("agent", "execute", "tester", "go", *env_args)
        stop = threading.Event()
        person = threading.Thread(target=answer_with_defaults, args=(stop,), daemon=True)
        person.start()
        try:
            return stigmer("agent", "execute", "tester", "go", *env_args)
        finally:
            stop.set()
            person.join(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
