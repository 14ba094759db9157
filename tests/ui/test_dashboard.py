"""`stigmer ui` in a real headless Chromium: what a person sees and does, end to end."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.cli.helpers import Stigmer
from tests.ui.flows import RUN_TIMEOUT_MS, execution_id, phase, run_release_and_approve, start_release, task
from tests.ui.harness import STAGING_SECRET, DashboardProcess, http


def test_a_workflow_runs_from_its_form_lights_up_waits_for_approval_and_shows_its_outputs(
    page: Page, dashboard: DashboardProcess
) -> None:
    run = run_release_and_approve(page, dashboard.url, "2.0")

    page.click('#nav a[data-nav="executions"]')
    row = page.locator(f'#executions tr[data-id="{run}"]')
    expect(row).to_have_attribute("data-phase", "COMPLETED")
    expect(row).to_contain_text("release-gate")
    row.locator("a").first.click()
    expect(phase(page)).to_have_attribute("data-phase", "COMPLETED")
    expect(page.locator("#outputs-json")).to_contain_text("Release 2.0")
    # Its waterfall: the run, its tasks, each with its bar on the run's timeline.
    waterfall = page.locator("#waterfall")
    expect(waterfall.locator('tr[data-kind="workflow"]')).to_contain_text("workflow release-gate")
    expect(waterfall.locator('tr[data-kind="task"]').first).to_contain_text("task prepare")
    expect(waterfall.locator('tr[data-kind="approval"]')).to_contain_text("approval sign-off")
    expect(waterfall.locator("div.bar").first).to_be_visible()


def test_every_kind_of_resource_is_listed_and_shown(page: Page, dashboard: DashboardProcess) -> None:
    page.goto(dashboard.url)
    expect(page.locator("h1")).to_have_text("Executions")

    page.click('#nav a[data-nav="workflows"]')
    expect(page.locator('#resources tr[data-name="release-gate"]')).to_contain_text(
        "channels, urgent, version"
    )
    page.click('#resources tr[data-name="order-update"] a')
    graph = page.locator("#graph svg")
    expect(graph.locator("g.node")).to_have_count(6)
    expect(graph.locator('g.node[data-task="escalate"]')).to_contain_text("approval")
    expect(graph.locator('g.node[data-task="send"]')).to_contain_text("approval")
    expect(graph.locator("g.edge-label text")).to_have_text(['"shipped" in tasks.l…', "default"])
    expect(graph.locator("g.edge-label title").first).to_have_text('"shipped" in tasks.lookup.output')
    expect(page.locator("#input-recipients")).to_have_value('["ops","sales"]')

    page.click('#nav a[data-nav="agents"]')
    expect(page.locator('#resources tr[data-name="support-bot-scripted"]')).to_contain_text("scripted")
    page.click('#nav a[data-nav="skills"]')
    page.click('#resources tr[data-name="refund-policy"] a')
    expect(page.locator("pre.prose")).to_contain_text("30 days")
    page.click('#nav a[data-nav="mcpservers"]')
    expect(page.locator('#resources tr[data-name="helpdesk"]')).to_contain_text("refund_order")

    page.click('#nav a[data-nav="environments"]')
    expect(page.locator('#resources tr[data-name="vault"]')).to_contain_text("TOKEN")
    page.click('#resources tr[data-name="vault"] a')
    expect(page.locator("#secret-names")).to_have_text("TOKEN = ****")
    page.locator("details.card summary").click()
    assert STAGING_SECRET not in page.content()


def test_the_form_shows_what_is_wrong_by_the_input_it_is_about(
    page: Page, dashboard: DashboardProcess
) -> None:
    page.goto(f"{dashboard.url}#/workflows/release-gate")
    page.fill("#input-version", "3.0")
    page.fill("#input-channels", "web and mail")
    page.click("#run")
    expect(page.locator('[data-error-for="channels"]')).to_contain_text("input 'channels' must be an array")
    expect(page.locator("#input-channels")).to_have_class("invalid")
    assert page.url.endswith("#/workflows/release-gate")  # nothing started

    page.fill("#input-channels", '["web"]')
    page.click("#run")
    expect(page).to_have_url(re.compile(r"#/executions/wex_\w+$"))
    expect(task(page, "notes")).to_contain_text("1/1 items", timeout=RUN_TIMEOUT_MS)


def test_an_agent_run_streams_its_transcript_and_waits_for_a_tool_a_person_approves(
    page: Page, dashboard: DashboardProcess
) -> None:
    page.goto(f"{dashboard.url}#/agents/refund-bot")
    page.fill('#run-agent textarea[name="message"]', "Please refund order A-1")
    page.click("#run")

    expect(phase(page)).to_have_attribute("data-phase", "WAITING_APPROVAL", timeout=RUN_TIMEOUT_MS)
    approval = page.locator("#approval")
    expect(approval).to_contain_text("refund_order")
    expect(approval).to_contain_text('"id": "A-1"')
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text("Please refund order A-1")
    expect(transcript.locator('[data-tool="refund_order"]')).to_contain_text("waiting for approval")

    approval.locator('[data-action="approve"]').click()
    expect(phase(page)).to_have_attribute("data-phase", "COMPLETED", timeout=RUN_TIMEOUT_MS)
    expect(transcript.locator('[data-tool="refund_order"] pre.result')).to_contain_text("A-1")
    expect(transcript).to_contain_text("Refunded order A-1.")
    expect(page.locator("#usage")).to_contain_text("scripted")
    expect(page.locator("#usage")).to_contain_text("Model calls2")
    expect(page.locator("#outputs")).to_contain_text("Refunded order A-1.")
    expect(page.locator("#log")).to_contain_text("refund_order")


def test_a_rejected_approval_fails_the_run_and_a_cancelled_one_stops_it(
    page: Page, dashboard: DashboardProcess
) -> None:
    start_release(page, dashboard.url, "4.0")
    expect(task(page, "sign-off")).to_have_attribute("data-phase", "WAITING_APPROVAL", timeout=RUN_TIMEOUT_MS)
    page.fill("#reason", "not this week")
    page.click('#approval [data-action="reject"]')
    expect(phase(page)).to_have_attribute("data-phase", "FAILED", timeout=RUN_TIMEOUT_MS)
    expect(task(page, "sign-off")).to_have_attribute("data-phase", "FAILED")
    expect(task(page, "publish")).not_to_have_attribute("data-phase", "COMPLETED")
    expect(page.locator("#error")).to_contain_text("sign-off")
    expect(page.locator('#tasks tr[data-task="sign-off"]')).to_contain_text("not this week")

    start_release(page, dashboard.url, "5.0")
    expect(phase(page)).to_have_attribute("data-phase", "WAITING_APPROVAL", timeout=RUN_TIMEOUT_MS)
    page.click('#actions [data-action="cancel"]')
    expect(phase(page)).to_have_attribute("data-phase", "CANCELLED")
    expect(page.locator("#actions button")).to_have_count(0)


def test_a_decision_taken_in_a_terminal_shows_on_the_open_page(
    page: Page, dashboard: DashboardProcess, home: Stigmer
) -> None:
    run = start_release(page, dashboard.url, "6.0")
    expect(phase(page)).to_have_attribute("data-phase", "WAITING_APPROVAL", timeout=RUN_TIMEOUT_MS)

    home("execution", "approve", run, "--detach")
    expect(phase(page)).to_have_attribute("data-phase", "COMPLETED", timeout=RUN_TIMEOUT_MS)
    expect(task(page, "publish")).to_have_attribute("data-phase", "COMPLETED")
    assert execution_id(page) == run


def test_the_list_filters_by_phase_kind_and_definition(page: Page, dashboard: DashboardProcess) -> None:
    status, _, started = http(
        f"{dashboard.url}api/workflows/release-gate/executions",
        method="POST",
        body={"inputs": {"version": "7"}},
    )
    assert status == 201, started
    page.goto(f"{dashboard.url}#/executions/{started['id']}")
    expect(phase(page)).to_have_attribute("data-phase", "WAITING_APPROVAL", timeout=RUN_TIMEOUT_MS)

    page.click('#nav a[data-nav="executions"]')
    page.select_option('#filters select[name="phase"]', "WAITING_APPROVAL")
    expect(page).to_have_url(f"{dashboard.url}#/executions?phase=WAITING_APPROVAL")
    assert column(page, "phase=WAITING_APPROVAL", "r.dataset.phase") == {"WAITING_APPROVAL"}
    expect(page.locator(f'#executions tr[data-id="{started["id"]}"]')).to_be_visible()

    page.select_option('#filters select[name="phase"]', "")
    page.select_option('#filters select[name="kind"]', "agent")
    assert column(page, "kind=agent", "r.cells[1].textContent") == {"agent"}

    page.select_option('#filters select[name="kind"]', "")
    page.fill('#filters input[name="definition"]', "release-gate")
    page.click('#filters button[type="submit"]')
    assert column(page, "definition=release-gate", "r.cells[2].textContent") == {"release-gate"}

    page.select_option('#filters select[name="since"]', "1h")
    assert column(page, "since=1h&definition=release-gate", "r.cells[2].textContent") == {"release-gate"}


def column(page: Page, shown: str, cell: str) -> set[str]:
    """The values of one column of the executions list, once it shows the rows of ``shown``."""
    rows = page.locator(f'#executions[data-filter="{shown}"] tbody tr')
    expect(rows.first).to_be_visible()
    return set(rows.evaluate_all(f"rows => rows.map(r => {cell})"))


def test_an_mcp_servers_page_shows_its_live_tools(page: Page, dashboard: DashboardProcess) -> None:
    page.goto(f"{dashboard.url}#/mcpservers/helpdesk")
    tools = page.locator("#live-tools")
    expect(tools.locator('tr[data-tool="find_order"]')).to_contain_text(
        "Look up an order", timeout=RUN_TIMEOUT_MS
    )
    expect(tools.locator('tr[data-tool="refund_order"] td').nth(2)).to_have_text("yes")  # approval
    expect(tools.locator('tr[data-tool="sleep"] td').nth(3)).to_have_text("no: not in enabledTools")


BOOKER = """
apiVersion: agentic.stigmer.ai/v1
kind: McpServer
metadata: {{name: asker}}
spec:
  stdio: {{command: "{python}", args: ["{asker}"]}}
