"""`stigmer ui --require-key`: nothing without an API key; the same dashboard with one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.cli.helpers import Stigmer
from tests.ui.flows import run_release_and_approve
from tests.ui.harness import DashboardProcess, http


@pytest.fixture(scope="module")
def key(home: Stigmer) -> str:
    return home("server", "keys", "create", "alice").out.strip()


@pytest.fixture(scope="module")
def locked(home: Stigmer, key: str) -> Iterator[DashboardProcess]:
    with DashboardProcess(home, "--require-key") as running:
        yield running


def test_the_api_answers_only_requests_with_a_valid_key(locked: DashboardProcess, key: str) -> None:
    assert "API key: required" in locked.output()
    status, _, body = http(f"{locked.url}api/executions")
    assert status == 401
    assert body["code"] == "UNAUTHENTICATED" and "stigmer server keys create" in body["hint"]
    assert http(f"{locked.url}api/info", headers={"Authorization": "Bearer sk_0_nope"})[0] == 401
    assert http(f"{locked.url}api/executions/x/events")[0] == 401
    status, _, body = http(f"{locked.url}api/info", headers={"Authorization": f"Bearer {key}"})
    assert status == 200 and body["auth"] == {
        "required": True,
        "key": "alice",
        "role": "admin",
        "may": {"run": True},
    }
    # The page and its scripts hold no data: they load, then ask for a key.
    assert http(locked.url)[0] == 200
    assert http(f"{locked.url}static/app.js")[0] == 200


def test_a_person_signs_in_and_runs_a_workflow_to_its_outputs(
    page: Page, locked: DashboardProcess, key: str
) -> None:
    page.goto(locked.url)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#token", "sk_0123_wrong")
    page.click("#login button[type=submit]")
    expect(page.locator("#login .problem")).to_contain_text("refused")

    page.fill("#token", key)
    page.click("#login button[type=submit]")
    expect(page.locator("h1")).to_have_text("Executions")
    expect(page.locator("#who")).to_contain_text("key alice")
    cookie = next(c for c in page.context.cookies() if c["name"] == "stigmer_key")
    assert cookie["httpOnly"] and cookie.get("sameSite") == "Strict"
    assert page.evaluate("document.cookie") == ""  # scripts cannot read the key

    run_release_and_approve(page, locked.url, "9.1")

    page.reload()
    expect(page.locator("#phase [data-phase]")).to_have_attribute("data-phase", "COMPLETED")
    page.click("#sign-out")
    expect(page.locator("#login")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "stigmer_key"]


def test_a_link_with_the_key_signs_in_once_and_leaves_the_address_clean(
    page: Page, locked: DashboardProcess, key: str
) -> None:
    page.goto(f"{locked.url}?token={key}")
    expect(page.locator("h1")).to_have_text("Executions")
    assert "token" not in page.url

    page.context.clear_cookies()
    page.goto(f"{locked.url}?token=sk_1_refused")
    expect(page.locator("#login .problem")).to_contain_text("refused")
    assert "token" not in page.url


def test_a_revoked_key_is_refused_at_once(locked: DashboardProcess, home: Stigmer) -> None:
    token = home("server", "keys", "create", "bob").out.strip()
    assert http(f"{locked.url}api/info", headers={"Authorization": f"Bearer {token}"})[0] == 200
    home("server", "keys", "revoke", "bob")
    assert http(f"{locked.url}api/info", headers={"Authorization": f"Bearer {token}"})[0] == 401


def test_without_any_key_it_says_so_at_start(own_home: Stigmer) -> None:
    with DashboardProcess(own_home, "--require-key") as running:
        assert "no API key exists yet" in running.output()
