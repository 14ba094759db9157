"""`stigmer mcpserver login|logout`: one sign-in to an MCP server behind OAuth, used by every
run (the CLI's and a worker's), refreshed on its own, never readable on disk."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stigmer.backend.local import LocalBackend
from tests.fixtures.mcp_servers.helpdesk import helpdesk_http
from tests.fixtures.mcp_servers.oauth import OAuthNotes, approve, oauth_notes

from .helpers import Stigmer, pending_input, table, write

AGENT = """
apiVersion: agentic.stigmer.ai/v1
kind: McpServer
metadata: {{name: notes}}
spec:
  http: {{url: "{url}"}}
---
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {{name: reader}}
spec:
  instructions: Read the note the user names.
  model:
    provider: scripted
    options:
      script:
        - toolCalls: [{{name: read_note, arguments: {{title: shopping}}}}]
        - toolCalls: [{{name: read_note, arguments: {{title: chores}}}}]
        - toolCalls: [{{name: echo_token, arguments: {{}}}}]
        - text: done
  mcpServers: [notes]
"""


@pytest.fixture
def notes(tmp_path: Path) -> Iterator[OAuthNotes]:
    with oauth_notes(tmp_path / "tokens.jsonl") as server:
        yield server


@pytest.fixture
def short_lived(tmp_path: Path) -> Iterator[OAuthNotes]:
    """A server whose access tokens live two seconds."""
    with oauth_notes(tmp_path / "tokens.jsonl", token_seconds=2) as server:
        yield server


LONG_RUN = """
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {name: long-reader}
spec:
  instructions: Read, work a while, read again.
  model:
    provider: scripted
    options:
      script:
        - toolCalls: [{name: read_note, arguments: {title: shopping}}]
        - toolCalls: [{name: take_a_while, arguments: {seconds: 2.5}}]
        - toolCalls: [{name: read_note, arguments: {title: chores}}]
        - text: done
  mcpServers: [notes]
"""


def login(stigmer: Stigmer, name: str = "notes") -> tuple[str, str]:
    """`stigmer mcpserver login NAME`, the browser's part played by the test: (stdout, stderr)."""
    proc = stigmer.start("mcpserver", "login", name)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()  # the URL alone on its line, before the wait
    assert url.startswith("http://127.0.0.1:") and "code_challenge=" in url and "redirect_uri=" in url
    page = approve(url)
    assert "Signed in to notes" in page.text
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return url + "\n" + out, err


def apply(stigmer: Stigmer, server: OAuthNotes) -> None:
    stigmer("apply", "-f", write(stigmer.cwd / "notes.yaml", AGENT.format(url=server.url)))


def stored_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.glob("local.db*"))


def test_a_run_without_a_sign_in_fails_naming_the_login_command(stigmer: Stigmer, notes: OAuthNotes) -> None:
    apply(stigmer, notes)
    result = stigmer("agent", "execute", "reader", "read it", check=False)
    assert result.code == 1
    assert "MCP server 'notes': needs a sign-in: nobody has signed in yet" in result.err
    assert "stigmer mcpserver login notes" in result.err
    assert "Traceback" not in result.err
    assert notes.grants() == []