---
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {{name: booker}}
spec:
  instructions: Book the table you are asked for.
  model:
    provider: scripted
    options:
      script:
        - toolCalls: [{{name: book_table, arguments: {{restaurant: Chez Ada}}}}]
        - echoToolResult: true
  mcpServers: [asker]
"""


def test_an_mcp_server_asks_a_person_and_the_page_shows_a_form_built_from_its_schema(
    page: Page, dashboard: DashboardProcess, home: Stigmer
) -> None:
    import sys
    from pathlib import Path

    from tests.cli.helpers import write

    asker = Path(__file__).resolve().parents[1] / "fixtures" / "mcp_servers" / "asker.py"
    home("apply", "-f", write(home.cwd / "booker.yaml", BOOKER.format(python=sys.executable, asker=asker)))
    page.goto(f"{dashboard.url}#/agents/booker")
    page.fill('#run-agent textarea[name="message"]', "Book Chez Ada")
    page.click("#run")

    panel = page.locator("#input")
    expect(panel).to_contain_text("Booking at Chez Ada: who is it for?", timeout=RUN_TIMEOUT_MS)
    expect(panel).to_contain_text("asker asks during book_table")
    form = page.locator("#input-form")
    # The fields in the server's order, with its defaults filled in.
    expect(form.locator("label.field .label")).to_have_text(
        [re.compile(f"^{name}") for name in ("Name", "Guests", "Time", "Terrace", "Budget")]
    )
    expect(form.locator('select[name="time"]')).to_have_value("19:00")
    expect(form.locator('input[name="guests"]')).to_have_value("2")
    expect(page.locator('#transcript [data-tool="book_table"]')).to_contain_text("waiting for a person")

    # An answer that does not fit (sent past the browser's own checks) is refused, and the run waits.
    run = execution_id(page)
    status, _, body = http(
        f"{dashboard.url}api/executions/{run}/respond", method="POST", body={"content": {"guests": "many"}}
    )
    assert status == 400 and 'guests: expected a whole number, got "many"' in body["error"]
    assert "name: required" in body["error"]
    expect(panel).to_be_visible()

    form.locator('input[name="name"]').fill("Ada")
    form.locator('input[name="guests"]').fill("4")
    form.locator('input[name="terrace"]').check()
    form.locator('[data-action="respond"]').click()
    expect(phase(page)).to_have_attribute("data-phase", "COMPLETED", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#outputs")).to_contain_text(
        "booked Chez Ada for Ada: 4 guests at 19:00, terrace True, budget 0.0"
    )
    expect(page.locator("#input")).to_have_count(0)
    expect(page.locator("#log")).to_contain_text("book_table answered")


SAMPLER = """
apiVersion: agentic.stigmer.ai/v1
kind: McpServer
metadata: {{name: everything}}
spec:
  stdio: {{command: "{everything}", args: [stdio]}}
  enabledTools: [trigger-sampling-request]
