"""Resources written in Python are the resources their YAML makes, for every kind.

Each test writes a definition twice, once with the SDK and once as a resource file, and
holds that ``to_resource()`` equals what ``stigmer apply -f file.yaml`` decodes, and that
``to_document()`` printed as YAML decodes to the same resource again.
"""

from __future__ import annotations

import re
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from stigmer.cli.output import dump_yaml
from stigmer.errors import InvalidArgument
from stigmer.resources.decode import decode
from stigmer.resources.documents import parse
from stigmer.resources.kinds import Resource
from stigmer.sdk.authoring import (
    Agent,
    Definition,
    Environment,
    EnvSpec,
    Http,
    Input,
    Limits,
    McpServer,
    Retry,
    Skill,
    Stdio,
    Workflow,
    agent_task,
    approval,
    for_each,
    http_task,
    python_task,
    set_task,
    switch,
    wait,
    workflow_task,
)
from stigmer.sdk.collect import with_dependencies
from stigmer.sdk.functions import task


@task
def add(a: int, b: int = 0) -> dict[str, int]:
    return {"sum": a + b}


def from_yaml(text: str) -> list[Resource]:
    """The resources `stigmer apply -f` decodes from a file holding ``text``."""
    return [decode(doc) for doc in parse(textwrap.dedent(text), "test.yaml")]


def round_trip(obj: Definition[Any]) -> Resource:
    """The resource decoded from ``obj.to_document()`` printed as YAML (what `synth` prints)."""
    [resource] = from_yaml(dump_yaml([obj.to_document()]))
    return resource


def assert_same(obj: Definition[Any], text: str) -> None:
    [expected] = from_yaml(text)
    assert obj.to_resource() == expected
    assert round_trip(obj) == expected


HELPDESK = McpServer(
    "helpdesk",
    stdio=Stdio("python", ["server.py", "--quiet"], env={"TOKEN": "${secrets.TOKEN}"}, working_dir="tools"),
    enabled_tools=["find_order", "refund_order"],
    approval_required=["refund_order"],
    timeout="30s",
    description="Orders and tickets.",
)
POLICY = Skill("refund-policy", content="# Refunds\nWithin 30 days.", description="When we refund.")
TRIAGE = Agent("triage", instructions="Sort tickets.", model="scripted")


def test_an_agent_with_servers_skills_and_sub_agents_is_its_yaml() -> None:
    agent = Agent(
        "support-bot",
        instructions="You answer customer questions.\nBe brief.\n",
        model={"provider": "scripted", "options": {"script": [{"text": "Hello."}]}},
        mcp_servers=[
            HELPDESK,
            HELPDESK.use(enabled_tools=["find_order"], approval_required=[], timeout=timedelta(seconds=10)),
            "crm",
            {"name": "search", "http": {"url": "http://127.0.0.1:8931/mcp"}, "enabledTools": ["web"]},
        ],
        skills=[POLICY, "tone"],
        sub_agents=[TRIAGE, "billing", {"name": "notes", "instructions": "Take notes.", "model": "scripted"}],
        description="Answers questions.",
        labels={"team": "cs"},
        limits=Limits(max_turns=8, max_tokens=4000, timeout="5m"),
        env_spec=EnvSpec(variables=["REGION"], secrets=["TOKEN"]),
    )
    assert_same(
        agent,
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: Agent
        metadata: {name: support-bot, labels: {team: cs}}
        spec:
          description: Answers questions.
          instructions: |
            You answer customer questions.
            Be brief.
          model: {provider: scripted, options: {script: [{text: Hello.}]}}
          mcpServers:
            - helpdesk
            - {ref: helpdesk, enabledTools: [find_order], timeout: 10s}
            - crm
            - {name: search, http: {url: "http://127.0.0.1:8931/mcp"}, enabledTools: [web]}
          skills: [refund-policy, tone]
          subAgents:
            - triage
            - billing
            - {name: notes, instructions: Take notes., model: scripted}
          envSpec: {variables: [REGION], secrets: [TOKEN]}
          limits: {maxTurns: 8, maxTokens: 4000, timeout: 5m}
        """,
    )
    # The objects it was given are resources of their own, applied before it.
    assert with_dependencies([agent]) == [HELPDESK, POLICY, TRIAGE, agent]


def test_an_agent_model_as_text_takes_its_options_from_config() -> None:
    agent = Agent(
        "writer",
        instructions="Write.",
        model="anthropic/claude-sonnet-4-5",
        config={"temperature": "0.2"},
    )
    assert_same(
        agent,
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: Agent
        metadata: {name: writer}
        spec:
          instructions: Write.
          model: anthropic/claude-sonnet-4-5
          config: {temperature: "0.2"}
        """,
    )
    resource = agent.to_resource()
    assert (resource.spec.model.provider, resource.spec.model.name) == ("anthropic", "claude-sonnet-4-5")
    assert dict(resource.spec.model.options) == {"temperature": "0.2"}
    assert not Agent("plain", instructions="x").to_resource().spec.HasField("model")


