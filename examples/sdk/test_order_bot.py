"""Testing an automation offline: `pytest examples/sdk/test_order_bot.py`.

`stigmer_client` (a pytest fixture that comes with stigmer) is a client on a throwaway
home; the agent runs on its scripted model, so nothing leaves the machine.
"""

from order_bot import status

from stigmer import Client
from stigmer.runners.agent.events import TextDelta, ToolFinished


def test_the_workflow_reports_where_the_order_is(stigmer_client: Client) -> None:
    stigmer_client.apply(status)
    run = stigmer_client.workflows.execute("order-status", {"order": "A-1"})
    assert run.status.outputs["line"] == "A-1: Order A-1 has shipped."


def test_the_agent_looks_the_order_up_before_it_answers(stigmer_client: Client) -> None:
    stigmer_client.apply(status)
    events = list(stigmer_client.agents.execute("order-bot", "Where is A-1?", stream=True))
    tools = [e.name for e in events if isinstance(e, ToolFinished)]
    assert tools == ["find_order"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Order A-1 has shipped."