---
apiVersion: agentic.stigmer.ai/v1
kind: Agent
metadata: {{name: sampled}}
spec:
  instructions: Use the tool.
  model:
    provider: scripted
    options:
      script:
        - toolCalls:
            - {{name: trigger-sampling-request, arguments: {{prompt: Name a colour., maxTokens: 20}}}}
        - echoToolResult: true
  mcpServers: [everything]
"""


def test_a_sampling_request_waits_for_a_person_to_approve_it_on_the_page(
    page: Page, dashboard: DashboardProcess, home: Stigmer
) -> None:
    from tests.cli.helpers import write
    from tests.fixtures.mcp_servers.npm import everything_bin

    home("apply", "-f", write(home.cwd / "sampled.yaml", SAMPLER.format(everything=everything_bin())))
    page.goto(f"{dashboard.url}#/agents/sampled")
    page.fill('#run-agent textarea[name="message"]', "Ask the server")
    page.click("#run")

    panel = page.locator("#approval")
    expect(panel).to_contain_text("for a completion by the agent's model", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#approval-message")).to_contain_text("Name a colour.")
    panel.locator('[data-action="approve"]').click()
    expect(phase(page)).to_have_attribute("data-phase", "COMPLETED", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#outputs")).to_contain_text("LLM sampling result")