def test_one_login_serves_the_cli_and_a_worker_and_no_token_is_on_disk(
    stigmer: Stigmer, notes: OAuthNotes
) -> None:
    apply(stigmer, notes)
    assert table(stigmer("get", "mcpservers").out)[0]["SIGNED IN"] == "-"
    _, err = login(stigmer)
    assert "Sign in to MCP server 'notes'" in err and "Signed in to MCP server 'notes'" in err
    row = table(stigmer("get", "mcpservers").out)[0]
    assert row["SIGNED IN"].startswith("yes, expires ") and row["SIGNED IN"].endswith("refreshable")
    status = stigmer("get", "mcpserver", "notes", "-o", "json").json()["status"]["signIn"]
    assert status["signedIn"] and status["refreshable"] and status["scope"] == "notes:read"
    assert set(status) == {"signedIn", "expiresAt", "refreshable", "scope", "updatedAt"}  # no token

    # The CLI runs the agent in the foreground…
    here = stigmer("agent", "execute", "reader", "read it")
    assert "note 'shopping' of alice: buy milk" in here.err and "COMPLETED" in here.err
    # …and a worker runs a detached one, with the same sign-in.
    execution_id = stigmer("agent", "execute", "reader", "read it", "--detach").out.strip()
    worker = stigmer.start("worker")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            phase = stigmer("execution", "get", execution_id, "-o", "json").json()["status"]["phase"]
            if phase in ("COMPLETED", "FAILED"):
                break
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)
    done = stigmer("execution", "get", execution_id, "-o", "json").json()
    assert done["status"]["phase"] == "COMPLETED", done["status"].get("error")
    assert notes.grants() == ["authorization_code"]  # one sign-in, nothing else asked

    # A tool that echoes its token shows it masked, in the stream and in the record.
    assert "called with ****" in here.err
    assert "called with ****" in json.dumps(stigmer("execution", "get", execution_id, "-o", "json").json())
    # Neither the tokens nor the client's registration are readable in the database or its WAL.
    tokens = notes.log.read_text()
    assert "token" not in tokens  # the server logs grants, never tokens: read them from the store
    backend = LocalBackend.open(stigmer.home / "local.db")
    try:
        creds = backend.read_mcp_sign_in("notes")
    finally:
        backend.close()
    stored = json.loads(creds)
    secrets = [
        stored["tokens"]["access_token"],
        stored["tokens"]["refresh_token"],
        stored["client"]["client_id"],
    ]
    on_disk = stored_bytes(stigmer.home)
    for secret in secrets:
        assert secret.encode() not in on_disk
    # …nor in an export.
    exported = stigmer("export", "--all").out
    assert all(secret not in exported for secret in secrets)


def test_a_long_run_refreshes_the_token_on_its_own_and_keeps_the_new_one(
    stigmer: Stigmer, short_lived: OAuthNotes
) -> None:
    apply(stigmer, short_lived)
    stigmer("apply", "-f", write(stigmer.cwd / "long.yaml", LONG_RUN))
    login(stigmer)
    # The token expires while the run works (2.5 s on a 2 s token): the next call refreshes it.
    run = stigmer("agent", "execute", "long-reader", "read, work, read")
    assert "note 'chores' of alice" in run.err and "COMPLETED" in run.err, run.err
    grants = short_lived.grants()
    assert grants[0] == "authorization_code" and grants.count("authorization_code") == 1
    assert grants.count("refresh_token") >= 1
    # Refresh tokens rotate (the server spends each one): a later run works only because the
    # run stored what it got; its token expires during that run too.
    assert "COMPLETED" in stigmer("agent", "execute", "long-reader", "again").err
    assert short_lived.grants().count("refresh_token") > grants.count("refresh_token")
    assert short_lived.grants().count("authorization_code") == 1


def test_a_token_that_cannot_be_refreshed_fails_the_run_naming_login(
    stigmer: Stigmer, short_lived: OAuthNotes
) -> None:
    apply(stigmer, short_lived)
    login(stigmer)
    short_lived.revoke_all()
    result = stigmer("agent", "execute", "reader", "read it", check=False)
    assert result.code == 1
    assert "its token has expired and could not be refreshed" in result.err
    assert "stigmer mcpserver login notes" in result.err
    # Signing in again mends it.
    login(stigmer)
    assert "COMPLETED" in stigmer("agent", "execute", "reader", "read it").err


def test_a_run_that_needs_a_sign_in_waits_for_login_when_its_server_says_so(
    stigmer: Stigmer, short_lived: OAuthNotes
) -> None:
    waits = AGENT.format(url=short_lived.url).replace(
        '  http: {url: "' + short_lived.url + '"}',
        '  http: {url: "' + short_lived.url + '"}\n  oauth: {onSignInNeeded: wait}',
    )
    stigmer("apply", "-f", write(stigmer.cwd / "notes.yaml", waits))
    login(stigmer)
    short_lived.revoke_all()
    running = stigmer.start("agent", "execute", "reader", "read it")
    try:
        run = pending_input(stigmer)
        execution_id = run["metadata"]["id"]
        assert run["status"]["phase"] == "WAITING_APPROVAL"
        asked = run["status"]["pendingInput"]
        assert (asked["kind"], asked["server"]) == ("sign-in", "notes")
        assert "its token has expired and could not be refreshed" in asked["message"]
        approve = stigmer("execution", "approve", execution_id, check=False)
        assert approve.code == 1 and "waits for a sign-in to MCP server 'notes'" in approve.err
        assert "stigmer mcpserver login notes" in approve.err
        login(stigmer)  # …and the run waiting in the first terminal goes on
        out, err = running.communicate(timeout=60)
    finally:
        if running.poll() is None:
            running.kill()
    assert running.returncode == 0, err
    assert out == "done\n"
    assert "The run parked, waiting for a sign-in to MCP server 'notes'" in err
    assert "Sign in with `stigmer mcpserver login notes` from any terminal; the run continues then" in err
    assert "note 'chores' of alice" in err and "COMPLETED" in err
    bad = AGENT.format(url=short_lived.url).replace(
        '  http: {url: "' + short_lived.url + '"}',
        '  http: {url: "' + short_lived.url + '"}\n  oauth: {onSignInNeeded: later}',
    )
    refused = stigmer("apply", "-f", write(stigmer.cwd / "bad.yaml", bad), check=False)
    assert refused.code == 2 and "spec.oauth.onSignInNeeded" in refused.err


