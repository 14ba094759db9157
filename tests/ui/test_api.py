"""The dashboard's JSON API and event stream over HTTP, as its pages (and scripts) use them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from http.client import HTTPConnection
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from tests.cli.helpers import Stigmer
from tests.ui.harness import STAGING_SECRET, DashboardProcess, http, wait_for


def api(dashboard: DashboardProcess, path: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    return http(f"{dashboard.url}api{path}", **kwargs)


def start(dashboard: DashboardProcess, version: str) -> str:
    status, _, body = api(
        dashboard, "/workflows/release-gate/executions", method="POST", body={"inputs": {"version": version}}
    )
    assert status == 201, body
    assert body["summary"]["phase"] == "PENDING"
    return str(body["id"])


def phase_of(dashboard: DashboardProcess, execution_id: str) -> str:
    return str(api(dashboard, f"/executions/{execution_id}")[2]["summary"]["phase"])


def waiting(dashboard: DashboardProcess, execution_id: str) -> None:
    wait_for(lambda: phase_of(dashboard, execution_id) == "WAITING_APPROVAL")


def test_lists_pass_page_tokens_through_newest_first(dashboard: DashboardProcess) -> None:
    started = [start(dashboard, f"page-{i}") for i in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        status, _, page = api(dashboard, f"/executions?definition=release-gate&pageSize=2&pageToken={token}")
        assert status == 200, page
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        token = page["nextPageToken"]
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert seen[:5] == started[::-1]  # newest first

    status, _, page = api(dashboard, "/resources/agents?pageSize=1")
    assert status == 200 and len(page["items"]) == 1 and page["nextPageToken"]
    _, _, rest = api(dashboard, f"/resources/agents?pageSize=50&pageToken={page['nextPageToken']}")
    names = [page["items"][0]["name"]] + [item["name"] for item in rest["items"]]
    assert names == sorted(names) and "refund-bot" in names


def test_bad_requests_say_what_is_wrong_and_where(dashboard: DashboardProcess) -> None:
    cases: list[tuple[str, dict[str, Any], int, str, str]] = [
        ("/executions?pageSize=0", {}, 400, "pageSize", "pageSize must be a number"),
        ("/executions?phase=sleeping", {}, 400, "phase", "phase must be one of"),
        ("/executions?kind=robot", {}, 400, "kind", "kind must be agent or workflow"),
        ("/executions?since=yesterday", {}, 400, "since", "invalid age"),
        ("/executions/wex_nope", {}, 404, "", "wex_nope"),
        ("/resources/robots", {}, 404, "", "no 'robots'"),
        ("/resources/workflows/nope", {}, 404, "", "nope"),
        (
            "/workflows/release-gate/executions",
            {"method": "POST", "body": {"inputs": {"version": "1", "channels": "web"}}},
            400,
            "inputs.channels",
            "must be an array",
        ),
        (
            "/workflows/release-gate/executions",
            {"method": "POST", "body": {}},
            400,
            "inputs.version",
            "missing",
        ),
        ("/workflows/release-gate/executions", {"method": "POST", "body": {"inputs": []}}, 400, "inputs", ""),
        ("/agents/refund-bot/executions", {"method": "POST", "body": {"message": " "}}, 400, "message", ""),
        ("/executions/wex_nope/approve", {"method": "POST", "body": {}}, 404, "", ""),
    ]
    for path, kwargs, expected, field, words in cases:
        status, _, body = api(dashboard, path, **kwargs)
        assert status == expected, (path, body)
        assert body.get("field", "") == field, (path, body)
        assert words in body["error"], (path, body)

    status, _, body = api(dashboard, "/nothing")
    assert status == 404
    status, _, body = api(dashboard, "/executions/wex_x/approve")
    assert status == 405  # a GET where only POST is served
    status, _, body = api(
        dashboard,
        "/executions/wex_x/cancel",
        method="POST",
        raw=b"{}",
        headers={"Content-Type": "text/plain"},
    )
    assert status == 400 and "JSON" in body["error"]
    status, _, body = api(dashboard, "/executions/wex_x/cancel", method="POST", raw=b"[", headers=_json())
    assert status == 400 and "not JSON" in body["error"]


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


def test_pages_elsewhere_cannot_use_it(dashboard: DashboardProcess) -> None:
    # Another site's page posting to 127.0.0.1, or reaching it by a name of its own (DNS rebinding).
    status, _, refused = api(
        dashboard,
        "/workflows/release-gate/executions",
        method="POST",
        body={"inputs": {"version": "evil"}},
        headers={"Origin": "http://evil.example", "Content-Type": "application/json"},
    )
    assert status == 403 and refused["error"] == "cross-site request refused"
    assert api(dashboard, "/info", headers={"Host": f"evil.example:{dashboard.port}"})[0] == 421
    for host in (f"127.0.0.1:{dashboard.port}", f"localhost:{dashboard.port}"):
        assert api(dashboard, "/info", headers={"Host": host})[0] == 200


def test_secrets_never_leave_the_store(dashboard: DashboardProcess) -> None:
    status, _, env = api(dashboard, "/resources/environments/vault")
    assert status == 200
    assert env["record"]["spec"]["secrets"] == {"TOKEN": "****"}
    assert env["summary"]["secrets"] == ["TOKEN"] and env["summary"]["variables"] == ["REGION"]
    for path in ("/resources/environments", "/resources/environments/vault", "/info", "/executions"):
        assert STAGING_SECRET not in json.dumps(api(dashboard, path)[2])


def test_approve_reject_cancel_and_resume(dashboard: DashboardProcess) -> None:
    approved, rejected, cancelled = start(dashboard, "a"), start(dashboard, "r"), start(dashboard, "c")
    for run in (approved, rejected, cancelled):
        waiting(dashboard, run)
    status, _, view = api(dashboard, f"/executions/{approved}")
    assert view["actions"] == ["approve", "reject", "cancel"]
    assert view["approval"] == {"task": "sign-off", "message": "Publish Release a?"}
    assert [n["name"] for n in view["graph"]["nodes"]] == ["prepare", "notes", "sign-off", "publish"]

    assert api(dashboard, f"/executions/{approved}/approve", method="POST", body={})[0] == 200
    assert api(dashboard, f"/executions/{rejected}/reject", method="POST", body={"reason": "no"})[0] == 200
    assert api(dashboard, f"/executions/{cancelled}/cancel", method="POST", body={})[0] == 200
    wait_for(lambda: phase_of(dashboard, approved) == "COMPLETED")
    wait_for(lambda: phase_of(dashboard, rejected) == "FAILED")
    assert phase_of(dashboard, cancelled) == "CANCELLED"

    status, _, done = api(dashboard, f"/executions/{approved}")
    assert done["actions"] == [] and done["approval"] is None
    assert done["record"]["status"]["outputs"]["published"] is True
    status, _, body = api(dashboard, f"/executions/{approved}/resume", method="POST", body={})
    assert status == 409 and "nothing left to run" in body["error"]
    status, _, body = api(dashboard, f"/executions/{approved}/approve", method="POST", body={})
    assert status == 409


def test_a_run_s_trace_is_the_one_the_terminal_draws(dashboard: DashboardProcess, home: Stigmer) -> None:
    run = start(dashboard, "traced")
    waiting(dashboard, run)
    assert api(dashboard, f"/executions/{run}/approve", method="POST", body={})[0] == 200
    wait_for(lambda: phase_of(dashboard, run) == "COMPLETED")
    status, _, trace = api(dashboard, f"/executions/{run}/trace")
    assert status == 200, trace
    assert trace == home("execution", "trace", run, "-o", "json").json()
    assert trace["root"]["name"] == "workflow release-gate"
    tasks = [c["name"] for c in trace["root"]["children"]]
    assert tasks == ["task prepare", "task notes", "task sign-off", "task publish"]
    (approval,) = trace["root"]["children"][2]["children"]
    assert (approval["kind"], approval["attributes"]["stigmer.approval.approved"]) == ("approval", True)
    status, _, body = api(dashboard, "/executions/wex_nope/trace")
    assert status == 404 and "wex_nope" in body["error"]


def sse(
    dashboard: DashboardProcess, execution_id: str, last_event_id: str = ""
) -> Iterator[tuple[str, str, Any]]:
    """(id, event, data) of the execution's event stream, until it ends."""
    where = urlsplit(dashboard.url)
    connection = HTTPConnection(where.hostname or "", where.port, timeout=20)
    headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last_event_id} if last_event_id else {})}
    connection.request("GET", f"/api/executions/{execution_id}/events", headers=headers)
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    fields: dict[str, str] = {}
    try:
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            if "data" in fields:
                yield fields.get("id", ""), fields.get("event", "message"), json.loads(fields["data"])
            fields = {}
    finally:
        connection.close()


