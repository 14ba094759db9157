"""Schedules and webhooks in the dashboard, and what started each run."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.cli.helpers import Stigmer, write
from tests.ui.harness import DashboardProcess

TRIGGERS = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: digest}
spec:
  tasks: [{name: gather, set: {summary: weekly}}]
---
apiVersion: agentic.stigmer.ai/v1
kind: Schedule
metadata: {name: weekly-digest}
spec: {cron: "0 9 * * 1", timeZone: Europe/Berlin, workflow: digest}
---
apiVersion: agentic.stigmer.ai/v1
kind: Webhook
metadata: {name: github-prs}
spec: {workflow: digest, environment: vault}
"""


def test_schedules_show_next_fires_and_recent_runs_and_runs_say_what_started_them(
    page: Page, own_home: Stigmer
) -> None:
    write(own_home.cwd / "triggers.yaml", TRIGGERS)
    own_home("apply", "-f", "triggers.yaml")
    run_id = own_home("schedule", "trigger", "weekly-digest", "-o", "json").json()["executionId"]
    with DashboardProcess(own_home) as dashboard:
        page.goto(dashboard.url)
        page.click('#nav a[data-nav="schedules"]')
        row = page.locator('#resources tr[data-name="weekly-digest"]')
        expect(row).to_contain_text("0 9 * * 1 (Europe/Berlin)")
        expect(row.locator(".fires .tag")).to_have_count(2)
        expect(row).to_contain_text(run_id)
        row.locator("a").first.click()
        expect(page.locator("h1")).to_contain_text("weekly-digest")
        expect(page.locator(".fires .tag")).to_have_count(5)
        expect(page.locator(f'#recent tr[data-id="{run_id}"]')).to_contain_text("schedule weekly-digest")

        page.click('#nav a[data-nav="webhooks"]')
        expect(page.locator('#resources tr[data-name="github-prs"]')).to_contain_text(
            "POST /hooks/github-prs"
        )

        page.click('#nav a[data-nav="executions"]')
        expect(page.locator(f'#executions tr[data-id="{run_id}"] td.trigger')).to_have_text(
            "schedule weekly-digest"
        )
