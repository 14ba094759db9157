"""Every read command in every format: tables for people, YAML and JSON for programs."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from stigmer.store.migrations import LATEST

from .helpers import Stigmer, create_executions, headers, table


@dataclass(frozen=True)
class Home:
    """The shared home of this module: examples/ applied and two pending executions."""

    stigmer: Stigmer
    agent_run: str
    workflow_run: str


@pytest.fixture(scope="module")
def home(examples_home: Stigmer) -> Home:
    agent_run, workflow_run = create_executions(examples_home)
    return Home(examples_home, agent_run, workflow_run)


AGENT_NAMES = ["release-notes-writer", "support-bot", "support-bot-scripted"]
AGENT_COLUMNS = ["NAME", "MODEL", "MCP SERVERS", "SKILLS", "REFERENCES", "VERSION", "AGE"]
WORKFLOW_NAMES = ["order-update", "weekly-release-notes"]
WORKFLOW_COLUMNS = ["NAME", "TASKS", "INPUTS", "REFERENCES", "VERSION", "AGE"]

# (command, kind of every item, names in order, table columns)
LISTS: list[tuple[tuple[str, ...], str, list[str], list[str]]] = [
    (("get", "agents"), "Agent", AGENT_NAMES, AGENT_COLUMNS),
    (("agent", "list"), "Agent", AGENT_NAMES, AGENT_COLUMNS),
    (("get", "workflows"), "Workflow", WORKFLOW_NAMES, WORKFLOW_COLUMNS),
    (("workflow", "list"), "Workflow", WORKFLOW_NAMES, WORKFLOW_COLUMNS),
    (("get", "skills"), "Skill", ["refund-policy"], ["NAME", "DESCRIPTION", "VERSION", "AGE"]),
    (
        ("get", "mcpservers"),
        "McpServer",
        ["helpdesk"],
        ["NAME", "TRANSPORT", "TARGET", "TOOLS", "SIGNED IN", "VERSION", "AGE"],
    ),
    (
        ("get", "environments"),
        "Environment",
        ["staging"],
        ["NAME", "VARIABLES", "SECRETS", "VERSION", "AGE"],
    ),
    (
        ("get", "agentinstances"),
        "AgentInstance",
        AGENT_NAMES,
        ["NAME", "AGENT", "ENVIRONMENT", "REFERENCES", "VERSION", "AGE"],
    ),
    (
        ("get", "workflowinstances"),
        "WorkflowInstance",
        WORKFLOW_NAMES,
        ["NAME", "WORKFLOW", "ENVIRONMENT", "REFERENCES", "VERSION", "AGE"],
    ),
]


def ids(cases: list[tuple[tuple[str, ...], Any, Any, Any]]) -> list[str]:
    return [" ".join(case[0]) for case in cases]


@pytest.mark.parametrize(("command", "kind", "names", "columns"), LISTS, ids=ids(LISTS))
def test_list_in_every_format(
    home: Home, command: tuple[str, ...], kind: str, names: list[str], columns: list[str]
) -> None:
    stigmer = home.stigmer
    as_json = stigmer(*command, "-o", "json").json()
    assert [item["metadata"]["name"] for item in as_json] == names
    for item in as_json:
        assert item["apiVersion"] == "agentic.stigmer.ai/v1"
        assert item["kind"] == kind
        assert item["metadata"]["id"]
        assert item["metadata"]["version"] == 1
        assert item["metadata"]["createTime"].endswith("Z")

    assert list(yaml.safe_load_all(stigmer(*command, "-o", "yaml").out)) == as_json

    shown = stigmer(*command, "-o", "table").out
    assert headers(shown) == columns
    assert [row["NAME"] for row in table(shown)] == names


def test_tables_show_what_a_person_scans_for(home: Home) -> None:
    agents = {row["NAME"]: row for row in table(home.stigmer("get", "agents").out)}
    assert agents["support-bot"]["MODEL"] == "(default)"
    assert agents["support-bot-scripted"]["MODEL"] == "scripted"
    assert agents["support-bot"]["MCP SERVERS"] == "helpdesk"
    assert agents["support-bot"]["SKILLS"] == "refund-policy"
    assert agents["support-bot"]["REFERENCES"] == "ok"
    assert agents["release-notes-writer"]["MODEL"] == "local/smollm2"
    assert agents["release-notes-writer"]["SKILLS"] == "-"

    workflows = {row["NAME"]: row for row in table(home.stigmer("get", "workflows").out)}
    workflow = workflows["weekly-release-notes"]
    assert (workflow["TASKS"], workflow["INPUTS"]) == ("2", "audience,week")
    assert (workflows["order-update"]["TASKS"], workflows["order-update"]["INPUTS"]) == (
        "6",
        "order,recipients",
    )
    [server] = table(home.stigmer("get", "mcpservers").out)
    assert server["TRANSPORT"] == "stdio"
    assert server["TARGET"] == "python examples/mcpservers/helpdesk_server.py"
    assert server["TOOLS"] == "find_order,create_ticket,refund_order"
    [env] = table(home.stigmer("get", "environments").out)
    assert (env["VARIABLES"], env["SECRETS"]) == ("HELPDESK_URL,REGION", "-")


def test_table_is_the_default_format(home: Home) -> None:
    def rows(out: str) -> list[dict[str, str]]:
        return [
            {k: v for k, v in row.items() if k != "AGE"} for row in table(out)
        ]  # AGE may tick between calls

    assert rows(home.stigmer("get", "agents").out) == rows(home.stigmer("get", "agents", "-o", "table").out)


@pytest.mark.parametrize(
    ("word", "name"), [("Agent", "support-bot"), ("mcp", "helpdesk"), ("wf", "weekly-release-notes")]
)
def test_kind_words(home: Home, word: str, name: str) -> None:
    assert name in home.stigmer.names(word)


def test_an_empty_list(home: Home) -> None:
    shown = home.stigmer("get", "sessions")
    assert (shown.out, shown.err) == ("", "No sessions found.\n")
    assert home.stigmer("get", "sessions", "-o", "json").json() == []
    assert list(yaml.safe_load_all(home.stigmer("get", "sessions", "-o", "yaml").out)) == []


# (command, kind, name)
SINGLES: list[tuple[tuple[str, ...], str, str]] = [
    (("get", "agent", "support-bot"), "Agent", "support-bot"),
    (("agent", "get", "support-bot"), "Agent", "support-bot"),
    (("get", "workflow", "weekly-release-notes"), "Workflow", "weekly-release-notes"),
    (("workflow", "get", "weekly-release-notes"), "Workflow", "weekly-release-notes"),
    (("get", "skill", "refund-policy"), "Skill", "refund-policy"),
]


@pytest.mark.parametrize(("command", "kind", "name"), SINGLES, ids=[" ".join(c[0]) for c in SINGLES])
def test_one_resource_in_every_format(home: Home, command: tuple[str, ...], kind: str, name: str) -> None:
    stigmer = home.stigmer
    as_json = stigmer(*command, "-o", "json").json()
    assert isinstance(as_json, dict)
    assert (as_json["kind"], as_json["metadata"]["name"]) == (kind, name)
    assert yaml.safe_load(stigmer(*command, "-o", "yaml").out) == as_json
    rows = table(stigmer(*command).out)
    assert [row["NAME"] for row in rows] == [name]


def test_a_resource_by_id(home: Home) -> None:
    agent = home.stigmer.resource("agent", "support-bot")
    assert home.stigmer.resource("agent", agent["metadata"]["id"]) == agent


def test_get_agent_shows_the_spec_as_stored(home: Home) -> None:
    agent = home.stigmer.resource("agent", "support-bot")
    assert agent["metadata"]["labels"] == {"team": "cs"}
    assert agent["spec"]["model"] == {"options": {"temperature": "0.2"}}
    assert agent["spec"]["mcpServers"] == [{"ref": "helpdesk"}]
    assert agent["spec"]["skills"] == ["refund-policy"]
    assert [(r["kind"], r["name"], r["resolved"]) for r in agent["status"]["references"]] == [
        ("McpServer", "helpdesk", True),
        ("Skill", "refund-policy", True),
    ]
    instance = home.stigmer.resource("agentinstance", "support-bot")
    assert agent["status"]["defaultInstanceId"] == instance["metadata"]["id"]
    assert instance["spec"]["agent"] == "support-bot"


def test_execution_list_in_every_format(home: Home) -> None:
    stigmer = home.stigmer
    newest_first = [home.workflow_run, home.agent_run]
    as_json = stigmer("execution", "list", "-o", "json").json()
    assert [e["metadata"]["id"] for e in as_json] == newest_first
    assert [e["kind"] for e in as_json] == ["WorkflowExecution", "AgentExecution"]
    assert {e["status"]["phase"] for e in as_json} == {"PENDING"}
    # The run records the inputs it runs with (defaults filled in), the version it is pinned to,
    # and who started it (written straight through the backend: by no CLI, dashboard or SDK).
    started_by = {"type": "manual", "actor": f"local:{getpass.getuser()}"}
    assert as_json[0]["spec"] == {
        "workflow": "weekly-release-notes",
        "inputs": {"audience": "customers", "week": "2026-W47"},
        "workflowVersion": 1,
        "trigger": started_by,
    }
    assert as_json[1]["spec"] == {
        "agent": "support-bot",
        "message": "Where is order 42?",
        "trigger": started_by,
    }
    assert list(yaml.safe_load_all(stigmer("execution", "list", "-o", "yaml").out)) == as_json

    shown = stigmer("execution", "list").out
    assert headers(shown) == ["ID", "KIND", "TARGET", "PHASE", "TRIGGER", "AGE", "DURATION", "TOKENS", "COST"]
    assert [(r["ID"], r["KIND"], r["TARGET"], r["PHASE"]) for r in table(shown)] == [
        (home.workflow_run, "workflow", "weekly-release-notes", "PENDING"),
        (home.agent_run, "agent", "support-bot", "PENDING"),
    ]
    # `get executions` is the same listing (AGE may tick between the two calls).
    same = table(stigmer("get", "executions").out)
    assert [{k: v for k, v in r.items() if k != "AGE"} for r in same] == [
        {k: v for k, v in r.items() if k != "AGE"} for r in table(shown)
    ]


def test_execution_list_filters(home: Home) -> None:
    stigmer = home.stigmer
    agent_only = stigmer("execution", "list", "--kind", "agent", "-o", "json").json()
    assert [e["metadata"]["id"] for e in agent_only] == [home.agent_run]
    pending = stigmer("execution", "list", "--phase", "pending", "-o", "json").json()
    assert len(pending) == 2
    assert stigmer("execution", "list", "--phase", "completed", "-o", "json").json() == []
    none = stigmer("execution", "list", "--phase", "completed")
    assert (none.out, none.err) == ("", "No executions found.\n")


def test_one_execution(home: Home) -> None:
    stigmer = home.stigmer
    shown = stigmer("execution", "get", home.agent_run, "-o", "json").json()
    assert shown["metadata"]["id"] == home.agent_run
    assert shown["status"]["phase"] == "PENDING"
    assert stigmer("get", "execution", home.agent_run, "-o", "json").json() == shown
    assert yaml.safe_load(stigmer("execution", "get", home.agent_run, "-o", "yaml").out) == shown
    assert table(stigmer("execution", "get", home.agent_run).out)[0]["ID"] == home.agent_run

    missing = stigmer("execution", "get", "aex_doesnotexist", check=False)
    assert missing.code == 1
    assert "Error: AgentExecution 'aex_doesnotexist' not found" in missing.err


def test_history_in_every_format(home: Home) -> None:
    stigmer = home.stigmer
    entries = stigmer("history", "agent", "support-bot", "-o", "json").json()
    assert [(e["spec"]["version"], e["spec"]["operation"]) for e in entries] == [(1, "create")]
    assert entries[0]["kind"] == "ApiResourceVersion"
    assert entries[0]["spec"]["snapshot"]["spec"]["instructions"].startswith("You answer customer questions")
    assert list(yaml.safe_load_all(stigmer("history", "agent", "support-bot", "-o", "yaml").out)) == entries
    shown = stigmer("history", "agent", "support-bot").out
    assert headers(shown) == ["VERSION", "OPERATION", "TIME", "AGE"]
    [row] = table(shown)
    assert (row["VERSION"], row["OPERATION"]) == ("1", "create")
    assert row["TIME"] == entries[0]["metadata"]["createTime"]


def test_backend_status_in_every_format(home: Home) -> None:
    stigmer = home.stigmer
    status = stigmer("backend", "status", "-o", "json").json()
    assert status["type"] == "local"
    assert status["store"] == "sqlite"
    assert status["database"] == str(stigmer.database)
    assert status["schemaVersion"] == LATEST
    counts = status["counts"]
    assert (counts["Agent"], counts["AgentInstance"], counts["Workflow"], counts["WorkflowInstance"]) == (
        3,
        3,
        2,
        2,
    )
    assert (counts["Skill"], counts["McpServer"], counts["Environment"], counts["Session"]) == (1, 1, 1, 0)
    assert (counts["AgentExecution"], counts["WorkflowExecution"]) == (1, 1)
    assert yaml.safe_load(stigmer("backend", "status", "-o", "yaml").out) == status

    shown = stigmer("backend", "status").out
    assert "backend:        local\n" in shown
    assert "store:          sqlite\n" in shown
    assert f"database:       {stigmer.database}\n" in shown
    kinds = {row["KIND"]: row["COUNT"] for row in table(shown.split("\n\n", 1)[1])}
    assert kinds == {kind: str(count) for kind, count in counts.items()}


def test_yaml_of_a_list_applies_back_unchanged(home: Home) -> None:
    stigmer = home.stigmer
    kinds = [
        "agents",
        "agentinstances",
        "workflows",
        "workflowinstances",
        "skills",
        "mcpservers",
        "environments",
    ]
    streams = [stigmer("get", kind, "-o", "yaml").out for kind in kinds]
    expected = [
        f"{doc['kind'].lower()}/{doc['metadata']['name']} unchanged"
        for stream in streams
        for doc in yaml.safe_load_all(stream)
    ]
    assert len(expected) == 13
    assert stigmer("apply", "-f", "-", input="---\n".join(streams)).lines() == expected


def test_json_applies_back_unchanged(home: Home) -> None:
    stigmer = home.stigmer
    one = stigmer("get", "agent", "support-bot", "-o", "json").out
    assert stigmer("apply", "-f", "-", input=one).out == "agent/support-bot unchanged\n"
    many = stigmer("get", "agents", "-o", "json").out
    result = stigmer("apply", "-f", "-", input=many)
    assert result.lines() == [
        "agent/release-notes-writer unchanged",
        "agent/support-bot unchanged",
        "agent/support-bot-scripted unchanged",
    ]


def test_global_output_option(home: Home) -> None:
    assert home.stigmer("-o", "json", "get", "skills").json()[0]["metadata"]["name"] == "refund-policy"


def test_label_selector(home: Home) -> None:
    assert home.stigmer.names("agents") == AGENT_NAMES
    cs = home.stigmer("get", "agents", "-l", "team=cs", "-o", "json").json()
    assert [a["metadata"]["name"] for a in cs] == ["support-bot", "support-bot-scripted"]
    eng = home.stigmer("agent", "list", "--selector", "team=eng", "-o", "json").json()
    assert [a["metadata"]["name"] for a in eng] == ["release-notes-writer"]
    bad = home.stigmer("get", "agents", "-l", "team", check=False)
    assert bad.code == 2
    assert "expected KEY=VALUE" in bad.err
