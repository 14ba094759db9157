"""A workflow's expressions are checked when it is written: each error names its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.cli.workflow import _chain
from stigmer.errors import InvalidArgument
from stigmer.resources.expressions import ExpressionError
from stigmer.resources.validate import validate
from tests.builders import build, workflow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workflows" / "weekly-release-notes.yaml"


def _set(name: str, **common: Any) -> dict[str, Any]:
    return {"name": name, "set": {"value": name}, **common}


def _refused(tasks: list[dict[str, Any]], **spec: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        validate(workflow("release-notes", tasks, **spec))
    assert caught.value.resource == "Workflow/release-notes"
    return caught.value


@pytest.mark.parametrize(
    ("task", "field"),
    [
        ({"name": "write", "agent": "writer", "message": "Notes for ${workflow.inputs.week"}, "message"),
        ({"name": "write", "agent": "writer", "inputs": {"pr": {"ids": ["${1 +}"]}}}, "inputs.pr.ids[0]"),
        ({"name": "write", "agent": "writer", "when": "workflow.inputs.week = '1'"}, "when"),
        ({"name": "write", "agent": "writer", "when": "${true"}, "when"),
        ({"name": "gather", "set": {"summary": {"text": "${'a' +}"}}}, "set.summary.text"),
        ({"name": "call", "http": {"url": "https://x/${1 2}"}}, "http.url"),
        (
            {
                "name": "call",
                "http": {"url": "https://x", "headers": {"Authorization": "Bearer ${secrets.}"}},
            },
            "http.headers.Authorization",
        ),
        ({"name": "call", "http": {"url": "https://x", "query": {"q": "${(}"}}}, "http.query.q"),
        ({"name": "call", "http": {"url": "https://x", "body": {"rows": [1, "${[}"]}}}, "http.body.rows[1]"),
        (
            {
                "name": "route",
                "switch": {"cases": [{"when": "true", "then": []}, {"when": "${1 +}", "then": []}]},
            },
            "switch.cases[1].when",
        ),
        ({"name": "each", "forEach": {"items": "${[1, 2}", "do": _set("step")}}, "forEach.items"),
        (
            {
                "name": "each",
                "forEach": {"items": "${[1]}", "do": {"name": "s", "agent": "a", "message": "${(}"}},
            },
            "forEach.do.message",
        ),
        ({"name": "ok", "approval": {"message": "Publish ${tasks.x.outputs.}?"}}, "approval.message"),
    ],
    ids=[
        "message",
        "inputs",
        "when-bare",
        "when-braces",
        "set",
        "http-url",
        "http-header",
        "http-query",
        "http-body",
        "switch-case",
        "for-each-items",
        "for-each-do",
        "approval",
    ],
)
def test_a_malformed_expression_names_its_field(task: dict[str, Any], field: str) -> None:
    err = _refused([_set("x"), task])

    assert isinstance(err, ExpressionError)
    assert err.field == f"spec.tasks[1].{field}"
    assert "malformed expression" in err.message or "unterminated" in err.message


def test_a_malformed_workflow_output_names_its_field() -> None:
    err = _refused([_set("gather")], outputs={"notes": {"body": "${tasks.gather.outputs.value +}"}})

    assert err.field == "spec.outputs.notes.body"
    assert "${tasks.gather.outputs.value +}" in err.message


def test_an_unknown_root_is_refused() -> None:
    err = _refused([{"name": "write", "agent": "writer", "message": "${inputs.week}"}])

    assert err.field == "spec.tasks[0].message"
    assert err.message == "unknown name 'inputs' in ${inputs.week}"


def test_an_unknown_task_is_named_with_the_tasks_listed() -> None:
    err = _refused(
        [_set("gather"), {"name": "write", "agent": "writer", "message": "${tasks.gahter.outputs.value}"}]
    )

    assert err.field == "spec.tasks[1].message"
    assert err.message == "unknown task 'gahter' in ${tasks.gahter.outputs.value}"
    assert err.hint == "tasks: gather, write"


def test_an_unknown_task_in_a_header_names_the_header() -> None:
    task = {
        "name": "call",
        "http": {"url": "https://x", "headers": {"Authorization": "${tasks.login.outputs.t}"}},
    }

    err = _refused([task])

    assert err.field == "spec.tasks[0].http.headers.Authorization"
    assert "unknown task 'login'" in err.message


def test_an_unknown_hyphenated_task_in_a_condition_is_refused() -> None:
    err = _refused([_set("fetch-pr"), _set("write", when="tasks.fetch-prs.outputs.value == 'x'")])

    assert err.field == "spec.tasks[1].when"
    assert "unknown task 'fetch-prs'" in err.message


def test_an_unknown_task_in_the_outputs_is_refused() -> None:
    err = _refused([_set("gather")], outputs={"notes": "${tasks.write-notes.output.body}"})

    assert err.field == "spec.outputs.notes"
    assert "unknown task 'write-notes'" in err.message


@pytest.mark.parametrize(
    ("task", "field", "root"),
    [
        ({"name": "write", "agent": "writer", "message": "${item}"}, "spec.tasks[0].message", "item"),
        ({"name": "gather", "set": {"n": "${index + 1}"}}, "spec.tasks[0].set.n", "index"),
        (
            {"name": "each", "forEach": {"items": "${item.rows}", "do": _set("s")}},
            "spec.tasks[0].forEach.items",
            "item",
        ),
        ({"name": "write", "agent": "writer", "when": "item > 1"}, "spec.tasks[0].when", "item"),
    ],
    ids=["message", "set", "for-each-items", "when"],
)
def test_loop_variables_outside_for_each_do_are_refused(task: dict[str, Any], field: str, root: str) -> None:
    err = _refused([task])

    assert err.field == field
    assert err.message.startswith(f"{root} is only defined inside forEach.do")


def test_loop_variables_inside_for_each_do_are_accepted() -> None:
    do = {"name": "note", "agent": "writer", "message": "PR ${index}: ${item.title}", "when": "item.open"}
    tasks = [
        _set("fetch"),
        {"name": "each", "dependsOn": ["fetch"], "forEach": {"items": "${[1]}", "do": do}},
    ]

    assert validate(workflow("release-notes", tasks)) == "release-notes"


def test_a_task_may_read_a_task_it_does_not_depend_on() -> None:
    # A switch enables one of two tasks; the summary reads whichever ran.
    tasks = [
        _set("triage"),
        {
            "name": "route",
            "dependsOn": ["triage"],
            "switch": {"cases": [{"when": "tasks.triage.outputs.value == 'bug'", "then": ["fix"]}]},
        },
        _set("fix", dependsOn=["route"]),
        {
            "name": "summary",
            "dependsOn": ["route"],
            "set": {"text": "${default(tasks.fix.outputs.value, 'nothing to fix')}"},
        },
    ]

    assert validate(workflow("release-notes", tasks)) == "release-notes"


def test_every_field_with_valid_expressions_is_accepted() -> None:
    tasks = [
        _set("fetch-pr", when=""),
        {
            "name": "call",
            "dependsOn": ["fetch-pr"],
            "when": "${tasks.fetch-pr.outputs.value != ''}",
            "http": {
                "method": "POST",
                "url": "https://api.example.com/${env.REGION}/prs",
                "headers": {"Authorization": "Bearer ${secrets.TOKEN}"},
                "query": {"limit": "${workflow.inputs.max-items}"},
                "body": {"title": "${upper(tasks.fetch-pr.output.value)}", "n": 2, "tags": ["${json([1])}"]},
            },
        },
        {"name": "ok", "approval": {"message": "Publish ${tasks.call.outputs.status}?"}},
    ]

    built = workflow("release-notes", tasks, outputs={"status": "${tasks.call.outputs}"})

    assert validate(built) == "release-notes"


def test_the_example_workflow_is_valid() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())

    assert validate(build(Workflow, data["metadata"]["name"], data["spec"])) == "weekly-release-notes"


def test_a_chain_of_agents_is_valid() -> None:
    assert validate(build(Workflow, "chain", _chain(("triage", "writer", "reviewer")))) == "chain"


def test_tasks_that_read_each_other_are_a_cycle() -> None:
    error = _refused(
        [
            {"name": "a", "set": {"x": "${tasks.b.outputs.y}"}},
            {"name": "b", "dependsOn": ["a"], "set": {"y": 1}},
        ]
    )
    assert "dependency cycle: a -> b -> a" in error.message
    assert error.field == "spec.tasks[0].dependsOn"
    assert "expressions read" in error.hint
