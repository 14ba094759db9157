"""Secrets through expressions stay secret: what an expression computes from a secret, and
the secret's URL-encoded, base64, upper- and lower-case forms, are masked in everything a
run stores (database and WAL) or shows."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

import pytest

from tests.cli.helpers import Stigmer

SECRET = "Sup3r/Secret+Value=42 ok"


def forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        secret.upper(),
        secret.lower(),
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


@pytest.fixture
def echo() -> Iterator[str]:
    """Answers with the request's path and its bearer token in base64, as a leaky API might."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            payload = json.dumps(
                {"path": self.path, "b64": base64.b64encode(token.encode()).decode()}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def workflow(url: str) -> str:
    return f"""
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {{name: leaky}}
spec:
  tasks:
    - name: derive
      set:
        loud: "${{upper(secrets.TOKEN)}}"
        quiet: "${{lower(secrets.TOKEN)}}"
        wrapped: "${{'[' + secrets.TOKEN + ']'}}"
        plain: not a secret
    - name: call
      dependsOn: [derive]
      http:
        method: GET
        url: "{url}/items"
        query: {{q: "${{secrets.TOKEN}}"}}
        headers: {{Authorization: "Bearer ${{secrets.TOKEN}}"}}
  outputs:
    loud: "${{tasks.derive.outputs.loud}}"
    plain: "${{tasks.derive.outputs.plain}}"
"""


def test_no_form_of_a_secret_is_stored_or_shown(stigmer: Stigmer, echo: str) -> None:
    stigmer("env", "create", "prod", "--secret", f"TOKEN={SECRET}")
    stigmer("apply", "-f", "-", input=workflow(echo))
    done = stigmer("workflow", "execute", "leaky", "--env", "prod", "-o", "json")
    run = json.loads(done.out)
    assert run["status"]["phase"] == "COMPLETED"
    assert run["status"]["outputs"]["plain"] == "not a secret"
    shown = done.out + done.err
    shown += stigmer("execution", "get", run["metadata"]["id"], "-o", "json").out
    shown += stigmer("execution", "logs", run["metadata"]["id"]).out
    stored = b"".join(p.read_bytes() for p in stigmer.home.glob("local.db*"))
    for form in forms(SECRET):
        assert form not in shown, form
        assert form.encode() not in stored, form
    assert "****" in shown
