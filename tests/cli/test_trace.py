"""`stigmer execution trace`: where a run's time and money went, from its journal."""

from __future__ import annotations

import re

import yaml

from .helpers import Stigmer, table, write
from .test_agent_execute import FIND_THEN_ANSWER, _agent_yaml


def test_trace_draws_the_waterfall_of_an_agent_run(stigmer: Stigmer) -> None:
    stigmer("init")
    write(
        stigmer.home / "config.yaml",
        "backend: local\nprices:\n  scripted: {input: 1000000, output: 1000000}\n",
    )
    log = stigmer.cwd / "tools.log"
    stigmer("apply", "-f", write(stigmer.cwd / "a.json", _agent_yaml("orders", FIND_THEN_ANSWER, log)))
    stigmer("agent", "execute", "orders", "Where is A-1?")
    (run,) = table(stigmer("execution", "list").out)
    shown = stigmer("execution", "trace", run["ID"])
    headline, *lines = shown.out.splitlines()
    assert headline.startswith(f"invoke_agent orders · {run['ID']} · ok · ")
    assert "3 model calls · " in headline and headline.endswith(run["COST"])
    header, *body = lines
    assert header.split() == ["SPAN", "START", "DURATION", "TOKENS", "COST", "TIMELINE"]
    rows = [re.split(r"\s{2,}", line.strip()) for line in body]
    assert [r[0] for r in rows] == [
        "invoke_agent orders ok",
        "├─ chat scripted",
        "├─ execute_tool find_order",
        "├─ chat scripted",
        "├─ execute_tool create_ticket",
        "└─ chat scripted",
    ]
    assert rows[0][3:5] == [run["TOKENS"], run["COST"]]  # span, start, duration, tokens, cost
    assert all(r[-1].startswith("█") for r in rows)

    data = stigmer("execution", "trace", run["ID"], "-o", "json").json()
    assert data["executionId"] == run["ID"]
    assert [c["name"] for c in data["root"]["children"]][:2] == ["chat scripted", "execute_tool find_order"]
    tool = data["root"]["children"][1]
    assert tool["attributes"]["gen_ai.tool.name"] == "find_order"
    assert tool["parentSpanId"] == data["root"]["spanId"]
    assert yaml.safe_load(stigmer("execution", "trace", run["ID"], "-o", "yaml").out) == data


def test_trace_of_an_unknown_run_says_so(stigmer: Stigmer) -> None:
    stigmer("init")
    result = stigmer("execution", "trace", "aex_nope", check=False)
    assert result.code == 1
    assert "aex_nope" in result.err and "not found" in result.err
