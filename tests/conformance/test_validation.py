"""Every write is checked, whichever client sent it; errors name the resource and the field."""

from __future__ import annotations

from typing import Any

import pytest

from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.backend.protocol import Backend
from stigmer.errors import InvalidArgument
from stigmer.resources.kinds import Resource
from tests.builders import agent, counts, environment, mcp_server, skill, workflow


def _refused(backend: Backend, resource: Resource) -> InvalidArgument:
    """Both create and apply refuse ``resource``, and nothing at all is written."""
    before = counts(backend)
    with pytest.raises(InvalidArgument) as created:
        backend.create(resource)
    with pytest.raises(InvalidArgument) as applied:
        backend.apply([resource])
    assert counts(backend) == before
    assert (created.value.field, created.value.message) == (applied.value.field, applied.value.message)
    return created.value


@pytest.mark.parametrize(
    "name",
    ["", "x" * 64, "bad/name", "-leading", "trailing-", "two\nlines", "bot\n", "emoji-🙂", "a,b", "${name}"],
    ids=[
        "empty",
        "64-chars",
        "slash",
        "leading-hyphen",
        "trailing-hyphen",
        "newline",
        "trailing-newline",
        "emoji",
        "comma",
        "expr",
    ],
)
def test_invalid_names_are_refused(backend: Backend, name: str) -> None:
    err = _refused(backend, skill(name))

    assert err.field == "metadata.name"
    assert err.hint or "63" in err.message


@pytest.mark.parametrize("name", ["x" * 63, "a", "Support Bot 2", "v1.2_final-draft"])
def test_valid_names_are_accepted(backend: Backend, name: str) -> None:
    assert backend.create(skill(name)).metadata.name == name


@pytest.mark.parametrize("key", ["not a key", "team\n", "/team", "a/b/c"])
def test_an_invalid_label_key_is_refused(backend: Backend, key: str) -> None:
    err = _refused(backend, skill("notes", labels={key: "x"}))

    assert err.field == f"metadata.labels.{key}"


@pytest.mark.parametrize(
    ("secrets", "field", "words"),
    [
        ({"TOKEN": "sealed:v1:abcd:AAAA:BBBB"}, "spec.secrets.TOKEN", "Stigmer seals secrets itself"),
        ({"TOKEN": "sealed:pw1:AAAA:BBBB:CCCC"}, "spec.secrets.TOKEN", "import --passphrase-file"),
        ({"TOKEN": ""}, "spec.secrets.TOKEN", "has no value"),
        ({"MY-TOKEN": "hunter2-plaintext"}, "spec.secrets.MY-TOKEN", "invalid name"),
        ({"TOKEN": "****"}, "spec.secrets.TOKEN", "no stored value"),
    ],
    ids=["sealed", "export-sealed", "empty", "bad-name", "mask-with-nothing-to-keep"],
)
def test_bad_secrets_are_refused_and_nothing_is_stored(
    backend: Backend, secrets: dict[str, str], field: str, words: str
) -> None:
    prod = environment("prod", variables={"REGION": "eu-west-1"}, secrets=secrets)

    err = _refused(backend, prod)

    assert err.field == field
    assert err.resource == "Environment/prod"
    assert words in f"{err} {err.hint}"
    assert "hunter2-plaintext" not in f"{err} {err.hint}"
    assert counts(backend)["Environment"] == 0


def test_an_environment_with_only_variables_is_accepted(backend: Backend) -> None:
    created = backend.create(environment("prod", variables={"REGION": "eu-west-1"}))

    assert dict(created.spec.variables) == {"REGION": "eu-west-1"}


def _set(name: str, **common: Any) -> dict[str, Any]:
    return {"name": name, "set": {"value": name}, **common}


