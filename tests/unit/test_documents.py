"""Resource files: YAML and JSON, many per file, short forms, and errors that point at a line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from textwrap import dedent

import pytest
from google.protobuf import json_format

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.errors import InvalidArgument
from stigmer.resources.decode import decode
from stigmer.resources.documents import Document, parse, read
from stigmer.resources.kinds import Resource

HEADER = "apiVersion: agentic.stigmer.ai/v1\n"


def _yaml(text: str) -> str:
    return dedent(text).lstrip("\n")


def _decode_one(text: str, source: str = "agent.yaml", *, exact: bool = False) -> Resource:
    [doc] = parse(_yaml(text), source)
    return decode(doc, exact=exact)


def _error(text: str, source: str = "agent.yaml", *, exact: bool = False) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        for doc in parse(_yaml(text), source):
            decode(doc, exact=exact)
    return err.value


def _skill_yaml(name: str, content: str = "Be kind.") -> str:
    return f"{HEADER}kind: Skill\nmetadata:\n  name: {name}\nspec:\n  content: {content}\n"


def _names(documents: list[Document]) -> list[str]:
    return [d.data["metadata"]["name"] for d in documents]


# -- reading files ---------------------------------------------------------------------


def test_a_yaml_stream_holds_several_documents_and_skips_empty_ones() -> None:
    text = f"---\n{_skill_yaml('tone')}---\n---\n{_skill_yaml('refunds')}...\n---\n{_skill_yaml('returns')}"

    documents = parse(text, "skills.yaml")

    assert _names(documents) == ["tone", "refunds", "returns"]
    assert [d.index for d in documents] == [0, 1, 2]
    assert [d.where("metadata.name") for d in documents] == [
        "skills.yaml:5",
        "skills.yaml:13",
        "skills.yaml:21",
    ]


def test_an_empty_file_holds_no_documents() -> None:
    assert parse("", "empty.yaml") == []
    assert parse("# only a comment\n---\n", "empty.yaml") == []


def test_json_files_are_resource_files_too(tmp_path: Path) -> None:
    path = tmp_path / "tone.json"
    resource = {"apiVersion": "agentic.stigmer.ai/v1", "kind": "Skill", "metadata": {"name": "tone"}}
    path.write_text(json.dumps({**resource, "spec": {"content": "Be kind."}}, indent=2))

    [doc] = read([str(path)])
    skill = decode(doc)

    assert isinstance(skill, Skill)
    assert (skill.metadata.name, skill.spec.content) == ("tone", "Be kind.")
    assert doc.where("spec.content") == f"{path}:8"


def test_a_json_array_holds_one_resource_per_item() -> None:
    text = dedent("""\
        [
          {"apiVersion": "agentic.stigmer.ai/v1", "kind": "Skill", "metadata": {"name": "a"},
           "spec": {"content": "x"}},
          {"apiVersion": "agentic.stigmer.ai/v1", "kind": "Skill",
           "metadata": {"name": "b"},
           "spec": {"content": "x", "bogus": 1}}
        ]
        """)

    documents = parse(text, "export.json")

    assert _names(documents) == ["a", "b"]
    with pytest.raises(InvalidArgument) as err:
        decode(documents[1])
    assert (err.value.source, err.value.field) == ("export.json:6", "spec.bogus")


def test_a_directory_is_read_recursively_in_name_order(tmp_path: Path) -> None:
    files = {
        "b.yaml": _skill_yaml("from-b"),
        "a/2.yml": _skill_yaml("from-a-2"),
        "a/1.json": json.dumps(
            {"apiVersion": "agentic.stigmer.ai/v1", "kind": "Skill", "metadata": {"name": "from-a-1"}}
        ),
        "z/deeper/x.yaml": _skill_yaml("from-z") + "---\n" + _skill_yaml("from-z-second"),
        "notes.txt": "not a resource",
        "a/README.md": "# not a resource either",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    documents = read([str(tmp_path)])

    assert _names(documents) == ["from-a-1", "from-a-2", "from-b", "from-z", "from-z-second"]
    assert documents[0].source == str(tmp_path / "a" / "1.json")


def test_stdin_is_read_from_the_given_stream(tmp_path: Path) -> None:
    path = tmp_path / "first.yaml"
    path.write_text(_skill_yaml("from-file"))

    documents = read([str(path), "-"], stdin=io.StringIO(_skill_yaml("from-stdin")))

    assert _names(documents) == ["from-file", "from-stdin"]
    assert documents[1].where("spec.content") == "<stdin>:6"


def test_a_missing_path_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no such file") as err:
        read([str(tmp_path / "nowhere.yaml")])

    assert err.value.hint


def test_a_directory_without_resource_files_is_invalid(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")

    with pytest.raises(InvalidArgument, match=r"no \.yaml"):
        read([str(tmp_path)])


def test_a_file_that_is_not_utf8_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(_skill_yaml("caf\xe9").encode("latin-1"))

    with pytest.raises(InvalidArgument, match="cannot read"):
        read([str(path)])


# -- errors that point at a line -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "field", "suggestion"),
    [
        (
            """
            apiVersion: agentic.stigmer.ai/v1
            kind: Agent
            metadata:
              name: support-bot
            spec:
              instructions: You help.
              instructons: typo
            """,
            7,
            "spec.instructons",
            "did you mean 'instructions'?",
        ),
        (
            """
            apiVersion: agentic.stigmer.ai/v1
            kind: Agent
            metadata:
              name: support-bot
              lables: {team: cs}
            spec:
              instructions: You help.
            """,
            5,
            "metadata.lables",
            "did you mean 'labels'?",
        ),
        (
            """
            apiVersion: agentic.stigmer.ai/v1
            kind: Workflow
            metadata: {name: support-bot}
            spec:
              tasks:
                - name: fetch
                  set: {a: b}
                - name: write
                  agent: writer
                  dependson: [fetch]
            """,
            10,
            "spec.tasks[1].dependson",
            "did you mean 'dependsOn'?",
        ),
    ],
    ids=["spec", "metadata", "nested-task"],
)
def test_an_unknown_field_points_at_its_line_and_suggests_a_name(
    text: str, line: int, field: str, suggestion: str
) -> None:
    err = _error(text)

    assert err.source == f"agent.yaml:{line}"
    assert err.field == field
    assert err.hint == suggestion
    assert err.resource.endswith("/support-bot")
    assert str(err).startswith(f"agent.yaml:{line}: ")


def test_an_unknown_field_far_from_any_name_lists_the_known_ones() -> None:
    err = _error(HEADER + "kind: Skill\nmetadata: {name: tone}\nspec: {content: x, zzz: 1}\n")

    assert err.hint == "known fields: content, description"


@pytest.mark.parametrize(
    ("spec", "line", "field", "words"),
    [
        ("  instructions: 5\n", 6, "spec.instructions", "expected a string, got number"),
        ("  instructions: x\n  skills:\n    a: b\n", 7, "spec.skills", "expected a list, got mapping"),
        ("  instructions: x\n  envSpec: [a]\n", 7, "spec.envSpec", "expected a mapping, got list"),
        ("  instructions: x\n  skills: [tone, 3]\n", 7, "spec.skills[1]", "expected a string, got number"),
        ("  instructions: x\n  model: {provider: p, options: [1]}\n", 7, "spec.model.options", "mapping"),
    ],
    ids=["number-for-string", "mapping-for-list", "list-for-mapping", "number-in-list", "list-for-options"],
)
def test_a_wrong_type_points_at_its_line(spec: str, line: int, field: str, words: str) -> None:
    err = _error(HEADER + "kind: Agent\nmetadata:\n  name: bot\nspec:\n" + spec)

    assert (err.source, err.field) == (f"agent.yaml:{line}", field)
    assert words in err.message


def test_a_number_where_a_string_belongs_suggests_quoting_it() -> None:
    err = _error(HEADER + "kind: Environment\nmetadata: {name: prod}\nspec:\n  variables: {PORT: 8080}\n")

    assert err.field == "spec.variables.PORT"
    assert err.hint == 'quote the value: "8080"'


def test_other_wrong_types_name_what_was_expected() -> None:
    workflow = """
        apiVersion: agentic.stigmer.ai/v1
        kind: Workflow
        metadata: {name: weekly}
        spec:
          inputs: {week: {type: string, required: "no"}}
          tasks:
            - name: fetch
              set: {a: b}
              retry: {maxAttempts: "3"}
        """
    first = _error(workflow)
    second = _error(workflow.replace('required: "no"', "required: false"))

    assert (first.source, first.field) == ("agent.yaml:5", "spec.inputs.week.required")
    assert "expected true or false" in first.message
    assert (second.source, second.field) == ("agent.yaml:9", "spec.tasks[0].retry.maxAttempts")
    assert "expected an integer" in second.message


def test_an_invalid_enum_value_lists_the_valid_ones() -> None:
    text = HEADER + "kind: AgentExecution\nmetadata: {name: run}\nspec: {agent: bot}\nstatus: {phase: DONE}\n"

    err = _error(text, exact=True)

    assert (err.source, err.field) == ("agent.yaml:5", "status.phase")
    assert "COMPLETED" in err.hint


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (
            """
            apiVersion: agentic.stigmer.ai/v1
            kind: McpServer
            metadata: {name: helpdesk}
            spec:
              stdio: {command: python}
              http: {url: "http://127.0.0.1:8931/mcp"}
            """,
            6,
            "spec.http",
        ),
        (
            """
            apiVersion: agentic.stigmer.ai/v1
            kind: Agent
            metadata: {name: helpdesk}
            spec:
              instructions: You help.
              mcpServers:
                - name: inline
                  http: {url: "http://127.0.0.1:8931/mcp"}
                  stdio: {command: python}
            """,
            9,
            "spec.mcpServers[0].stdio",
        ),
    ],
    ids=["mcp-server", "inline-in-agent"],
)
def test_both_transports_cannot_be_set(text: str, line: int, field: str) -> None:
    err = _error(text)

    assert (err.source, err.field) == (f"agent.yaml:{line}", field)
    assert "cannot both be set" in err.message
    assert "stdio" in err.message and "http" in err.message


def test_a_duplicate_key_points_at_the_second_one() -> None:
    err = _error(HEADER + "kind: Agent\nmetadata:\n  name: bot\n  name: other\nspec: {instructions: x}\n")

    assert (err.source, err.field) == ("agent.yaml:5", "metadata.name")
    assert "duplicate key 'name'" in err.message


def test_a_duplicate_key_in_json_is_refused_too() -> None:
    text = '{"apiVersion": "agentic.stigmer.ai/v1",\n "kind": "Skill",\n "kind": "Agent"}\n'

    err = _error(text, "skill.json")

    assert (err.source, err.field) == ("skill.json:3", "kind")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (HEADER + "kind: Skill\nmetadata:\n  name: tone\nspec:\n  content: x\n\tdescription: y\n", 7),
        (HEADER + "kind: Skill\nmetadata:\n  name: tone\n spec: x\n", 5),
        (HEADER + "kind: Skill\nmetadata:\n  name: tone\nspec: {content: x\n", 5),
        (HEADER + 'kind: Skill\nmetadata:\n  name: "tone\n', 4),
    ],
    ids=["tab", "bad-indentation", "unclosed-at-end", "unclosed-quote"],
)
def test_malformed_yaml_points_at_its_line(text: str, line: int) -> None:
    err = _error(text, "skill.yaml")

    assert err.source == f"skill.yaml:{line}"
    assert err.message.startswith("invalid YAML: ")


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    err = _error(_skill_yaml("tone") + "---\n- just\n- a list\n", "skills.yaml")

    assert err.source == "skills.yaml:8"
    assert "mapping" in err.message


@pytest.mark.parametrize(
    ("kind", "message", "hint"),
    [
        ("Agnet", "unknown kind 'Agnet'", "did you mean 'Agent'?"),
        ("Gadget", "unknown kind 'Gadget'", "use one of: Agent, AgentInstance, Workflow"),
        ("agent", "unknown kind 'agent'", "did you mean 'Agent'?"),
        ("mcpservers", "unknown kind 'mcpservers'", "did you mean 'McpServer'?"),
    ],
)
def test_an_unknown_kind_is_refused_with_a_hint(kind: str, message: str, hint: str) -> None:
    err = _error(f"{HEADER}kind: {kind}\nmetadata: {{name: bot}}\n")

    assert (err.source, err.field, err.message) == ("agent.yaml:2", "kind", message)
    assert hint in err.hint


def test_a_missing_kind_is_refused() -> None:
    err = _error(HEADER + "metadata: {name: bot}\n")

    assert (err.field, err.message) == ("kind", "kind is required")
    assert "Agent" in err.hint


@pytest.mark.parametrize("first_line", ["apiVersion: v1\n", "apiVersion: agentic.stigmer.ai/v2\n", ""])
def test_the_api_version_must_be_ours(first_line: str) -> None:
    err = _error(first_line + "kind: Agent\nmetadata: {name: bot}\nspec: {instructions: x}\n")

    assert err.field == "apiVersion"
    assert "agentic.stigmer.ai/v1" in err.message
    assert err.source == "agent.yaml:1"


def test_executions_are_not_applied_from_files() -> None:
    text = HEADER + "kind: AgentExecution\nmetadata: {name: run}\nspec: {agent: bot}\n"

    err = _error(text)

    assert err.source == "agent.yaml:2"
    assert "written by Stigmer" in err.message


# -- apply versus import ---------------------------------------------------------------

EXPORTED = HEADER + dedent("""\
    kind: Skill
    metadata:
      name: tone
      id: skl_01hsexported0000000000000a
      slug: tone
      version: 3
      createTime: "2024-03-01T09:30:15Z"
      updateTime: "2024-04-02T17:05:00Z"
    spec: {content: Be kind.}
    status: {}
    """)


def test_apply_ignores_what_the_backend_assigns() -> None:
    [doc] = parse(EXPORTED, "tone.yaml")

    skill = decode(doc)

    assert skill.metadata.name == "tone"
    assert (skill.metadata.id, skill.metadata.slug, skill.metadata.version) == ("", "", 0)
    assert not skill.metadata.HasField("create_time")


def test_import_keeps_ids_versions_and_times() -> None:
    [doc] = parse(EXPORTED, "tone.yaml")

    skill = decode(doc, exact=True)

    assert (skill.metadata.id, skill.metadata.version) == ("skl_01hsexported0000000000000a", 3)
    assert skill.metadata.create_time.ToJsonString() == "2024-03-01T09:30:15Z"


# -- short forms -----------------------------------------------------------------------


def _spec(resource: Resource) -> dict[str, object]:
    spec: dict[str, object] = json_format.MessageToDict(resource)["spec"]
    return spec


@pytest.mark.parametrize(
    ("model", "provider", "name"),
    [
        ("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
        ("ollama/qwen2.5-coder:7b", "ollama", "qwen2.5-coder:7b"),
        ("scripted", "scripted", ""),
    ],
)
def test_a_model_is_written_provider_slash_name(model: str, provider: str, name: str) -> None:
    agent = _decode_one(
        f"{HEADER}kind: Agent\nmetadata: {{name: bot}}\nspec: {{instructions: x, model: {model}}}\n"
    )

    assert isinstance(agent, Agent)
    assert (agent.spec.model.provider, agent.spec.model.name) == (provider, name)


def test_the_long_forms_mean_the_same_as_the_short_ones() -> None:
    short = _decode_one("""
        apiVersion: agentic.stigmer.ai/v1
        kind: Agent
        metadata: {name: bot}
        spec:
          instructions: You help.
          model: openai/gpt-4o-mini
          mcpServers: [helpdesk, {name: local, stdio: {command: python}}]
          subAgents: [researcher]
        """)
    long = _decode_one("""
        apiVersion: agentic.stigmer.ai/v1
        kind: Agent
        metadata: {name: bot}
        spec:
          instructions: You help.
          model: {provider: openai, name: gpt-4o-mini}
          mcpServers: [{ref: helpdesk}, {name: local, stdio: {command: python}}]
          subAgents: [{ref: researcher}]
        """)

    assert short == long
    assert isinstance(short, Agent)
    assert [m.ref for m in short.spec.mcp_servers] == ["helpdesk", ""]
    assert short.spec.sub_agents[0].ref == "researcher"


def test_config_holds_model_options_and_may_name_the_model() -> None:
    agent = _decode_one("""
        apiVersion: agentic.stigmer.ai/v1
        kind: Agent
        metadata: {name: bot}
        spec:
          instructions: You help.
          config: {model: anthropic/claude-sonnet-4-5, temperature: "0.2", maxTokens: 512}
        """)

    assert _spec(agent)["model"] == {
        "provider": "anthropic",
        "name": "claude-sonnet-4-5",
        "options": {"temperature": "0.2", "maxTokens": 512.0},
    }


def test_config_options_join_a_model_given_beside_it() -> None:
    agent = _decode_one("""
        apiVersion: agentic.stigmer.ai/v1
        kind: Agent
        metadata: {name: bot}
        spec:
          instructions: You help.
          model: scripted
          config: {temperature: "0.2"}
        """)

    assert _spec(agent)["model"] == {"provider": "scripted", "options": {"temperature": "0.2"}}


def test_config_that_is_not_a_mapping_is_refused_at_its_line() -> None:
    err = _error(HEADER + "kind: Agent\nmetadata: {name: bot}\nspec:\n  instructions: x\n  config: fast\n")

    assert (err.source, err.field) == ("agent.yaml:6", "spec.config")


def test_workflow_inputs_and_on_error_have_short_forms() -> None:
    workflow = _decode_one("""
        apiVersion: agentic.stigmer.ai/v1
        kind: Workflow
        metadata: {name: weekly}
        spec:
          inputs:
            week: string
            audience: {type: string, required: false, default: customers}
          tasks:
            - name: gather
              set: {summary: "Changes for week ${workflow.inputs.week}"}
              onError: continue
            - name: each
              forEach:
                items: "${[1, 2]}"
                do: {name: step, set: {a: b}, onError: fail}
        """)

    assert isinstance(workflow, Workflow)
    inputs = workflow.spec.inputs
    assert (inputs["week"].type, inputs["week"].HasField("required")) == ("string", False)
    assert (inputs["audience"].type, inputs["audience"].required) == ("string", False)
    assert inputs["audience"].default.string_value == "customers"
    assert workflow.spec.tasks[0].on_error.action == "continue"
    assert workflow.spec.tasks[1].for_each.do.on_error.action == "fail"


def test_an_empty_value_means_unset() -> None:
    server = _decode_one(
        HEADER + "kind: McpServer\nmetadata: {name: hd}\nspec:\n  stdio: {command: x}\n  http:\n"
    )

    assert isinstance(server, McpServer)
    assert server.spec.WhichOneof("transport") == "stdio"


def test_anchors_and_aliases_are_expanded() -> None:
    text = """
        apiVersion: agentic.stigmer.ai/v1
        kind: Agent
        metadata: {name: bot}
        spec:
          instructions: You help.
          mcpServers:
            - {name: one, stdio: &python {command: python, args: [server.py]}}
            - {name: two, stdio: *python}
        """

    agent = _decode_one(text)

    assert isinstance(agent, Agent)
    assert agent.spec.mcp_servers[0].stdio == agent.spec.mcp_servers[1].stdio
