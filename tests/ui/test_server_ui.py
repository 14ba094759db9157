"""`stigmer server --ui-port P`: the dashboard beside the gRPC API, behind the same API keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.cli.helpers import Stigmer
from tests.server.harness import ServerProcess
from tests.ui.flows import run_release_and_approve
from tests.ui.harness import DashboardProcess, dashboard_home, http, wait_for

DASHBOARD = re.compile(r"dashboard: (http://127\.0\.0\.1:\d+/)")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str, str]]:
    """A server with its dashboard, the dashboard's address and an API key."""
    home = dashboard_home(Path(tmp_path_factory.mktemp("server-ui")))
    key = home("server", "keys", "create", "admin").out.strip()
    server = ServerProcess(home, "--ui-port", "0").start()
    try:
        found = wait_for(lambda: DASHBOARD.search(server.output()))
        yield server, found.group(1), key
    finally:
        server.stop()


def test_the_server_serves_the_dashboard_behind_its_api_keys(served: tuple[ServerProcess, str, str]) -> None:
    _, url, key = served
    assert http(f"{url}api/info")[0] == 401
    auth = {"Authorization": f"Bearer {key}"}
    status, _, info = http(f"{url}api/info", headers=auth)
    assert status == 200
    assert (
        info["auth"] == {"required": True, "key": "admin", "role": "admin", "may": {"run": True}}
        and info["remote"] is True
    )

    status, _, started = http(
        f"{url}api/workflows/release-gate/executions",
        method="POST",
        body={"inputs": {"version": "srv"}},
        headers=auth,
    )
    assert status == 201, started
    run = started["id"]

    def phase() -> str:
        return str(http(f"{url}api/executions/{run}", headers=auth)[2]["summary"]["phase"])

    wait_for(lambda: phase() == "WAITING_APPROVAL")  # the server's worker runs it
    status, _, refused = http(f"{url}api/executions/{run}/resume", method="POST", body={}, headers=auth)
    assert status == 409 and "waiting for an approval" in refused["error"]  # a person, not a worker
    assert http(f"{url}api/executions/{run}/approve", method="POST", body={}, headers=auth)[0] == 200
    wait_for(lambda: phase() == "COMPLETED")
    status, _, view = http(f"{url}api/executions/{run}", headers=auth)
    assert view["record"]["status"]["outputs"]["title"] == "Release srv"


def test_a_team_member_signs_in_with_a_key_and_works_in_the_browser(
    page: Page, served: tuple[ServerProcess, str, str]
) -> None:
    _, url, key = served
    page.goto(f"{url}?token={key}")
    expect(page.locator("#footer")).to_contain_text("the server runs executions")
    run_release_and_approve(page, url, "10.0")


def test_stigmer_ui_of_a_logged_in_home_shows_and_drives_the_server(
    served: tuple[ServerProcess, str, str], tmp_path: Path
) -> None:
    server, _, key = served
    client = Stigmer(tmp_path / "client-home", tmp_path)
    client("login", server.url, "--token", key)
    with DashboardProcess(client) as local:
        assert f"backend: server {server.url}" in local.output()
        assert "worker:  off (the server runs executions)" in local.output()
        status, _, info = http(f"{local.url}api/info")
        assert status == 200 and info["backend"] == f"server {server.url}" and info["remote"] is True
        status, _, started = http(
            f"{local.url}api/workflows/release-gate/executions",
            method="POST",
            body={"inputs": {"version": "via-cli-login"}},
        )
        assert status == 201, started
        run = started["id"]

        def phase() -> str:
            return str(http(f"{local.url}api/executions/{run}")[2]["summary"]["phase"])

        wait_for(lambda: phase() == "WAITING_APPROVAL")
        assert run in client("execution", "list", "-o", "json").out  # the same runs the CLI sees
        assert http(f"{local.url}api/executions/{run}/approve", method="POST", body={})[0] == 200
        wait_for(lambda: phase() == "COMPLETED")


def test_a_viewer_key_sees_runs_but_is_offered_and_allowed_nothing_else(
    page: Page, served: tuple[ServerProcess, str, str]
) -> None:
    server, url, admin = served
    viewer = server.home("server", "keys", "create", "watcher", "--role", "viewer").out.strip()
    status, _, started = http(
        f"{url}api/workflows/release-gate/executions",
        method="POST",
        body={"inputs": {"version": "for-viewer"}},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert status == 201, started
    run = started["id"]
    mine = {"Authorization": f"Bearer {viewer}"}
    info = http(f"{url}api/info", headers=mine)[2]
    assert info["auth"]["role"] == "viewer" and info["auth"]["may"] == {"run": False}
    wait_for(
        lambda: http(f"{url}api/executions/{run}", headers=mine)[2]["summary"]["phase"] == "WAITING_APPROVAL"
    )
    assert http(f"{url}api/executions/{run}", headers=mine)[2]["actions"] == []
    for path in (
        f"executions/{run}/approve",
        f"executions/{run}/cancel",
        "workflows/release-gate/executions",
    ):
        status, _, refused = http(f"{url}api/{path}", method="POST", body={}, headers=mine)
        assert status == 403 and "has the role viewer" in refused["error"], (path, refused)
    page.goto(f"{url}?token={viewer}")
    page.goto(f"{url}#/executions/{run}")
    expect(page.locator("h1")).to_contain_text(run)
    expect(page.locator("[data-action=approve]")).to_have_count(0)
    page.goto(f"{url}#/workflows/release-gate")
    expect(page.locator("#graph")).to_be_visible()
    expect(page.locator("#run")).to_have_count(0)
    # the admin still approves it, so the run ends
    assert (
        http(
            f"{url}api/executions/{run}/approve",
            method="POST",
            body={},
            headers={"Authorization": f"Bearer {admin}"},
        )[0]
        == 200
    )


def test_stigmer_ui_of_a_home_logged_in_with_a_viewer_key_offers_no_runs(
    served: tuple[ServerProcess, str, str], tmp_path: Path
) -> None:
    server, _, _ = served
    viewer = server.home("server", "keys", "create", "local-viewer", "--role", "viewer").out.strip()
    client = Stigmer(tmp_path / "client-home", tmp_path)
    client("login", server.url, "--token", viewer)
    with DashboardProcess(client) as local:
        info = http(f"{local.url}api/info")[2]
        assert info["auth"]["role"] == "viewer" and info["auth"]["may"] == {"run": False}
        status, _, refused = http(
            f"{local.url}api/workflows/release-gate/executions",
            method="POST",
            body={"inputs": {"version": "x"}},
        )
        assert status == 403 and "has the role viewer" in refused["error"]