@pytest.mark.parametrize(
    ("tasks", "field", "words"),
    [
        ([], "spec.tasks", "at least one task"),
        ([_set("fetch"), _set("fetch")], "spec.tasks[1].name", "duplicate"),
        ([_set("fetch"), _set("write", dependsOn=["fech"])], "spec.tasks[1].dependsOn[0]", "fech"),
        ([_set("fetch", dependsOn=["fetch"])], "spec.tasks[0].dependsOn[0]", "itself"),
        (
            [_set("a", dependsOn=["c"]), _set("b", dependsOn=["a"]), _set("c", dependsOn=["b"])],
            "dependsOn",
            "cycle",
        ),
        ([_set("fetch"), {"name": "write", "dependsOn": ["fetch"]}], "spec.tasks[1]", "no kind"),
        ([_set("ok"), {"set": {"x": "1"}}], "spec.tasks[1].name", "name"),
        ([{"name": "call", "http": {"method": "GET"}}], "spec.tasks[0].http.url", "url"),
        ([{"name": "run", "python": "no_function"}], "spec.tasks[0].python", "module:function"),
        ([_set("fetch", onError={"action": "retry-forever"})], "spec.tasks[0].onError", "retry-forever"),
        ([{"name": "each", "forEach": {"items": "${x}"}}], "spec.tasks[0].forEach.do", "task"),
        (
            [{"name": "route", "switch": {"cases": [{"when": "${true}", "then": ["nowhere"]}]}}],
            "spec.tasks[0].switch.cases[0].then[0]",
            "nowhere",
        ),
    ],
    ids=[
        "no-tasks",
        "duplicate-name",
        "unknown-dependency",
        "self-dependency",
        "cycle",
        "no-kind",
        "no-name",
        "http-without-url",
        "python-without-function",
        "unknown-on-error",
        "for-each-without-task",
        "switch-to-unknown-task",
    ],
)
def test_invalid_workflows_name_the_field(
    backend: Backend, tasks: list[dict[str, Any]], field: str, words: str
) -> None:
    err = _refused(backend, workflow("release-notes", tasks))

    assert err.resource == "Workflow/release-notes"
    assert err.field.startswith("spec.tasks") and field in err.field
    assert words in err.message


def test_a_cycle_names_its_path(backend: Backend) -> None:
    tasks = [_set("a", dependsOn=["c"]), _set("b", dependsOn=["a"]), _set("c", dependsOn=["b"])]

    err = _refused(backend, workflow("loop", tasks))

    assert err.field == "spec.tasks[0].dependsOn"
    assert "a -> c -> b -> a" in err.message


def test_an_invalid_input_type_is_refused(backend: Backend) -> None:
    err = _refused(backend, workflow("weekly", inputs={"week": "date"}))

    assert err.field == "spec.inputs.week.type"
    assert "string" in err.hint


def test_a_valid_graph_is_accepted(backend: Backend) -> None:
    tasks = [
        _set("gather"),
        {
            "name": "route",
            "dependsOn": ["gather"],
            "switch": {"cases": [{"when": "${true}", "then": ["write"]}]},
        },
        {"name": "write", "dependsOn": ["gather"], "agent": "writer", "message": "hi", "onError": "continue"},
        {"name": "each", "forEach": {"items": "${[1, 2]}", "do": _set("step")}},
    ]

    assert backend.create(workflow("release-notes", tasks, inputs={"week": "string"})).metadata.version == 1


@pytest.mark.parametrize(
    ("server", "field"),
    [
        (mcp_server("helpdesk", stdio=None), "spec"),
        (mcp_server("helpdesk", stdio={"args": ["server.py"]}), "spec.stdio.command"),
        (mcp_server("helpdesk", http={"url": "localhost:8931/mcp"}), "spec.http.url"),
    ],
    ids=["no-transport", "stdio-without-command", "url-without-scheme"],
)
def test_invalid_mcp_servers_are_refused(backend: Backend, server: McpServer, field: str) -> None:
    err = _refused(backend, server)

    assert err.field == field
    assert err.resource == "McpServer/helpdesk"


def test_an_http_mcp_server_is_accepted(backend: Backend) -> None:
    created = backend.create(mcp_server("helpdesk", http={"url": "http://127.0.0.1:8931/mcp"}))

    assert created.spec.WhichOneof("transport") == "http"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"instructions": "  "}, "spec.instructions"),
        ({"model": {"name": "gpt-4o"}}, "spec.model.provider"),
        ({"mcpServers": [{"name": "inline"}]}, "spec.mcpServers[0]"),
        ({"mcpServers": [{"ref": "helpdesk", "stdio": {"command": "x"}}]}, "spec.mcpServers[0]"),
        ({"mcpServers": [{"ref": "bad/name"}]}, "spec.mcpServers[0].ref"),
        ({"skills": ["fine", "bad/name"]}, "spec.skills[1]"),
        ({"subAgents": [{"name": "helper"}]}, "spec.subAgents[0].instructions"),
    ],
    ids=[
        "blank-instructions",
        "model-without-provider",
        "inline-mcp-without-transport",
        "mcp-ref-and-inline",
        "bad-mcp-ref",
        "bad-skill-ref",
        "sub-agent-without-instructions",
    ],
)
def test_invalid_agents_name_the_field(backend: Backend, spec: dict[str, Any], field: str) -> None:
    err = _refused(backend, agent("bot", **{"instructions": "You help.", **spec}))

    assert err.field == field
    assert err.resource == "Agent/bot"


def test_a_skill_needs_content(backend: Backend) -> None:
    assert _refused(backend, skill("notes", "")).field == "spec.content"