def test_logout_forgets_the_tokens(stigmer: Stigmer, notes: OAuthNotes) -> None:
    apply(stigmer, notes)
    login(stigmer)
    assert stigmer("mcpserver", "logout", "notes").err.strip() == "Signed out of MCP server 'notes'."
    assert table(stigmer("get", "mcpservers").out)[0]["SIGNED IN"] == "-"
    assert stigmer("mcpserver", "logout", "notes").err.strip() == "MCP server 'notes' was not signed in."
    failed = stigmer("agent", "execute", "reader", "read it", check=False)
    assert failed.code == 1 and "stigmer mcpserver login notes" in failed.err


def test_login_refuses_what_cannot_sign_in(stigmer: Stigmer, notes: OAuthNotes) -> None:
    missing = stigmer("mcpserver", "login", "nope", check=False)
    assert missing.code == 1 and "McpServer 'nope' not found" in missing.err
    stigmer("apply", "-f", "examples/")  # helpdesk: a stdio server
    stdio = stigmer("mcpserver", "login", "helpdesk", check=False)
    assert stdio.code == 2 and "only HTTP servers sign in with OAuth" in stdio.err


def test_login_times_out_when_nobody_comes_back(stigmer: Stigmer, notes: OAuthNotes) -> None:
    apply(stigmer, notes)
    result = stigmer("mcpserver", "login", "notes", "--timeout", "0.5", check=False)
    assert result.code == 1
    assert "no sign-in to MCP server 'notes' arrived within 0.5s" in result.err
    assert table(stigmer("get", "mcpservers").out)[0]["SIGNED IN"] == "-"


def test_bad_oauth_settings_are_refused_on_apply(stigmer: Stigmer) -> None:
    http = 'http: {url: "http://127.0.0.1:1/mcp"}\n  '
    bad = {
        "spec.oauth.clientSecret": http + "oauth: {clientId: a, clientSecret: hunter2}",
        "spec.oauth.grant": http + "oauth: {grant: password}",
        "spec.oauth": "stdio: {command: python}\n  oauth: {clientId: a}",
        "spec.oauth.clientId": http + "oauth: {grant: client_credentials}",
        "spec.oauth.privateKey": http + "oauth: {clientId: a, grant: client_credentials, privateKey: PEM}",
        "spec.oauth.tokenEndpointAuthMethod": http + "oauth: {tokenEndpointAuthMethod: magic}",
        "spec.oauth.clientMetadataUrl": http + "oauth: {clientMetadataUrl: 'http://x/c.json'}",
    }
    # Enterprise-managed authorization: what it needs, and no ID token in the clear.
    client = "clientId: c, clientSecret: '${secrets.S}'"
    idp = "tokenEndpoint: 'https://idp.example/token', clientId: i"
    assertion = {
        "spec.oauth.identityAssertion.idToken": f"issuer: 'https://as.example', {client}, "
        f"identityAssertion: {{{idp}, idToken: eyJhbGciOi.x.y}}",
        "spec.oauth.identityAssertion.tokenEndpoint": f"issuer: 'https://as.example', {client}, "
        "identityAssertion: {tokenEndpoint: 'http://idp.example/token', clientId: i, "
        "idToken: '${secrets.T}'}",
        "spec.oauth.identityAssertion.clientId": f"issuer: 'https://as.example', {client}, "
        "identityAssertion: {tokenEndpoint: 'https://idp.example/token', idToken: '${secrets.T}'}",
        "spec.oauth.identityAssertion.clientSecret": f"issuer: 'https://as.example', {client}, "
        f"identityAssertion: {{{idp}, idToken: '${{secrets.T}}', clientSecret: '${{env.S}}'}}",
        "spec.oauth.issuer": f"{client}, identityAssertion: {{{idp}, idToken: '${{secrets.T}}'}}",
        "spec.oauth.clientSecret": "issuer: 'https://as.example', clientId: c, "
        f"identityAssertion: {{{idp}, idToken: '${{secrets.T}}'}}",
        "spec.oauth.grant": f"grant: client_credentials, issuer: 'https://as.example', {client}, "
        f"identityAssertion: {{{idp}, idToken: '${{secrets.T}}'}}",
        "spec.oauth.tokenEndpointAuthMethod": f"tokenEndpointAuthMethod: none, issuer: 'https://as.example', "
        f"{client}, identityAssertion: {{{idp}, idToken: '${{secrets.T}}'}}",
    }
    cases = list(bad.items()) + [(field, http + "oauth: {" + o + "}") for field, o in assertion.items()]
    for field, spec in cases:
        doc = f"apiVersion: agentic.stigmer.ai/v1\nkind: McpServer\nmetadata: {{name: m}}\nspec:\n  {spec}\n"
        result = stigmer("apply", "-f", write(stigmer.cwd / "m.yaml", doc), check=False)
        assert result.code == 2, (field, result)
        assert field in result.err, (field, result.err)
    assert stigmer("get", "mcpservers", check=False).err.strip() == "No mcpservers found."