def test_the_event_stream_resumes_after_the_last_event_seen(
    dashboard: DashboardProcess, home: Stigmer
) -> None:
    run = start(dashboard, "live")
    waiting(dashboard, run)
    first: list[tuple[str, str, Any]] = []
    for event in sse(dashboard, run):
        first.append(event)
        if event[1] == "snapshot" and event[2]["summary"]["phase"] == "WAITING_APPROVAL":
            break
    assert first[0][1] in ("step", "phase")
    steps = [data["name"] for _, kind, data in first if kind == "step"]
    assert steps[:1] == ["end:prepare"] and "approval:sign-off" in steps
    last = [event_id for event_id, _, _ in first if event_id][-1]

    home("execution", "approve", run, "--detach")  # decided elsewhere: the stream shows it
    rest = list(sse(dashboard, run, last_event_id=last))
    ids = [int(event_id) for event_id, _, _ in rest if event_id]
    assert ids == sorted(ids) and min(ids) > int(last)  # no gap, no duplicate
    assert [data["name"] for _, kind, data in rest if kind == "step"][-1] == "end:publish"
    assert rest[-1][1] == "end"
    snapshots = [data for _, kind, data in rest if kind == "snapshot"]
    assert snapshots[-1]["summary"]["phase"] == "COMPLETED"
    assert snapshots[-1]["graph"] is None  # the page keeps the graph it drew

    finished = list(sse(dashboard, run))  # a finished run: the whole story once, then the end
    assert finished[-1][1] == "end" and finished[-2][1] == "snapshot"


