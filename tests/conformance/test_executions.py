"""Executions: written PENDING, moved through their phases, listed newest first."""

from __future__ import annotations

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import Backend, ExecutionQuery
from stigmer.errors import Conflict, InvalidArgument, NotFound
from stigmer.resources.kinds import Execution
from tests.builders import agent, agent_execution, counts, environment, workflow, workflow_execution

PENDING, RUNNING, COMPLETED, FAILED, CANCELLED = (
    ExecutionPhase.PENDING,
    ExecutionPhase.RUNNING,
    ExecutionPhase.COMPLETED,
    ExecutionPhase.FAILED,
    ExecutionPhase.CANCELLED,
)


@pytest.fixture
def bot(backend: Backend) -> str:
    backend.apply(
        [agent("bot"), workflow("release-notes", inputs={"week": {"type": "string", "required": False}})]
    )
    return "bot"


def _moved(backend: Backend, execution: AgentExecution, phase: ExecutionPhase.ValueType) -> AgentExecution:
    execution.status.phase = phase
    return backend.update_execution_status(execution, expected_version=execution.metadata.version)


def _ids(backend: Backend, query: ExecutionQuery) -> list[str]:
    return [e.metadata.id for e in backend.list_executions(query).items]


def test_an_agent_execution_is_written_pending(backend: Backend, bot: str) -> None:
    created = backend.create_execution(agent_execution(bot, "What is our refund policy?"))

    assert created.metadata.id.startswith("aex_")
    assert created.metadata.version == 1
    assert created.status.phase == PENDING
    assert (created.spec.agent, created.spec.message) == ("bot", "What is our refund policy?")
    assert (created.api_version, created.kind) == ("agentic.stigmer.ai/v1", "AgentExecution")
    assert backend.get_execution(created.metadata.id) == created


def test_a_workflow_execution_is_written_pending(backend: Backend, bot: str) -> None:
    request = workflow_execution("release-notes", inputs={"week": "2025-W01"})

    created = backend.create_execution(request)

    assert created.metadata.id.startswith("wex_")
    assert (created.metadata.version, created.status.phase) == (1, PENDING)
    fetched = backend.get_execution(created.metadata.id)
    assert isinstance(fetched, WorkflowExecution)
    assert fetched.spec.inputs["week"] == "2025-W01"
    assert fetched.spec.workflow_version == 1  # pinned to the version current when it was created


def test_a_status_sent_with_the_request_is_ignored(backend: Backend, bot: str) -> None:
    request = agent_execution(bot)
    request.status.phase = COMPLETED
    request.status.output = "forged"

    created = backend.create_execution(request)

    assert created.status.phase == PENDING
    assert created.status.output == ""


def test_an_execution_of_a_missing_definition_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound, match="ghost"):
        backend.create_execution(agent_execution("ghost"))
    with pytest.raises(NotFound, match="nightly"):
        backend.create_execution(workflow_execution("nightly"))

    assert counts(backend)["AgentExecution"] == counts(backend)["WorkflowExecution"] == 0


def test_an_execution_must_name_what_it_runs(backend: Backend) -> None:
    with pytest.raises(InvalidArgument) as err:
        backend.create_execution(agent_execution(""))

    assert err.value.field == "spec.agent"


@pytest.mark.parametrize("execution_id", ["aex_00000000000000000000000000", "wex_nope", "nope", "agt_nope"])
def test_an_unknown_execution_is_not_found(backend: Backend, execution_id: str) -> None:
    with pytest.raises(NotFound):
        backend.get_execution(execution_id)
    with pytest.raises(NotFound):
        backend.cancel_execution(execution_id)


def test_status_updates_are_versioned(backend: Backend, bot: str) -> None:
    created = backend.create_execution(agent_execution(bot))

    running = _moved(backend, created, RUNNING)
    running.status.output = "Refunds within 30 days."
    done = _moved(backend, running, COMPLETED)

    assert (running.metadata.version, done.metadata.version) == (2, 3)
    stored = backend.get_execution(created.metadata.id)
    assert isinstance(stored, AgentExecution)
    assert (stored.status.phase, stored.status.output) == (COMPLETED, "Refunds within 30 days.")
    assert stored.spec == created.spec


