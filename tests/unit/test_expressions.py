"""The workflow expression language: ``${ … }`` on CEL, with hyphenated names and a few functions."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from stigmer.resources.expressions import (
    ROOTS,
    ExpressionError,
    check,
    check_condition,
    condition,
    condition_references,
    evaluate,
    has_expressions,
    references,
)

# As the engine builds it: Struct data, so every number arrives as a double.
CONTEXT: dict[str, Any] = {
    "workflow": {"inputs": {"week": "2024-W07", "max-items": 5.0, "audience": "customers"}},
    "tasks": {
        "fetch-pr": {"outputs": {"title": "Fix login", "count": 3.0, "labels": ["bug", "ui"], "draft": None}},
        "gather": {"outputs": {"summary": "Changes", "ratio": 0.5, "meta": {"a": 1.0}}, "output": "raw"},
    },
    "env": {"REGION": "eu-west-1"},
    "secrets": {"TOKEN": "s3cr3t"},
}


def ev(value: Any, context: dict[str, Any] | None = None) -> Any:
    return evaluate(value, CONTEXT if context is None else context, where="spec.tasks[0].message")


def fails(value: Any, context: dict[str, Any] | None = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        ev(value, context)
    return caught.value


def _plain_types(value: Any) -> set[type]:
    if isinstance(value, dict):
        return {dict}.union(*(_plain_types(k) | _plain_types(v) for k, v in value.items()))
    if isinstance(value, list):
        return {list}.union(*(_plain_types(v) for v in value))
    return {type(value)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${tasks.fetch-pr.outputs.count}", 3),
        ("${ workflow.inputs.week }", "2024-W07"),
        ("  ${tasks.fetch-pr.outputs.count > 2}\n", True),
        ("${tasks.gather.outputs.ratio}", 0.5),
        ("${tasks.fetch-pr.outputs.draft}", None),
        ("${tasks.fetch-pr.outputs.labels}", ["bug", "ui"]),
        ("${tasks.gather.outputs.meta}", {"a": 1}),
        ("${ {'k': [1, 2.5, true, null]} }", {"k": [1, 2.5, True, None]}),
        ("${7 / 2}", 3),
        ("${7.0 / 2.0}", 3.5),
    ],
)
def test_a_string_that_is_one_expression_keeps_its_type(text: str, expected: Any) -> None:
    result = ev(text)

    assert result == expected
    assert type(result) is type(expected)


def test_no_celpy_type_leaks_out() -> None:
    result = ev(
        {
            "a": "${[tasks.fetch-pr.outputs, 1u, b'x', 2.5 * 2, 'abc'[0], {1: true, false: 'f'}, type(1)]}",
            "b": ["${env}", 3, None],
        }
    )

    assert _plain_types(result) <= {dict, list, str, int, float, bool, type(None)}
    assert result["a"][-2] == {"1": True, "false": "f"}
    assert result["a"][-1] == "int"
    assert result["b"][1:] == [3, None]


def test_expressions_in_text_are_interpolated() -> None:
    assert ev("Week ${workflow.inputs.week}: ${tasks.fetch-pr.outputs.count} PRs") == "Week 2024-W07: 3 PRs"
    assert ev("[${tasks.fetch-pr.outputs.draft}] ${true} ${1.0} ${0.25}") == "[] true 1 0.25"
    assert ev("labels=${tasks.fetch-pr.outputs.labels} meta=${tasks.gather.outputs.meta}") == (
        'labels=["bug","ui"] meta={"a":1}'
    )
    assert ev("no expressions here, only $ and { }") == "no expressions here, only $ and { }"


def test_nested_values_are_evaluated_and_other_scalars_kept() -> None:
    value = {"h": {"Authorization": "Bearer ${secrets.TOKEN}"}, "n": 2, "on": True, "xs": ["${env.REGION}"]}

    assert ev(value) == {"h": {"Authorization": "Bearer s3cr3t"}, "n": 2, "on": True, "xs": ["eu-west-1"]}
    assert value["h"] == {"Authorization": "Bearer ${secrets.TOKEN}"}  # a copy; the input is untouched


def test_hyphenated_names_in_dotted_paths_and_subtraction_with_spaces() -> None:
    assert ev("${workflow.inputs.max-items}") == 5
    assert ev("${tasks.fetch-pr.outputs.count - 1}") == 2
    assert ev('${tasks["fetch-pr"].outputs.title}') == "Fix login"
    # A hyphen inside a string literal is text, not a path.
    assert ev("${'tasks.fetch-pr' + '-x'}") == "tasks.fetch-pr-x"

    err = fails("${tasks.fetch-pr.outputs.count-1}")
    assert "no value at tasks.fetch-pr.outputs.count-1" in err.message
    assert "a - b" in err.hint


def test_output_is_a_synonym_of_outputs_inside_a_path() -> None:
    assert ev("${tasks.fetch-pr.output.title}") == "Fix login"
    assert ev('${tasks.fetch-pr.output["title"]}') == "Fix login"
    # At the end of a path it is the key the engine fills.
    assert ev("${tasks.gather.output}") == "raw"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${length('héllo')}", 5),
        ("${length(tasks.fetch-pr.outputs.labels)}", 2),
        ("${length(tasks.gather.outputs.meta)}", 1),
        ("${size(tasks.fetch-pr.outputs.labels)}", 2),
        ("${lower('Fix LOGIN')}", "fix login"),
        ("${upper(workflow.inputs.audience)}", "CUSTOMERS"),
        ("${workflow.inputs.audience.upper()}", "CUSTOMERS"),
        ("${json(tasks.fetch-pr.outputs.labels)}", '["bug","ui"]'),
        ("${json({'a': tasks.fetch-pr.outputs.count, 'b': 'é'})}", '{"a":3,"b":"é"}'),
        ("${string(true)}", "true"),
        ("${tasks.fetch-pr.outputs.title.contains('login')}", True),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_a_function_given_the_wrong_type_says_so() -> None:
    assert "length() takes a string, list or map, not an int" in fails("${length(3)}").message
    assert "upper() takes a string" in fails("${upper(1)}").message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${default(tasks.fetch-pr.outputs.title, 'none')}", "Fix login"),
        ("${default(tasks.fetch-pr.outputs.missing, 'none')}", "none"),
        ("${default(tasks.fetch-pr.outputs.draft, false)}", False),
        ("${default(tasks.never-ran.outputs.x, [])}", []),
        ("${default(workflow.inputs.limit, default(workflow.inputs.max-items, 10))}", 5),
        ("${default(default(workflow.inputs.limit, null), 'deep')}", "deep"),
        ("${default(tasks.fetch-pr.outputs.count, 0) + 1}", 4),
        ("${default(item, 'outside a loop')}", "outside a loop"),
    ],
)
def test_default_gives_the_fallback_when_a_value_is_missing_or_null(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_default_takes_two_arguments() -> None:
    with pytest.raises(ExpressionError, match=r"default\(\) takes 2 arguments, got 1"):
        check("${default(workflow.inputs.week)}", where="spec.outputs.x")


def test_deeply_nested_defaults_are_refused_not_expanded() -> None:
    text = "env.A"
    for _ in range(30):
        text = f"default({text}, 1)"

    with pytest.raises(ExpressionError, match="expression too large"):
        check("${" + text + "}", where="spec.outputs.x")
    assert ev("${default(env.A, default(env.B, default(env.C, default(env.REGION, 1))))}") == "eu-west-1"


@pytest.mark.parametrize(
    "text",
    [
        "${'bug' in tasks.fetch-pr.outputs.labels}",
        "${'title' in tasks.fetch-pr.outputs}",
        "${tasks.fetch-pr.outputs.count == 3 && tasks.gather.outputs.ratio < 1.0}",
        "${!(tasks.fetch-pr.outputs.count != 3) || false}",
        "${tasks.fetch-pr.outputs.count * 2 + 1 == 7}",
        "${(tasks.fetch-pr.outputs.count >= 3 ? 'many' : 'few') == 'many'}",
        "${workflow.inputs.week.startsWith('2024') && size([1, 2]) == 2}",
        "${[1, 2, 3].exists(n, n == tasks.fetch-pr.outputs.count)}",
    ],
)
def test_membership_comparison_and_boolean_logic(text: str) -> None:
    assert ev(text) is True


def test_tasks_read_as_a_whole_or_by_a_computed_name() -> None:
    # Tasks are converted for CEL one at a time, as expressions name them; a computed name
    # or the whole map must still see every task, within one evaluation too.
    context = {**CONTEXT, "item": "gather"}

    assert evaluate(
        ["${tasks.fetch-pr.outputs.count}", "${size(tasks)}", "${tasks[item].outputs.summary}"],
        context,
        where="spec.tasks[0].set.x",
    ) == [3, 2, "Changes"]
    assert references("${tasks[item].outputs}") == {("tasks", ""), ("item", "")}


def test_integral_floats_from_a_struct_equal_ints() -> None:
    # Struct gives 3.0 for 3; CEL has no int == double, so the context's integral floats are ints.
    assert condition("tasks.fetch-pr.outputs.count == 3", CONTEXT, where="spec.tasks[1].when")
    assert ev("${workflow.inputs.max-items in [5, 10]}") is True


@pytest.mark.parametrize(
    "text",
    [
        "${'a}b' + \"}\"}",
        "${ {'x': {'y': '}'}}.x.y }",
        "${'it\\'s}'}",
    ],
)
def test_braces_inside_strings_and_maps_do_not_end_the_expression(text: str) -> None:
    assert ev(text) in ("a}b}", "}", "it's}")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("${1 +}", "it ends too early"),
        ("${tasks.fetch-pr.outputs.count = 3}", "unexpected '=' (compare with ==)"),
        ("${(1 + 2}", "')' is missing at the end"),
        ("${1 2}", "unexpected '2'"),
    ],
)
def test_a_malformed_expression_is_quoted_with_the_parsers_complaint(text: str, words: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        check({"headers": {"Authorization": f"Bearer {text}"}}, where="spec.tasks[2].http")

    err = caught.value
    assert err.field == "spec.tasks[2].http.headers.Authorization"
    assert err.message == f"malformed expression {text}: {words}"
    assert err.hint and err.expression == text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("${workflow.inputs.week", "${ has no closing }"),
        ("${'abc}", "a ' is not closed"),
        ("x ${ } y", "empty expression"),
    ],
)
def test_unterminated_and_empty_expressions_are_malformed(text: str, words: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(words)) as caught:
        check([text], where="spec.outputs.notes")

    assert caught.value.field == "spec.outputs.notes[0]"


def test_an_unknown_root_is_named_with_the_roots_listed() -> None:
    with pytest.raises(ExpressionError) as caught:
        check("${input.week}", where="spec.tasks[0].message")

    assert caught.value.message == "unknown name 'input' in ${input.week}"
    assert ", ".join(ROOTS) in caught.value.hint


def test_loop_variables_of_macros_are_not_roots() -> None:
    check("${tasks.a.outputs.rows.filter(r, r.ok).map(r, r.id)}", where="x")
    assert references("${tasks.a.outputs.rows.all(r, r.ok)}") == {("tasks", "a")}


def test_only_pure_functions_exist() -> None:
    with pytest.raises(ExpressionError, match="unknown function 'now'"):
        check("${now()}", where="x")
    with pytest.raises(ExpressionError, match="unknown function 'read'"):
        check("${env.PATH.read()}", where="x")


def test_a_missing_input_names_the_path_and_what_there_is() -> None:
    err = fails("Week ${workflow.inputs.weeek}")

    assert err.field == "spec.tasks[0].message"
    assert err.message == (
        "cannot evaluate ${workflow.inputs.weeek}: no value at workflow.inputs.weeek: "
        "workflow.inputs has no member 'weeek'"
    )
    assert err.hint == "workflow.inputs has: audience, max-items, week"


def test_a_task_that_did_not_run_is_said_to_have_not_run() -> None:
    err = fails("${tasks.publish.outputs.url}")

    assert "no value at tasks.publish: task 'publish' has not run or was skipped" in err.message
    assert "default(" in err.hint


def test_a_task_that_was_skipped_is_said_to_be_skipped() -> None:
    context = {"tasks": {"publish": {"outputs": {}, "output": {}, "phase": "SKIPPED"}}}

    err = fails("${tasks.publish.outputs.url}", context)

    assert err.message.endswith(
        "no value at tasks.publish.outputs.url: tasks.publish.outputs has no member 'url'"
        " (task 'publish' is skipped)"
    )


def test_other_evaluation_errors_are_in_user_terms() -> None:
    assert "has no member 'outputs'" in fails("${tasks.x.outputs}", {"tasks": {"x": {}}}).message
    assert (
        "tasks.fetch-pr.outputs.count is an int, not a map"
        in fails("${tasks.fetch-pr.outputs.count.x}").message
    )
    assert "tasks.fetch-pr.outputs.labels has 2 items" in fails("${tasks.fetch-pr.outputs.labels[5]}").message
    assert "cannot apply == to a double and an int" in fails("${tasks.gather.outputs.ratio == 1}").message
    assert "division by zero" in fails("${1 / 0}").message
    err = fails("${item.name}")
    assert err.message.endswith("no value at item")
    assert err.hint == "item is only defined inside forEach.do"


def test_an_error_inside_nested_data_names_the_nested_field() -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate({"rows": [{"x": "ok"}, {"x": "${env.NOPE}"}]}, CONTEXT, where="spec.tasks[1].set")

    assert caught.value.field == "spec.tasks[1].set.rows[1].x"


def test_references() -> None:
    value = {
        "a": "${tasks.fetch-pr.outputs.x} and ${secrets.TOKEN}",
        "b": ["${workflow.inputs.week}", "${item}", "${index + 1}"],
        "c": '${tasks["gather"].output.summary} ${env}',
        "d": "plain",
        "n": 3,
    }

    assert references(value) == {
        ("tasks", "fetch-pr"),
        ("tasks", "gather"),
        ("secrets", "TOKEN"),
        ("workflow", "inputs"),
        ("item", ""),
        ("index", ""),
        ("env", ""),
    }
    assert references("no expressions") == set()


def test_has_expressions() -> None:
    assert has_expressions({"a": ["x", {"b": "${item}"}]})
    assert not has_expressions({"a": ["x", 1, None, {"b": "$ {}"}]})
    assert has_expressions("${")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("   ", True),
        ("${tasks.fetch-pr.outputs.count > 1}", True),
        ("tasks.fetch-pr.outputs.draft == null", True),
        (" 'ui' in tasks.fetch-pr.outputs.labels && env.REGION != 'us' ", True),
        ("${ default(tasks.fetch-pr.outputs.approved, false) }", False),
    ],
)
def test_conditions_bare_or_in_braces(text: str, expected: bool) -> None:
    check_condition(text, where="spec.tasks[1].when")
    assert condition(text, CONTEXT, where="spec.tasks[1].when") is expected


def test_a_condition_must_be_a_boolean() -> None:
    with pytest.raises(ExpressionError) as caught:
        condition("${tasks.fetch-pr.outputs.count}", CONTEXT, where="spec.tasks[1].when")

    assert caught.value.field == "spec.tasks[1].when"
    assert "gave an int (3), not true or false" in caught.value.message


def test_a_condition_is_one_expression() -> None:
    with pytest.raises(ExpressionError, match="a condition is one expression"):
        check_condition("${a} == ${b}", where="spec.tasks[1].when")
    with pytest.raises(ExpressionError, match=r"malformed expression tasks\.a\.outputs\.x ="):
        check_condition("tasks.a.outputs.x =", where="spec.tasks[1].when")
    assert condition_references("tasks.fetch-pr.outputs.ok", where="w") == {("tasks", "fetch-pr")}


def test_importing_the_module_does_not_import_celpy() -> None:
    code = "import sys, stigmer.resources.expressions; print('celpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "False"


def test_in_a_string_is_a_substring_test() -> None:
    context = {"tasks": {"a": {"output": "it shipped"}}}
    assert evaluate('${"ship" in tasks.a.output}', context, where="w") is True
    assert evaluate('${"lost" in "it shipped"}', {}, where="w") is False
    assert evaluate('${"b" in ["a", "b"]}', {}, where="w") is True


def test_a_doubled_dollar_writes_a_literal_expression_opening() -> None:
    assert evaluate(
        "echo $${HOME} for ${workflow.inputs.who}", {"workflow": {"inputs": {"who": "ann"}}}, where="w"
    ) == ("echo ${HOME} for ann")
    check("run $${PATH}", where="w")  # nothing to compile, nothing refused
    with pytest.raises(ExpressionError, match="unknown name 'PATH'") as refused:
        check("run ${PATH}", where="w")
    assert "for a literal ${, write $${" in refused.value.hint


def test_importing_the_module_does_not_import_the_cel_runtime() -> None:
    code = (
        "import sys, stigmer.resources.expressions;"
        "print([m for m in ('cel_expr_python', 'stigmer.resources.cel_tree') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${tasks.gather.outputs.ratio * 100}", 50.0),
        ("${tasks.fetch-pr.outputs.count * 1.5}", 4.5),
        ("${tasks.fetch-pr.outputs.count - tasks.gather.outputs.ratio}", 2.5),
        ("${1 + 2.5}", 3.5),
        ("${tasks.fetch-pr.outputs.count / 2}", 1),
        ("${'a' + 'b'}", "ab"),
        ("${[1] + [2]}", [1, 2]),
    ],
)
def test_ints_and_doubles_mix_in_arithmetic(text: str, expected: Any) -> None:
    # A Struct's integral numbers arrive as ints: `ratio * 100` must not depend on that.
    result = ev(text)

    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${has(tasks.fetch-pr.outputs.title)}", True),
        ("${has(tasks.fetch-pr.outputs.nope)}", False),
        ("${has(tasks.fetch-pr.outputs.draft)}", True),
        ("${has(workflow.inputs.max-items)}", True),
        ("${has(tasks.never-ran)}", False),
        ("${has(tasks.fetch-pr.outputs.labels[1])}", True),
        ("${has(tasks.fetch-pr.outputs.labels[5])}", False),
        ("${has(tasks.fetch-pr.outputs.title.x)}", False),
        ("${has(item)}", False),
    ],
)
def test_has_takes_any_path(text: str, expected: bool) -> None:
    assert ev(text) is expected


def test_has_of_something_else_than_a_path_is_malformed() -> None:
    with pytest.raises(ExpressionError, match=r"has\(\) takes a path"):
        check("${has(1 + 2)}", where="x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${default(int(workflow.inputs.missing), 10)}", 10),
        ("${default(size(tasks.fetch-pr.outputs.labels), 0)}", 2),
        ("${default(tasks.fetch-pr.outputs.labels[7], 'none')}", "none"),
        ("${default(tasks.fetch-pr.outputs.labels[-1], 'none')}", "ui"),
        ("${default(tasks.fetch-pr.outputs.title.x, 'not a map')}", "not a map"),
        ("${default(tasks[env.REGION].outputs, 'no such task')}", "no such task"),
        ("${[{'id': 1}, {}].map(r, default(r.id, 0))}", [1, 0]),
    ],
)
def test_default_of_a_computation_or_a_deep_path(text: str, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${workflow.inputs.week[0]}", "2"),
        ("${workflow.inputs.week[-1]}", "7"),
        ("${tasks.fetch-pr.outputs.labels[-1]}", "ui"),
        ("${string(tasks.fetch-pr.outputs.draft)}", "null"),
        ("${json({'b': 1, 'a': [true, null]})}", '{"a":[true,null],"b":1}'),
        ("${timestamp('2024-01-01T00:00:00Z') + duration('90m')}", "2024-01-01T01:30:00Z"),
        ("${duration('90s')}", "90s"),
        ("${timestamp('2024-03-05T10:00:00Z').getFullYear()}", 2024),
        ("${tasks.fetch-pr.outputs.labels.exists_one(l, l.startsWith('b'))}", True),
        ("${tasks.fetch-pr.outputs.labels.map(l, upper(l))}", ["BUG", "UI"]),
    ],
)
def test_text_lists_times_and_macros(text: str, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("${tasks.fetch-pr.outputs.labels[-3]}", "tasks.fetch-pr.outputs.labels has 2 items"),
        ("${'a' < 1}", "cannot apply < to a string and an int"),
        ("${size(1)}", "size() cannot take these arguments"),
        ("${1 in 'abc'}", "'in' a string takes a string, not an int"),
        ("${9223372036854775807 + 1}", "the number is too large"),
        ("${{'a': 1}.b}", "no member 'b'"),
    ],
)
def test_more_evaluation_errors_in_user_terms(text: str, words: str) -> None:
    assert words in fails(text).message
