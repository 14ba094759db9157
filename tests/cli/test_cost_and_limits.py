"""Cost and limits from the terminal: prices in config.yaml, tokens and cost in `execution
list` and `get`, a run stopped by its limit and continued with `execution retry`."""

from __future__ import annotations

import json

from .helpers import Stigmer, table, write

SCRIPT = [
    {"toolCalls": [{"name": "nowhere", "arguments": {"n": 1}}]},
    {"toolCalls": [{"name": "nowhere", "arguments": {"n": 2}}]},
    {"text": "Gave up looking."},
]
# A dollar an input token and two an output token.
PRICES = "prices:\n  scripted: {input: 1000000, output: 2000000}\n"


def _agent(stigmer: Stigmer, limits: dict[str, object]) -> None:
    doc = {
        "apiVersion": "agentic.stigmer.ai/v1",
        "kind": "Agent",
        "metadata": {"name": "seeker"},
        "spec": {
            "instructions": "Look.",
            "model": {"provider": "scripted", "options": {"script": SCRIPT}},
            "limits": limits,
        },
    }
    stigmer("apply", "-f", write(stigmer.cwd / "seeker.json", json.dumps(doc)))


def test_runs_show_their_tokens_and_cost(stigmer: Stigmer) -> None:
    stigmer("init")
    write(stigmer.home / "config.yaml", f"backend: local\n{PRICES}")
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    result = stigmer("agent", "execute", "echo", "hello there")
    # In: "Repeat." and "hello there" (3 tokens, $3); out: "echo: hello there" (3 tokens, $6).
    assert " · 1 model call · 3 in / 3 out tokens · $9.00 · " in result.err
    (row,) = table(stigmer("execution", "list").out)
    assert (row["TOKENS"], row["COST"]) == ("6", "$9.00")
    shown = stigmer("execution", "get", row["ID"])
    assert "Usage: 1 model call · 3 in / 3 out tokens · $9.00" in shown.out
    usage = stigmer("execution", "get", row["ID"], "-o", "json").json()["status"]["usage"]
    assert (usage["cost"], usage["inputTokens"], usage["outputTokens"]) == (9, 3, 3)


def test_without_prices_a_run_has_tokens_and_no_cost(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    stigmer("agent", "execute", "echo", "hello there")
    (row,) = table(stigmer("execution", "list").out)
    assert (row["TOKENS"], row["COST"]) == ("6", "-")


def test_a_run_stopped_by_its_limit_goes_on_with_execution_retry(stigmer: Stigmer) -> None:
    _agent(stigmer, {"maxTurns": 1})
    stopped = stigmer("agent", "execute", "seeker", "find it", check=False)
    assert stopped.code == 1
    assert "stopped before model call 2: 1 model calls made, the limit (maxTurns) is 1" in stopped.err
    (row,) = table(stigmer("execution", "list").out)
    assert row["PHASE"] == "FAILED"
    retried = stigmer("execution", "retry", row["ID"], "--max-turns", "5")
    assert retried.out == "Gave up looking.\n"
    assert f"retrying {row['ID']} as aex_" in retried.err
    new_id = retried.err.split(" as ")[1].split()[0]
    record = stigmer("execution", "get", new_id, "-o", "json").json()
    assert record["spec"]["retryOf"] == row["ID"]
    assert record["spec"]["limits"]["maxTurns"] == 5
    assert record["status"]["phase"] == "COMPLETED"
    assert record["status"]["usage"]["modelCalls"] == 2  # the replayed call is the first run's


def test_a_cost_limit_from_config_prices_stops_a_run(stigmer: Stigmer) -> None:
    stigmer("init")
    write(stigmer.home / "config.yaml", f"backend: local\n{PRICES}")
    _agent(stigmer, {"maxCost": 10})
    stopped = stigmer("agent", "execute", "seeker", "find it", check=False)
    assert stopped.code == 1
    assert "the limit (maxCost) is $10.00" in stopped.err
    assert "--max-cost DOLLARS" in stopped.err


def test_retry_refuses_options_of_the_other_kind(stigmer: Stigmer) -> None:
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    stigmer("agent", "execute", "echo", "hi")
    (row,) = table(stigmer("execution", "list").out)
    result = stigmer("execution", "retry", row["ID"], "--from", "x", check=False)
    assert result.code == 2 and "--from and --definition are for workflow runs" in result.err
    bad = stigmer("execution", "retry", row["ID"], "--timeout", "soon", check=False)
    assert bad.code == 2 and "--timeout" in bad.err


def test_malformed_prices_in_config_are_refused_naming_them(stigmer: Stigmer) -> None:
    stigmer("init")
    write(stigmer.home / "config.yaml", "backend: local\nprices:\n  scripted: 3\n")
    stigmer("agent", "create", "echo", "--instructions", "Repeat.", "--model", "scripted")
    result = stigmer("agent", "execute", "echo", "hi", check=False)
    assert result.code == 2
    assert "prices.scripted" in result.err and "input" in result.err
