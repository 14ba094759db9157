"""What people do in the dashboard, as steps in a real browser, shared by the tests."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

RUN_TIMEOUT_MS = 20_000


def phase(page: Page) -> Locator:
    """The phase badge of the execution page."""
    return page.locator("#phase [data-phase]")


def task(page: Page, name: str) -> Locator:
    """A task's box in the execution's graph."""
    return page.locator(f'#graph g.node[data-task="{name}"]')


def execution_id(page: Page) -> str:
    """The id of the execution the page shows (from its address)."""
    return page.url.rsplit("#/executions/", 1)[1]


def start_release(page: Page, base_url: str, version: str) -> str:
    """Open release-gate, fill its form, run it; the new execution's id."""
    page.goto(f"{base_url}#/workflows/release-gate")
    expect(page.locator("#run-workflow")).to_be_visible()
    page.fill("#input-version", version)
    page.click("#run")
    expect(page).to_have_url(re.compile(r"#/executions/wex_\w+$"))
    expect(page.locator("#phase")).to_be_visible()
    return execution_id(page)


def run_release_and_approve(page: Page, base_url: str, version: str = "2.0") -> str:
    """Start release-gate from its form, watch its tasks, approve its sign-off, read its outputs.

    Returns:
        The execution's id.
    """
    run = start_release(page, base_url, version)
    expect(phase(page)).to_have_attribute("data-phase", "WAITING_APPROVAL", timeout=RUN_TIMEOUT_MS)
    expect(task(page, "prepare")).to_have_attribute("data-phase", "COMPLETED")
    expect(task(page, "notes")).to_have_attribute("data-phase", "COMPLETED")
    expect(task(page, "notes")).to_contain_text("2/2 items")
    expect(task(page, "sign-off")).to_have_attribute("data-phase", "WAITING_APPROVAL")
    expect(task(page, "publish")).to_have_attribute("data-phase", "PENDING")
    expect(page.locator("#approval-message")).to_have_text(f"Publish Release {version}?")
    expect(page.locator("#outputs")).to_contain_text("Not yet")

    page.click('#approval [data-action="approve"]')
    for name in ("prepare", "notes", "sign-off", "publish"):
        expect(task(page, name)).to_have_attribute("data-phase", "COMPLETED", timeout=RUN_TIMEOUT_MS)
    expect(phase(page)).to_have_attribute("data-phase", "COMPLETED")
    expect(page.locator("#approval")).to_have_count(0)
    outputs = page.locator("#outputs-json")
    expect(outputs).to_contain_text(f'"title": "Release {version}"')
    expect(outputs).to_contain_text('"published": true')
    expect(page.locator("#log")).to_contain_text("◆ sign-off waits for approval")
    expect(page.locator("#log")).to_contain_text("■ sign-off completed")
    expect(page.locator('#tasks tr[data-task="publish"]')).to_contain_text("completed")
    return run


__all__ = ["RUN_TIMEOUT_MS", "execution_id", "phase", "run_release_and_approve", "start_release", "task"]