def test_a_skill_is_its_yaml(tmp_path: Path) -> None:
    assert_same(
        POLICY,
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: Skill
        metadata: {name: refund-policy}
        spec:
          description: When we refund.
          content: |-
            # Refunds
            Within 30 days.
        """,
    )
    notes = tmp_path / "release-notes.md"
    notes.write_text("# Notes\nShort.\n", encoding="utf-8")
    from_file = Skill.from_file(notes, labels={"team": "eng"})
    assert_same(
        from_file,
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: Skill
        metadata: {name: release-notes, labels: {team: eng}}
        spec: {content: "# Notes\\nShort.\\n"}
        """,
    )


def test_mcp_servers_over_stdio_and_http_are_their_yaml() -> None:
    assert_same(
        HELPDESK,
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: McpServer
        metadata: {name: helpdesk}
        spec:
          description: Orders and tickets.
          stdio:
            command: python
            args: [server.py, --quiet]
            env: {TOKEN: "${secrets.TOKEN}"}
            workingDir: tools
          enabledTools: [find_order, refund_order]
          approvalRequired: [refund_order]
          timeout: 30s
        """,
    )
    remote = McpServer(
        "search", http=Http("https://mcp.example.com/mcp", headers={"Authorization": "Bearer ${secrets.T}"})
    )
    assert_same(
        remote,
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: McpServer
        metadata: {name: search}
        spec:
          http: {url: "https://mcp.example.com/mcp", headers: {Authorization: "Bearer ${secrets.T}"}}
        """,
    )


