"""Bad input: exit code 2, an error naming the file, line and field, and nothing written."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from .helpers import Stigmer, write

HEADER = "apiVersion: agentic.stigmer.ai/v1\n"


@dataclass(frozen=True)
class Case:
    """Files to write, the paths given to `apply -f`, and what stderr must contain."""

    id: str
    files: dict[str, str]
    paths: list[str]
    errors: list[str]
    absent: list[str] = field(default_factory=list)


def agent(name: str, extra: str = "") -> str:
    return f"{HEADER}kind: Agent\nmetadata:\n  name: {name}\nspec:\n  instructions: Help.\n{extra}"


CASES = [
    Case(
        "malformed yaml",
        {"bad.yaml": f"{HEADER}kind: Skill\nmetadata:\n  name: tone\n spec: {{content: x}}\n"},
        ["bad.yaml"],
        ["Error: bad.yaml:5: invalid YAML: "],
    ),
    Case(
        "yaml that ends inside an open list",
        {
            "open.yaml": f"{HEADER}kind: Skill\nmetadata:\n  name: tone\nspec:\n"
            "  content: x\n  tags: [a, b\n\n"
        },
        ["open.yaml"],
        ["Error: open.yaml:7: invalid YAML: ", "']'"],
    ),
    Case(
        "tab in yaml",
        {
            "tab.yaml": f"{HEADER}kind: Skill\nmetadata:\n  name: tone\nspec:\n"
            "  content: x\n\tdescription: y\n"
        },
        ["tab.yaml"],
        ["Error: tab.yaml:7: invalid YAML: "],
    ),
    Case(
        "unknown kind",
        {"gadget.yaml": f"{HEADER}kind: Gadget\nmetadata: {{name: g}}\nspec: {{}}\n"},
        ["gadget.yaml"],
        [
            "Error: gadget.yaml:2: kind: unknown kind 'Gadget'",
            "Hint: use one of: Agent, AgentInstance, Workflow, WorkflowInstance, Session, Skill, McpServer, "
            "Environment",
        ],
    ),
    Case(
        "kind in the wrong case",
        {"lower.yaml": f"{HEADER}kind: agent\nmetadata: {{name: a}}\nspec: {{instructions: Help.}}\n"},
        ["lower.yaml"],
        ["Error: lower.yaml:2: kind: unknown kind 'agent'", "Hint: did you mean 'Agent'?"],
    ),
    Case(
        "system kind",
        {"run.yaml": f"{HEADER}kind: AgentExecution\nmetadata: {{name: r}}\nspec: {{agent: support-bot}}\n"},
        ["run.yaml"],
        ["Error: run.yaml:2: AgentExecution resources are written by Stigmer, not applied"],
    ),
    Case(
        "unknown field",
        {"typo.yaml": agent("helper", "  instruction: Typo.\n")},
        ["typo.yaml"],
        [
            "Error: typo.yaml:7: Agent/helper: spec.instruction: unknown field 'instruction'",
            "Hint: did you mean 'instructions'?",
        ],
    ),
    Case(
        "wrong type",
        {"type.yaml": f"{HEADER}kind: Agent\nmetadata:\n  name: helper\nspec:\n  instructions: 42\n"},
        ["type.yaml"],
        [
            "Error: type.yaml:6: Agent/helper: spec.instructions: expected a string, got number",
            'Hint: quote the value: "42"',
        ],
    ),
    Case(
        "wrong apiVersion",
        {"v2.yaml": agent("helper").replace("/v1", "/v2")},
        ["v2.yaml"],
        [
            "Error: v2.yaml:1: apiVersion: apiVersion must be 'agentic.stigmer.ai/v1', "
            "got 'agentic.stigmer.ai/v2'"
        ],
    ),
    Case(
        "same name twice in one file",
        {"twice.yaml": agent("helper") + "---\n" + agent("Helper")},
        ["twice.yaml"],
        [
            "Error: twice.yaml:11: Agent 'Helper' is defined twice (also at twice.yaml:4)",
            "Hint: names are unique per kind; rename one of them",
        ],
    ),
    Case(
        "same name in two files",
        {"one.yaml": agent("helper"), "two.yaml": agent("helper")},
        ["one.yaml", "two.yaml"],
        ["Error: two.yaml:4: Agent 'helper' is defined twice (also at one.yaml:4)"],
    ),
    Case(
        "invalid name",
        {"name.yaml": agent('"-helper!"')},
        ["name.yaml"],
        [
            "Error: name.yaml:4: Agent/-helper!: metadata.name: invalid name '-helper!'",
            "Hint: use letters, digits, spaces, '.', '_' and '-', starting and ending with a letter or digit",
        ],
    ),
    Case(
        "missing file",
        {},
        ["missing.yaml"],
        ["Error: no such file or directory: missing.yaml", "Hint: check the path given to -f"],
    ),
    Case(
        "secret name that cannot be referenced",
        {
            "prod.yaml": f"{HEADER}kind: Environment\nmetadata:\n  name: prod\nspec:\n"
            "  variables: {REGION: eu-west-1}\n  secrets:\n    GH-TOKEN: hunter2-plaintext\n"
        },
        ["prod.yaml"],
        [
            "Error: prod.yaml:8: Environment/prod: spec.secrets.GH-TOKEN: invalid name 'GH-TOKEN'",
            "Hint: use letters, digits and '_', not starting with a digit",
        ],
        absent=["hunter2-plaintext"],
    ),
    Case(
        "dependency cycle",
        {
            "loop.yaml": f"{HEADER}kind: Workflow\nmetadata:\n  name: loop\nspec:\n  tasks:\n"
            "    - name: a\n      dependsOn: [c]\n      set: {x: '1'}\n"
            "    - name: b\n      dependsOn: [a]\n      set: {x: '2'}\n"
            "    - name: c\n      dependsOn: [b]\n      set: {x: '3'}\n"
        },
        ["loop.yaml"],
        ["Error: loop.yaml:8: Workflow/loop: spec.tasks[0].dependsOn: dependency cycle: a -> c -> b -> a"],
    ),
    Case(
        "unknown task in dependsOn",
        {
            "dangling.yaml": f"{HEADER}kind: Workflow\nmetadata:\n  name: dangling\nspec:\n  tasks:\n"
            "    - name: a\n      set: {x: '1'}\n"
            "    - name: b\n      dependsOn: [a, z]\n      set: {x: '2'}\n"
        },
        ["dangling.yaml"],
        [
            "Error: dangling.yaml:10: Workflow/dangling: spec.tasks[1].dependsOn[1]: unknown task 'z'",
            "Hint: tasks: a, b",
        ],
    ),
    Case(
        "one bad document among good ones",
        {
            "good/tone.yaml": f"{HEADER}kind: Skill\nmetadata: {{name: tone}}\nspec: {{content: Be kind.}}\n",
            "good/mixed.yaml": agent("helper") + "---\n" + agent("critic", "  model: {name: gpt}\n"),
        },
        ["good"],
        ["Error: good/mixed.yaml:14: Agent/critic: spec.model.provider: a model needs a provider"],
    ),
]


@pytest.fixture(scope="module")
def baseline(examples_home: Stigmer) -> dict[str, int]:
    return examples_home.counts()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_and_nothing_is_written(
    examples_home: Stigmer, baseline: dict[str, int], tmp_path_factory: pytest.TempPathFactory, case: Case
) -> None:
    work = tmp_path_factory.mktemp("bad")
    for name, text in case.files.items():
        write(work / name, text)
    args = [arg for path in case.paths for arg in ("-f", path)]

    result = examples_home("apply", *args, cwd=work, check=False)
    assert result.code == 2, result
    assert result.out == ""
    for text in case.errors:
        assert text in result.err, result
    for text in case.absent:
        assert text not in result.err + result.out

    assert examples_home.counts() == baseline


def test_a_dry_run_checks_the_same(examples_home: Stigmer, tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp("bad")
    write(work / "typo.yaml", agent("helper", "  instruction: Typo.\n"))
    result = examples_home("apply", "--dry-run", "-f", "typo.yaml", cwd=work, check=False)
    assert result.code == 2
    assert "Error: typo.yaml:7: Agent/helper: spec.instruction: unknown field 'instruction'" in result.err


def test_refused_secrets_are_not_stored_in_clear(stigmer: Stigmer) -> None:
    write(
        stigmer.cwd / "prod.yaml",
        f"{HEADER}kind: Environment\nmetadata: {{name: prod}}\n"
        "spec:\n  secrets: {TOKEN: hunter2-plaintext, BAD-NAME: x}\n",
    )
    stigmer("init")
    assert stigmer("apply", "-f", "prod.yaml", check=False).code == 2
    assert stigmer("get", "environments", "-o", "json").json() == []
    for path in stigmer.home.iterdir():
        assert b"hunter2-plaintext" not in path.read_bytes(), path


def test_a_secret_of_the_wrong_type_is_not_echoed(stigmer: Stigmer) -> None:
    write(
        stigmer.cwd / "prod.yaml",
        f"{HEADER}kind: Environment\nmetadata: {{name: prod}}\nspec:\n  secrets: {{PIN: 918273645}}\n",
    )
    result = stigmer("apply", "-f", "prod.yaml", check=False)
    assert result.code == 2
    assert "spec.secrets.PIN: expected a string, got number" in result.err
    assert "put the value in quotes" in result.err
    assert "918273645" not in result.err + result.out


def test_an_empty_directory(stigmer: Stigmer) -> None:
    (stigmer.cwd / "empty").mkdir()
    result = stigmer("apply", "-f", "empty", check=False)
    assert result.code == 2
    assert result.err == "Error: no .yaml, .yml or .json files in directory empty\n"


def test_an_empty_stdin(stigmer: Stigmer) -> None:
    result = stigmer("apply", "-f", "-", input="", check=False)
    assert result.code == 2
    assert "Error: no resources found in -" in result.err
