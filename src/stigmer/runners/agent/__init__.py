"""The agent runner: the model loop with MCP tools, skills, sessions and approvals."""

from stigmer.runners.agent.runner import AgentRunner

__all__ = ["AgentRunner"]