def test_an_environment_is_its_yaml() -> None:
    env = Environment(
        "staging",
        variables={"REGION": "eu-west-1"},
        secrets={"TOKEN": "s3cret"},
        description="Staging.",
        labels={"stage": "staging"},
    )
    assert_same(
        env,
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: Environment
        metadata: {name: staging, labels: {stage: staging}}
        spec:
          description: Staging.
          variables: {REGION: eu-west-1}
          secrets: {TOKEN: s3cret}
        """,
    )


def test_a_workflow_with_every_task_kind_is_its_yaml() -> None:
    writer = Agent("release-notes-writer", instructions="Write notes.", model="scripted")
    child = Workflow("publish", tasks=[set_task("done", {"ok": True})])
    gather = set_task("gather", {"summary": "Changes for week ${workflow.inputs.week}", "count": 3})
    total = add.step(a="${workflow.inputs.count}", b=2, depends_on=[gather], on_error="continue")
    write_notes = agent_task(
        "write-notes",
        writer,
        f"Audience: ${{workflow.inputs.audience}}. {gather.output('summary')}",
        inputs={"total": total.output("sum")},
        outputs=["title", "body"],
        retry=Retry(3, initial="1s", max=timedelta(minutes=1), multiplier=1.5, jitter=True),
        timeout="2m",
        depends_on=[gather],
    )
    notify = http_task(
        "notify",
        "${workflow.inputs.url}/notify",
        method="POST",
        headers={"Authorization": "Bearer ${secrets.TOKEN}"},
        query={"week": "${workflow.inputs.week}"},
        body={"title": write_notes.output("title"), "tags": ["a", "b"]},
        expect_status=[200, 201],
        depends_on=[write_notes],
    )
    route = switch(
        "route",
        cases=[("workflow.inputs.count > 2", [notify]), ("workflow.inputs.count > 1", ["greet"])],
        default=["ask"],
    )
    greet = for_each(
        "greet",
        "${workflow.inputs.recipients}",
        agent_task("hello", writer, "hi ${item}"),
        concurrency=2,
        when="size(workflow.inputs.recipients) > 0",
    )
    ask = approval("ask", "Publish week ${workflow.inputs.week}?", timeout="1h", on_timeout="approve")
    pause = wait("pause", timedelta(milliseconds=300), depends_on=[ask])
    publish = workflow_task(
        "publish-it", child, inputs={"week": "${workflow.inputs.week}"}, depends_on=[pause]
    )
    legacy = python_task(
        "legacy",
        "tests.runners.workflow_functions:add",
        inputs={"a": 1, "b": 2},
        on_error={"output": {"sum": 0}},
        retry=2,
    )
    flow = Workflow(
        "weekly-release-notes",
        description="Gathers the week's changes and has an agent write release notes.",
        labels={"team": "eng"},
        inputs={
            "week": str,
            "count": int,
            "ratio": float,
            "dry": bool,
            "extra": dict,
            "recipients": list[str],
            "url": "string",
            "audience": Input(str, default="customers", description="Who reads it."),
            "limit": Input("integer", required=False),
        },
        tasks=[gather, total, write_notes, notify, route, greet, ask, pause, publish, legacy],
        outputs={"title": write_notes.output("title"), "notes": write_notes.output("body")},
        env_spec=EnvSpec(secrets=["TOKEN"]),
    )
    assert_same(
        flow,
        """
        apiVersion: agentic.stigmer.ai/v1
        kind: Workflow
        metadata: {name: weekly-release-notes, labels: {team: eng}}
        spec:
          description: Gathers the week's changes and has an agent write release notes.
          inputs:
            week: string
            count: integer
            ratio: number
            dry: boolean
            extra: object
            recipients: array
            url: string
            audience: {type: string, description: Who reads it., default: customers}
            limit: {type: integer, required: false}
          tasks:
            - name: gather
              set: {summary: "Changes for week ${workflow.inputs.week}", count: 3}
            - name: add
              dependsOn: [gather]
              python: "tests.sdk.test_authoring:add"
              inputs: {a: "${workflow.inputs.count}", b: 2}
              onError: continue
            - name: write-notes
              dependsOn: [gather]
              agent: release-notes-writer
              message: "Audience: ${workflow.inputs.audience}. ${tasks.gather.outputs.summary}"
              inputs: {total: "${tasks.add.outputs.sum}"}
              outputs: [title, body]
              retry: {maxAttempts: 3, backoff: {initial: 1s, max: 60s, multiplier: 1.5, jitter: true}}
              timeout: 2m
            - name: notify
              dependsOn: [write-notes]
              http:
                method: POST
                url: "${workflow.inputs.url}/notify"
                headers: {Authorization: "Bearer ${secrets.TOKEN}"}
                query: {week: "${workflow.inputs.week}"}
                body: {title: "${tasks.write-notes.outputs.title}", tags: [a, b]}
                expectStatus: [200, 201]
            - name: route
              switch:
                cases:
                  - {when: workflow.inputs.count > 2, then: [notify]}
                  - {when: workflow.inputs.count > 1, then: [greet]}
                default: [ask]
            - name: greet
              when: size(workflow.inputs.recipients) > 0
              forEach:
                items: "${workflow.inputs.recipients}"
                concurrency: 2
                do: {name: hello, agent: release-notes-writer, message: "hi ${item}"}
            - name: ask
              approval: {message: "Publish week ${workflow.inputs.week}?", timeout: 1h, onTimeout: approve}
            - {name: pause, dependsOn: [ask], wait: {duration: 300ms}}
            - name: publish-it
              dependsOn: [pause]
              workflow: publish
              inputs: {week: "${workflow.inputs.week}"}
            - name: legacy
              python: "tests.runners.workflow_functions:add"
              inputs: {a: 1, b: 2}
              retry: {maxAttempts: 2}
              onError: {output: {sum: 0}}
          outputs:
            title: "${tasks.write-notes.outputs.title}"
            notes: "${tasks.write-notes.outputs.body}"
          envSpec: {secrets: [TOKEN]}
        """,
    )
    # Agents and workflows its tasks run are applied with it (the loop's agent too), once each.
    assert with_dependencies([flow]) == [writer, child, flow]


def test_a_for_each_over_constants_and_task_outputs_as_expressions() -> None:
    draft = set_task("draft", {"to": "${item}"})
    loop = for_each("each", ["ops", "sales"], draft)
    assert loop.to_document()["forEach"] == {
        "items": '${["ops", "sales"]}',
        "do": {"name": "draft", "set": {"to": "${item}"}},
    }
    assert loop.output() == "${tasks.each.outputs}"
    assert loop.output("results") == "${tasks.each.outputs.results}"
    assert agent_task("ask", "bot").output() == "${tasks.ask.output}"
    flow = Workflow("loop", tasks=[loop], outputs={"all": loop.output("results")})
    assert flow.to_resource().spec.tasks[0].for_each.items == '${["ops", "sales"]}'


# -- invalid definitions ------------------------------------------------------------------------


def _refused(obj: Definition[Any]) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        obj.to_resource()
    return caught.value


def test_an_agent_without_instructions_is_refused_naming_the_field_and_the_line() -> None:
    error = _refused(Agent("bot", instructions=" "))
    assert (error.resource, error.field) == ("Agent/bot", "spec.instructions")
    assert re.fullmatch(r".*tests/sdk/test_authoring\.py:\d+", error.source), error.source
    assert "instructions" in str(error)


def test_a_task_depending_on_an_unknown_task_is_refused() -> None:
    first = set_task("first", {"x": 1})
    flow = Workflow("w", tasks=[first, set_task("second", {"y": 2}, depends_on=[first, "nope"])])
    error = _refused(flow)
    assert (error.resource, error.field) == ("Workflow/w", "spec.tasks[1].dependsOn[1]")
    assert "unknown task 'nope'" in error.message


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        (McpServer("none"), "spec"),
        (McpServer("both", stdio=Stdio("python"), http=Http("http://x")), "spec.http"),
        (McpServer("ftp", http=Http("ftp://example.com")), "spec.http.url"),
        (Skill("empty", content=""), "spec.content"),
        (Environment("env", variables={"bad-name": "x"}), "spec.variables.bad-name"),
        (Agent("bot", instructions="x", mcp_servers=[42]), "spec.mcpServers[0]"),  # type: ignore[list-item]
        (Agent("bot", instructions="x", model="/claude"), "spec.model.provider"),
        (Agent("Bad/Name", instructions="x"), "metadata.name"),
        (Workflow("w", tasks=[]), "spec.tasks"),
        (Workflow("w", tasks=["gather"]), "spec.tasks[0]"),  # type: ignore[list-item]
        (Workflow("w", tasks=[set_task("s", {"when": object()})]), "spec.tasks[0].set.when"),
        (Workflow("w", inputs={"n": complex}, tasks=[set_task("s", {})]), "spec.inputs.n.type"),
        (Workflow("w", inputs={"n": "text"}, tasks=[set_task("s", {})]), "spec.inputs.n.type"),
        (Workflow("w", tasks=[set_task("s", {"x": "${tasks.ghost.outputs.y}"})]), "spec.tasks[0].set.x"),
        (Workflow("w", tasks=[set_task("s", {}, on_error="ignore")]), "spec.tasks[0].onError"),  # type: ignore[arg-type]
    ],
)
def test_invalid_definitions_are_refused_naming_the_field(obj: Definition[Any], field: str) -> None:
    error = _refused(obj)
    assert error.field == field, str(error)
    assert error.resource == obj.label


def test_steps_check_their_inputs_against_the_function() -> None:
    with pytest.raises(InvalidArgument, match="has no parameter 'c'") as unknown:
        add.step(a=1, c=2)
    assert unknown.value.field == "inputs.c"
    with pytest.raises(InvalidArgument, match="needs input 'a'") as missing:
        add.step(b=2)
    assert missing.value.field == "inputs.a"
    with pytest.raises(InvalidArgument, match="parameter 'a' expects int, got str 'one'"):
        add.step(a="one")
    assert add.step("sum", a="${workflow.inputs.a}").to_document() == {
        "name": "sum",
        "python": "tests.sdk.test_authoring:add",
        "inputs": {"a": "${workflow.inputs.a}"},
    }
    # An input named like an option of step() is given with inputs={…}.
    assert add.step(inputs={"a": 1}, b=2).inputs == {"a": 1, "b": 2}


def test_functions_a_worker_cannot_import_are_refused() -> None:
    def nested(a: int) -> int:
        return a

    with pytest.raises(InvalidArgument, match="not at the top level"):
        task(nested).step(a=1)
    script = task(nested)
    script.__module__ = "__main__"
    with pytest.raises(InvalidArgument, match="__main__") as caught:
        script.step(a=1)
    assert "move it to a module" in caught.value.hint


def test_the_same_name_defined_twice_differently_is_refused() -> None:
    one = Skill("notes", content="one")
    assert with_dependencies([one, Skill("notes", content="one")]) == [one]
    with pytest.raises(InvalidArgument, match="defined twice, differently"):
        with_dependencies([one, Agent("bot", instructions="x", skills=[Skill("notes", content="two")])])


# -- collecting a Python file ---------------------------------------------------------------------

COLLECTED = """
from stigmer.sdk.authoring import Agent, McpServer, Skill, Stdio, Workflow, agent_task

tone = Skill("tone", content="Be brief.")
bot = Agent(
    "bot",
    instructions="Answer.",
    skills=[tone],
    mcp_servers=[McpServer("tools", stdio=Stdio("python", ["tools.py"]))],
)
flows = [Workflow("ask", tasks=[agent_task("ask", bot, "hi")])]
again = tone
"""


def test_collect_finds_every_resource_once_each_after_what_it_refers_to(tmp_path: Path) -> None:
    from stigmer.sdk.collect import collect, documents

    app = tmp_path / "collected_app.py"
    app.write_text(COLLECTED, encoding="utf-8")
    assert [o.label for o in collect(app)] == ["Skill/tone", "McpServer/tools", "Agent/bot", "Workflow/ask"]
    lines = {doc.data["metadata"]["name"]: doc.where() for doc in documents(app)}
    assert lines == {
        "tone": f"{app}:4",
        "tools": f"{app}:9",
        "bot": f"{app}:5",
        "ask": f"{app}:11",
    }


@pytest.mark.parametrize(
    ("stem", "why"), [("json", "'json' is a standard module"), ("yaml", "'yaml' is already the module at")]
)
def test_a_file_named_like_another_module_is_refused(tmp_path: Path, stem: str, why: str) -> None:
    from stigmer.sdk.collect import collect

    app = tmp_path / f"{stem}.py"
    app.write_text(COLLECTED, encoding="utf-8")
    with pytest.raises(InvalidArgument, match=why) as caught:
        collect(app)
    assert "rename the file" in caught.value.hint


def test_a_script_s_functions_are_imported_by_its_file_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    script = types.ModuleType("__main__")
    script.__file__ = "/somewhere/app.py"
    monkeypatch.setitem(sys.modules, "__main__", script)

    def top(a: int) -> int:
        return a

    top.__module__, top.__qualname__ = "__main__", "top"
    # `python app.py` defines it in __main__; a worker started beside app.py imports `app`.
    assert task(top).step(a=1).value == "app:top"