def test_a_foreground_run_signs_in_itself_where_a_browser_is_at_hand(
    stigmer: Stigmer, notes: OAuthNotes
) -> None:
    apply(stigmer, notes)
    browser = f"{sys.executable} -c 'import sys, httpx2; httpx2.get(sys.argv[1], follow_redirects=True)' %s"
    run = stigmer("agent", "execute", "reader", "read it", env={"BROWSER": browser})
    assert "Sign in to MCP server 'notes'" in run.err and "COMPLETED" in run.err
    # The run kept the sign-in: the next one (with no browser) needs none.
    assert table(stigmer("get", "mcpservers").out)[0]["SIGNED IN"].startswith("yes")
    assert "COMPLETED" in stigmer("agent", "execute", "reader", "read it again").err
    assert notes.grants() == ["authorization_code"]


def test_login_to_a_server_without_oauth_says_so_and_stores_nothing(stigmer: Stigmer) -> None:
    with helpdesk_http() as helpdesk:
        doc = AGENT.format(url=helpdesk.url).split("---")[0].replace("notes", "open")
        stigmer("apply", "-f", write(stigmer.cwd / "open.yaml", doc))
        result = stigmer("mcpserver", "login", "open", check=False)
    assert result.code == 1
    assert "MCP server 'open' at " in result.err and "did not ask for a sign-in" in result.err
    assert table(stigmer("get", "mcpservers").out)[0]["SIGNED IN"] == "-"


def test_a_2025_03_26_server_whose_issuer_has_a_path_on_its_own_origin_signs_in(
    stigmer: Stigmer, tmp_path: Path
) -> None:
    # No protected resource metadata; the metadata at the root names http://127.0.0.1:PORT/oauth.
    with oauth_notes(tmp_path / "tokens.jsonl", legacy_issuer="http://127.0.0.1:{port}/oauth") as legacy:
        apply(stigmer, legacy)
        login(stigmer)
        assert "COMPLETED" in stigmer("agent", "execute", "reader", "read it").err
        assert legacy.grants() == ["authorization_code"]


def test_a_2025_03_26_server_whose_issuer_is_on_another_origin_is_refused(
    stigmer: Stigmer, tmp_path: Path
) -> None:
    # The mix-up defence stands: localhost is another origin than 127.0.0.1, where the server is.
    with oauth_notes(tmp_path / "tokens.jsonl", legacy_issuer="http://localhost:{port}/oauth") as legacy:
        apply(stigmer, legacy)
        result = stigmer("mcpserver", "login", "notes", "--timeout", "5", check=False)
        assert result.code == 1, result
        assert "names the issuer http://localhost:" in result.err
        assert "not on the MCP server's origin" in result.err and "Traceback" not in result.err
        assert "Hint: the server's operator should publish protected resource metadata" in result.err
        assert table(stigmer("get", "mcpservers").out)[0]["SIGNED IN"] == "-"
        run = stigmer("agent", "execute", "reader", "read it", check=False)
        assert run.code == 1 and "not on the MCP server's origin" in run.err
        assert legacy.grants() == []