def test_pages_are_bundled_and_fetch_nothing_from_elsewhere(dashboard: DashboardProcess) -> None:
    status, headers, index = http(dashboard.url)
    assert status == 200 and "default-src 'self'" in headers["Content-Security-Policy"]
    referenced = re.findall(r'(?:src|href)="([^"#]+)"', index)
    assert referenced and all(path.startswith("/static/") for path in referenced)
    static = resources.files("stigmer.ui").joinpath("static")
    names = sorted(item.name for item in static.iterdir())
    assert {"index.html", "app.js", "app.css", "graph.js"} <= set(names)
    for name in names:
        text = static.joinpath(name).read_text(encoding="utf-8")
        outside = [u for u in re.findall(r"https?://[^\s\"'`)]+", text) if u != "http://www.w3.org/2000/svg"]
        assert outside == [], name
        status, headers, _ = http(f"{dashboard.url}static/{name}")
        assert status == 200, name
        assert http(f"{dashboard.url}static/{name}", headers={"If-None-Match": headers["ETag"]})[0] == 304
    assert http(f"{dashboard.url}static/..%2Fapi.py")[0] == 404
    assert http(f"{dashboard.url}static/nothing.js")[0] == 404


def test_an_mcp_servers_live_tools(dashboard: DashboardProcess) -> None:
    status, _, listing = api(dashboard, "/mcpservers/helpdesk/tools")
    assert status == 200, listing
    tools = {t["name"]: t for t in listing["tools"]}
    assert tools["find_order"]["offered"] and tools["find_order"]["inputSchema"]["required"] == ["id"]
    assert tools["refund_order"]["approvalRequired"] is True
    assert tools["sleep"]["offered"] is False and tools["sleep"]["reason"] == "not in enabledTools"
    status, _, missing = api(dashboard, "/mcpservers/nope/tools")
    assert status == 404 and "nope" in missing["error"]
