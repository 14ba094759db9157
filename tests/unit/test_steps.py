"""Reading durable steps back: what a resumed run replays must equal what was recorded."""

from __future__ import annotations

import json
from typing import Any

from stigmer.api.backend.v1.backend_pb2 import ExecutionStep
from stigmer.resources.steps import input_of, output_of, plain, transcript


def test_numbers_replayed_from_a_step_keep_their_type() -> None:
    step = ExecutionStep(execution_id="aex_x", step=1, name="model", status="completed")
    sent: dict[str, Any] = {
        "toolCalls": [{"arguments": {"ids": [1, 2], "n": 2, "ratio": 0.5}, "id": "c1", "name": "page"}]
    }
    step.output.update(sent)
    # A protobuf Struct holds every number as a double; the replay gives the model's ints back.
    assert json.dumps(output_of(step), sort_keys=True) == json.dumps(sent, sort_keys=True)
    assert input_of(step) == {}


def test_plain_leaves_real_floats_and_other_values_alone() -> None:
    assert plain({"a": 1.5, "b": [True, None, "2"], "c": 3.0}) == {"a": 1.5, "b": [True, None, "2"], "c": 3}
    assert isinstance(plain(3.0), int) and isinstance(plain(2.0**60), float)


def test_a_transcript_pairs_tool_results_with_their_calls() -> None:
    model = ExecutionStep(execution_id="aex_x", step=1, name="model", status="completed")
    model.output.update(
        {"text": "", "toolCalls": [{"id": "c1", "name": "find_order", "arguments": {"id": "A-1"}}]}
    )
    tool = ExecutionStep(execution_id="aex_x", step=2, name="tool:find_order", status="completed")
    tool.input.update({"callId": "c1", "server": "helpdesk", "arguments": {"id": "A-1"}})
    tool.output.update({"text": "shipped", "isError": False})
    answer = ExecutionStep(execution_id="aex_x", step=3, name="model", status="completed")
    answer.output.update({"text": "It shipped."})
    messages, calls = transcript("where?", [model, tool, answer])
    assert [(m.role, m.content, m.tool_call_id) for m in messages] == [
        ("user", "where?", ""),
        ("assistant", "", ""),
        ("tool", "shipped", "c1"),
        ("assistant", "It shipped.", ""),
    ]
    assert [(c.id, c.name, c.server, c.result, dict(c.arguments)) for c in calls] == [
        ("c1", "find_order", "helpdesk", "shipped", {"id": "A-1"})
    ]