@pytest.mark.parametrize("phase", [COMPLETED, FAILED, CANCELLED])
def test_a_finished_execution_does_not_change(
    backend: Backend, bot: str, phase: ExecutionPhase.ValueType
) -> None:
    finished = _moved(backend, backend.create_execution(agent_execution(bot)), phase)

    finished.status.phase = RUNNING
    with pytest.raises(Conflict):
        backend.update_execution_status(finished)
    with pytest.raises(Conflict):
        backend.cancel_execution(finished.metadata.id)

    stored = backend.get_execution(finished.metadata.id)
    assert (stored.status.phase, stored.metadata.version) == (phase, 2)


def test_a_stale_expected_version_conflicts_and_writes_nothing(backend: Backend, bot: str) -> None:
    created = backend.create_execution(agent_execution(bot))
    _moved(backend, created, RUNNING)

    created.status.phase = FAILED
    with pytest.raises(Conflict):
        backend.update_execution_status(created, expected_version=1)

    stored = backend.get_execution(created.metadata.id)
    assert (stored.status.phase, stored.metadata.version) == (RUNNING, 2)


def test_cancelling_a_pending_execution_cancels_it_now(backend: Backend, bot: str) -> None:
    created = backend.create_execution(agent_execution(bot))

    cancelled = backend.cancel_execution(created.metadata.id)

    assert cancelled.status.phase == CANCELLED
    assert cancelled.status.cancel_requested
    assert cancelled.status.HasField("end_time")
    assert cancelled.metadata.version == 2
    assert backend.get_execution(created.metadata.id).status.phase == CANCELLED


def test_cancelling_a_running_execution_asks_it_to_stop(backend: Backend, bot: str) -> None:
    running = _moved(backend, backend.create_execution(agent_execution(bot)), RUNNING)

    asked = backend.cancel_execution(running.metadata.id)

    assert (asked.status.phase, asked.status.cancel_requested) == (RUNNING, True)


def test_executions_are_listed_newest_first_across_kinds(backend: Backend, bot: str) -> None:
    made = [
        backend.create_execution(agent_execution(bot)).metadata.id,
        backend.create_execution(workflow_execution("release-notes")).metadata.id,
        backend.create_execution(agent_execution(bot)).metadata.id,
        backend.create_execution(workflow_execution("release-notes")).metadata.id,
    ]

    assert _ids(backend, ExecutionQuery()) == made[::-1]
    assert _ids(backend, ExecutionQuery(kind="AgentExecution")) == [made[2], made[0]]
    assert _ids(backend, ExecutionQuery(kind="WorkflowExecution")) == [made[3], made[1]]


def test_only_execution_kinds_can_be_listed_as_executions(backend: Backend) -> None:
    with pytest.raises(InvalidArgument):
        backend.list_executions(ExecutionQuery(kind="Agent"))


def test_executions_filter_by_phase(backend: Backend, bot: str) -> None:
    first = backend.create_execution(agent_execution(bot))
    second = backend.create_execution(workflow_execution("release-notes"))
    running = _moved(backend, first, RUNNING)

    assert _ids(backend, ExecutionQuery(phase=RUNNING)) == [running.metadata.id]
    assert _ids(backend, ExecutionQuery(phase=PENDING)) == [second.metadata.id]
    assert _ids(backend, ExecutionQuery(phase=COMPLETED)) == []


def test_executions_filter_by_parent_execution(backend: Backend, bot: str) -> None:
    parent = backend.create_execution(workflow_execution("release-notes"))
    child_agent = backend.create_execution(agent_execution(bot, parent_execution_id=parent.metadata.id))
    child_workflow = backend.create_execution(
        workflow_execution("release-notes", parent_execution_id=parent.metadata.id)
    )
    backend.create_execution(agent_execution(bot))

    children = _ids(backend, ExecutionQuery(parent_execution_id=parent.metadata.id))

    assert children == [child_workflow.metadata.id, child_agent.metadata.id]