ENTERPRISE = """
apiVersion: agentic.stigmer.ai/v1
kind: McpServer
metadata: {{name: notes}}
spec:
  http: {{url: "{url}"}}
  oauth:
    issuer: "{issuer}"
    clientId: stigmer-at-notes
    clientSecret: ${{secrets.NOTES_SECRET}}
    identityAssertion:
      tokenEndpoint: "{idp}"
      clientId: stigmer-at-idp
      idToken: ${{secrets.ID_TOKEN}}
"""


@pytest.fixture
def idp() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """An enterprise identity provider that exchanges the ID token ``eyJ.fresh.x`` for the
    ID-JAG ``jag-for-alice`` and refuses any other (as if expired): its token endpoint, and
    the forms it was sent."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs

    forms: list[dict[str, list[str]]] = []

    class TokenEndpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            forms.append(parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()))
            fresh = forms[-1].get("subject_token") == ["eyJ.fresh.x"]
            answer = (
                {
                    "access_token": "jag-for-alice",
                    "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag",
                }
                if fresh
                else {"error": "invalid_grant", "error_description": "the ID token has expired"}
            )
            body = json.dumps(answer)
            self.send_response(200 if fresh else 400)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/token", forms
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_id_token_the_identity_provider_refuses_fails_the_run_saying_so(
    stigmer: Stigmer, notes: OAuthNotes, idp: tuple[str, list[dict[str, list[str]]]]
) -> None:
    endpoint, forms = idp
    doc = (
        ENTERPRISE.format(url=notes.url, issuer=notes.base, idp=endpoint)
        + "---"
        + AGENT.format(url=notes.url).split("---")[1]
    )
    stigmer("env", "create", "corp", "--secret", "NOTES_SECRET=s3cret", "--secret", "ID_TOKEN=eyJ.expired.x")
    stigmer("apply", "-f", write(stigmer.cwd / "notes.yaml", doc))
    run = stigmer("agent", "execute", "reader", "read it", "--env", "corp", check=False)
    assert run.code == 1
    assert f"the identity provider at {endpoint} did not exchange the ID token" in run.err
    assert "HTTP 400: the ID token has expired" in run.err
    assert "eyJ.expired.x" not in run.err + run.out
    # One RFC 8693 exchange for an ID-JAG meant for the authorization server and this MCP server.
    assert len(forms) == 1
    form = {k: v[0] for k, v in forms[0].items()}
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert form["requested_token_type"] == "urn:ietf:params:oauth:token-type:id-jag"
    assert form["subject_token"] == "eyJ.expired.x" and form["client_id"] == "stigmer-at-idp"
    assert form["audience"] == notes.base and form["resource"] == notes.url
    assert notes.grants() == []
    assert table(stigmer("get", "mcpservers").out)[0]["SIGNED IN"] == "-"


def test_an_enterprise_sign_in_needs_no_login_and_keeps_no_grant_in_the_clear(
    stigmer: Stigmer, tmp_path: Path, idp: tuple[str, list[dict[str, list[str]]]]
) -> None:
    endpoint, forms = idp
    with oauth_notes(tmp_path / "tokens.jsonl", identity_assertion=True) as notes:
        doc = ENTERPRISE.format(url=notes.url, issuer=notes.base, idp=endpoint)
        doc += "---" + AGENT.format(url=notes.url).split("---")[1]
        stigmer(
            "env", "create", "corp", "--secret", "NOTES_SECRET=s3cret", "--secret", "ID_TOKEN=eyJ.fresh.x"
        )
        stigmer("apply", "-f", write(stigmer.cwd / "notes.yaml", doc))
        run = stigmer("agent", "execute", "reader", "read it", "--env", "corp")
        assert "COMPLETED" in run.err and "buy milk" in run.out + run.err
        # The ID-JAG and the access token are masked like secrets in what the run shows.
        assert "jag-for-alice" not in run.out + run.err and "called with ***" in run.out + run.err
        assert notes.grants() == ["jwt-bearer"] and len(forms) == 1
        assert table(stigmer("get", "mcpservers").out)[0]["SIGNED IN"].startswith("yes")
        assert b"jag-for-alice" not in stored_bytes(stigmer.home)
