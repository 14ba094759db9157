"""The prompt of a run: instructions, skills, the session's history, then the message."""

from __future__ import annotations

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.backend.protocol import ExecutionQuery, RunJournal
from stigmer.errors import NotFound
from stigmer.models.types import ChatMessage

SESSION_HISTORY_RUNS = 50


def system_prompt(agent: Agent, skills: list[Skill]) -> str:
    """The agent's instructions followed by every skill it loads, each under its name."""
    parts = [agent.spec.instructions.strip()]
    for skill in skills:
        header = f"## Skill: {skill.metadata.name} (version {skill.metadata.version})"
        if skill.spec.description:
            header += f"\n{skill.spec.description}"
        parts.append(f"{header}\n\n{skill.spec.content.strip()}")
    return "\n\n".join(parts)


def load_skills(backend: RunJournal, agent: Agent) -> list[Skill]:
    """The Skill resources the agent names, as they are now.

    Raises:
        NotFound: A skill does not exist; the error names it and the agent.
    """
    skills = []
    for name in agent.spec.skills:
        try:
            skills.append(backend.get(Skill, name))
        except NotFound:
            raise NotFound(
                f"agent {agent.metadata.name!r} loads skill {name!r}, which does not exist",
                hint=f"apply a Skill named {name!r}, or remove it from spec.skills",
            ) from None
    return skills


def session_history(backend: RunJournal, execution: AgentExecution) -> list[ChatMessage]:
    """The earlier completed runs of the same session, oldest first, as user/assistant turns."""
    if not execution.spec.session:
        return []
    page = backend.list_executions(
        ExecutionQuery(kind="AgentExecution", session=execution.spec.session, page_size=SESSION_HISTORY_RUNS)
    )
    history: list[ChatMessage] = []
    for earlier in reversed(page.items):
        if earlier.metadata.id == execution.metadata.id or earlier.metadata.create_time.ToDatetime() > (
            execution.metadata.create_time.ToDatetime()
        ):
            continue
        if not isinstance(earlier, AgentExecution) or earlier.status.phase != ExecutionPhase.COMPLETED:
            continue
        history.append(ChatMessage("user", earlier.spec.message))
        history.append(ChatMessage("assistant", earlier.status.output))
    return history


__all__ = ["load_skills", "session_history", "system_prompt"]