def test_executions_filter_by_definition_and_session(backend: Backend, bot: str) -> None:
    backend.apply([agent("other")])
    mine = backend.create_execution(agent_execution(bot, session="support-42"))
    backend.create_execution(agent_execution("other"))
    backend.create_execution(workflow_execution("release-notes"))

    assert _ids(backend, ExecutionQuery(definition="bot")) == [mine.metadata.id]
    assert _ids(backend, ExecutionQuery(session="support-42")) == [mine.metadata.id]
    assert len(_ids(backend, ExecutionQuery(definition="release-notes"))) == 1


def test_executions_filter_by_labels(backend: Backend, bot: str) -> None:
    nightly = backend.create_execution(agent_execution(bot, labels={"trigger": "nightly"}))
    backend.create_execution(agent_execution(bot, labels={"trigger": "manual"}))

    assert _ids(backend, ExecutionQuery(labels={"trigger": "nightly"})) == [nightly.metadata.id]


def test_execution_pages_merge_both_kinds_without_gaps(backend: Backend, bot: str) -> None:
    made: list[str] = []
    for i in range(13):
        request: Execution = agent_execution(bot) if i % 3 else workflow_execution("release-notes")
        made.append(backend.create_execution(request).metadata.id)

    pages: list[list[str]] = []
    token = ""
    while True:
        page = backend.list_executions(ExecutionQuery(page_size=5, page_token=token))
        pages.append([e.metadata.id for e in page.items])
        if not (token := page.next_page_token):
            break

    assert [len(p) for p in pages] == [5, 5, 3]
    assert [i for p in pages for i in p] == made[::-1]


def test_an_execution_token_only_continues_its_own_listing(backend: Backend, bot: str) -> None:
    for _ in range(3):
        backend.create_execution(agent_execution(bot))
    token = backend.list_executions(ExecutionQuery(page_size=1)).next_page_token

    with pytest.raises(InvalidArgument):
        backend.list_executions(ExecutionQuery(page_size=1, page_token=token, phase=PENDING))
    with pytest.raises(InvalidArgument):
        backend.list_executions(ExecutionQuery(page_size=1, page_token=token, kind="WorkflowExecution"))
    with pytest.raises(InvalidArgument):
        backend.list_executions(ExecutionQuery(page_token="garbage"))


def test_the_context_is_only_for_a_running_execution(backend: Backend, bot: str) -> None:
    backend.apply([environment("prod", variables={"REGION": "eu-west-1", "TIER": "gold"})])
    created = backend.create_execution(agent_execution(bot, environment="prod"))

    with pytest.raises(Conflict, match="PENDING"):
        backend.get_execution_context(created.metadata.id)

    running = _moved(backend, created, RUNNING)
    context = backend.get_execution_context(running.metadata.id)

    assert context.spec.execution_id == running.metadata.id
    assert context.spec.environment == "prod"
    assert dict(context.spec.variables) == {"REGION": "eu-west-1", "TIER": "gold"}
    assert dict(context.spec.secrets) == {}

    _moved(backend, running, COMPLETED)
    with pytest.raises(Conflict, match="COMPLETED"):
        backend.get_execution_context(running.metadata.id)


def test_the_context_of_a_workflow_execution_has_its_environment(backend: Backend, bot: str) -> None:
    backend.apply([environment("staging", variables={"REGION": "us-east-1"})])
    created = backend.create_execution(workflow_execution("release-notes", environment="staging"))
    created.status.phase = RUNNING
    running = backend.update_execution_status(created)

    assert dict(backend.get_execution_context(running.metadata.id).spec.variables) == {"REGION": "us-east-1"}


def test_a_running_execution_without_an_environment_has_an_empty_context(backend: Backend, bot: str) -> None:
    running = _moved(backend, backend.create_execution(agent_execution(bot)), RUNNING)

    context = backend.get_execution_context(running.metadata.id)

    assert (context.spec.execution_id, context.spec.environment) == (running.metadata.id, "")
    assert dict(context.spec.variables) == {}


def test_a_missing_environment_is_named_when_the_context_is_read(backend: Backend, bot: str) -> None:
    running = _moved(backend, backend.create_execution(agent_execution(bot, environment="prod")), RUNNING)

    with pytest.raises(NotFound, match="prod"):
        backend.get_execution_context(running.metadata.id)
