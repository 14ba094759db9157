"""An agent with a tool and a two-step workflow, defined in Python, run and streamed.

Run it with `python examples/sdk/order_bot.py` (it uses $STIGMER_HOME, else ~/.stigmer),
or apply it from the CLI with `stigmer apply -f examples/sdk/order_bot.py`.
"""

import sys
from pathlib import Path

from stigmer import Agent, Client, McpServer, Workflow
from stigmer.sdk import Stdio, agent_task, set_task
from stigmer.testing import scripted, tool_call

server = Path(__file__).resolve().parents[1] / "mcpservers" / "helpdesk_server.py"
helpdesk = McpServer("order-desk", stdio=Stdio(sys.executable, [str(server)]))
bot = Agent(
    "order-bot",
    instructions="Look the order up with your tools, then answer in one sentence.",
    mcp_servers=[helpdesk],
    model=scripted(tool_call("find_order", id="A-1"), "Order A-1 has shipped."),  # or "anthropic/…"
)
status = Workflow(
    "order-status",
    inputs={"order": str},
    tasks=[
        agent_task("ask", bot, "Where is order ${workflow.inputs.order}?"),
        set_task("report", {"line": "${workflow.inputs.order}: ${tasks.ask.output}"}),
    ],
    outputs={"line": "${tasks.report.outputs.line}"},
)

if __name__ == "__main__":
    with Client() as client:
        client.apply(status)  # and the agent and MCP server it uses
        stream = client.agents.execute("order-bot", "Where is order A-1?", stream=True)
        for event in stream:
            print(event)
        print(stream.execution.status.output)
        run = client.workflows.execute("order-status", {"order": "A-1"})
        print(run.status.outputs["line"])
