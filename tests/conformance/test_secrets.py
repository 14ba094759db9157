"""Environment secrets through the Backend protocol: masked on every read, revealed only on
request, unsealed only for a running execution, kept by ****, re-sealed by a rotation."""

from __future__ import annotations

import pytest

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.environment.v1.environment_pb2 import Environment
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.backend.protocol import Backend
from stigmer.errors import Conflict, NotFound
from stigmer.resources.codec import to_dict
from tests.builders import agent, agent_execution, agent_instance, counts, environment

TOKEN = "ghp_live-0123456789abcdef"
WORKER = "tests:1:secrets"


@pytest.fixture
def prod(backend: Backend) -> Environment:
    return backend.create(environment("prod", variables={"REGION": "eu-west-1"}, secrets={"TOKEN": TOKEN}))


def _shown(backend: Backend) -> str:
    """Everything reads show about environments and their history."""
    listed = [to_dict(e) for e in backend.list(Environment).items]
    history = [to_dict(v) for v in backend.history(Environment, "prod")]
    return repr([listed, to_dict(backend.get(Environment, "prod")), history])


def test_reads_show_names_and_masks_and_reveal_shows_the_value(backend: Backend, prod: Environment) -> None:
    assert dict(prod.spec.secrets) == {"TOKEN": "****"}
    assert dict(backend.get(Environment, "prod").spec.secrets) == {"TOKEN": "****"}
    [outcome] = backend.apply(
        [environment("prod", variables={"REGION": "eu-west-1"}, secrets={"TOKEN": TOKEN})]
    )
    assert isinstance(outcome.resource, Environment)
    assert (outcome.action, dict(outcome.resource.spec.secrets)) == ("unchanged", {"TOKEN": "****"})
    assert TOKEN not in _shown(backend)
    assert "'TOKEN': '****'" in _shown(backend)

    assert backend.reveal_secret("prod", "TOKEN") == TOKEN
    assert backend.reveal_secret(prod.metadata.id, "TOKEN") == TOKEN


def test_reveal_names_what_is_missing(backend: Backend, prod: Environment) -> None:
    with pytest.raises(NotFound, match="environment 'prod' has no secret 'NOPE'") as err:
        backend.reveal_secret("prod", "NOPE")
    assert "TOKEN" in err.value.hint
    with pytest.raises(NotFound, match="'staging' not found"):
        backend.reveal_secret("staging", "TOKEN")


def test_a_masked_value_keeps_the_stored_secret_so_get_edit_update_round_trips(
    backend: Backend, prod: Environment
) -> None:
    shown = backend.get(Environment, "prod")
    shown.spec.variables["TIER"] = "gold"
    updated = backend.update(shown)

    assert updated.metadata.version == 2
    assert dict(updated.spec.variables) == {"REGION": "eu-west-1", "TIER": "gold"}
    assert backend.reveal_secret("prod", "TOKEN") == TOKEN

    # The same through apply, as `get -o yaml | edit | apply -f -` does.
    edited = backend.get(Environment, "prod")
    edited.spec.secrets["EXTRA"] = "another-s3cret"
    [outcome] = backend.apply([edited])
    assert outcome.action == "configured"
    assert (backend.reveal_secret("prod", "TOKEN"), backend.reveal_secret("prod", "EXTRA")) == (
        TOKEN,
        "another-s3cret",
    )


def test_applying_the_same_plaintext_is_unchanged_and_a_new_one_is_sealed(
    backend: Backend, prod: Environment
) -> None:
    same = environment("prod", variables={"REGION": "eu-west-1"}, secrets={"TOKEN": TOKEN})
    assert backend.apply([same])[0].action == "unchanged"
    assert backend.get(Environment, "prod").metadata.version == 1

    rotated = environment("prod", variables={"REGION": "eu-west-1"}, secrets={"TOKEN": "ghp_rotated-value"})
    assert backend.apply([rotated])[0].action == "configured"
    assert backend.reveal_secret("prod", "TOKEN") == "ghp_rotated-value"

    # Leaving a secret out of a full apply removes it, as for any other field.
    backend.apply([environment("prod", variables={"REGION": "eu-west-1"})])
    assert dict(backend.get(Environment, "prod").spec.secrets) == {}


def test_rollback_restores_an_earlier_secret(backend: Backend, prod: Environment) -> None:
    backend.apply([environment("prod", variables={"REGION": "eu-west-1"}, secrets={"TOKEN": "second"})])

    restored = backend.rollback(Environment, "prod", 1)

    assert dict(restored.spec.secrets) == {"TOKEN": "****"}
    assert backend.reveal_secret("prod", "TOKEN") == TOKEN


def _claimed(backend: Backend, execution_id: str) -> AgentExecution:
    claimed = backend.claim_execution(WORKER, execution_id=execution_id)
    assert isinstance(claimed, AgentExecution)
    return claimed


def test_the_context_unseals_secrets_only_while_the_execution_runs_and_goes_when_it_ends(
    backend: Backend, prod: Environment
) -> None:
    backend.apply([agent("bot")])
    created = backend.create_execution(agent_execution("bot", environment="prod"))
    with pytest.raises(Conflict, match="PENDING"):
        backend.get_execution_context(created.metadata.id)

    running = _claimed(backend, created.metadata.id)
    context = backend.get_execution_context(running.metadata.id, worker_id=WORKER)

    assert (context.spec.environment, dict(context.spec.variables)) == ("prod", {"REGION": "eu-west-1"})
    assert dict(context.spec.secrets) == {"TOKEN": TOKEN}
    # The stored context is a resource like any other: its reads are masked too.
    [stored] = backend.list(ExecutionContext).items
    assert (stored.spec.execution_id, dict(stored.spec.secrets)) == (running.metadata.id, {"TOKEN": "****"})
    with pytest.raises(Conflict, match="no longer holds the lease"):
        backend.get_execution_context(running.metadata.id, worker_id="someone:else:1")

    running.status.phase = ExecutionPhase.COMPLETED
    backend.update_execution_status(running, worker_id=WORKER)

    with pytest.raises(Conflict, match="COMPLETED"):
        backend.get_execution_context(running.metadata.id)
    assert counts(backend)["ExecutionContext"] == 0


def test_a_cancelled_or_failed_run_leaves_no_context(backend: Backend, prod: Environment) -> None:
    backend.apply([agent("bot")])
    pending = backend.create_execution(agent_execution("bot", environment="prod"))
    backend.cancel_execution(pending.metadata.id)
    running = _claimed(
        backend, backend.create_execution(agent_execution("bot", environment="prod")).metadata.id
    )
    assert counts(backend)["ExecutionContext"] == 1

    running.status.phase = ExecutionPhase.FAILED
    backend.update_execution_status(running, worker_id=WORKER)

    assert counts(backend)["ExecutionContext"] == 0


def test_an_execution_runs_with_its_instance_environment(backend: Backend, prod: Environment) -> None:
    backend.apply([agent("bot"), agent_instance("bot-prod", "bot", environment="prod")])
    # The default instance (named after the agent) may name one too.
    backend.apply([agent_instance("bot", "bot", environment="prod")])

    by_instance = backend.create_execution(agent_execution("bot", agentInstance="bot-prod"))
    by_default = backend.create_execution(agent_execution("bot"))
    explicit = backend.create_execution(agent_execution("bot", environment="other"))

    assert by_instance.spec.environment == by_default.spec.environment == "prod"
    assert explicit.spec.environment == "other"
    running = _claimed(backend, by_default.metadata.id)
    assert dict(backend.get_execution_context(running.metadata.id).spec.secrets) == {"TOKEN": TOKEN}


def test_rotation_reseals_everything_and_every_secret_still_opens(
    backend: Backend, prod: Environment
) -> None:
    backend.create(environment("staging", secrets={"A": "alpha-value", "B": "bravo-value"}))
    backend.apply([environment("prod", variables={"REGION": "eu-west-1"}, secrets={"TOKEN": "second"})])
    backend.apply([agent("bot")])
    running = _claimed(
        backend, backend.create_execution(agent_execution("bot", environment="prod")).metadata.id
    )

    assert backend.rotate_master_key() == 3
    assert backend.rotate_master_key() == 3

    assert [backend.reveal_secret("staging", k) for k in ("A", "B")] == ["alpha-value", "bravo-value"]
    assert dict(backend.get_execution_context(running.metadata.id).spec.secrets) == {"TOKEN": "second"}
    # History was re-sealed too: an old version still opens after a rollback.
    backend.rollback(Environment, "prod", 1)
    assert backend.reveal_secret("prod", "TOKEN") == TOKEN
    versions: list[ApiResourceVersion] = backend.history(Environment, "prod")
    assert [to_dict(v.spec)["snapshot"]["spec"]["secrets"]["TOKEN"] for v in versions] == ["****"] * 3


def test_import_seals_plaintext_keeps_masked_values_it_has_and_drops_those_it_has_not(
    backend: Backend, prod: Environment
) -> None:
    exported = backend.get(Environment, "prod")
    exported.spec.secrets["NEW"] = "new-plaintext"
    exported.spec.secrets["LOST"] = "****"

    assert backend.import_resources([exported]) == 1

    restored = backend.get(Environment, "prod")
    assert sorted(restored.spec.secrets) == ["NEW", "TOKEN"]
    assert (backend.reveal_secret("prod", "TOKEN"), backend.reveal_secret("prod", "NEW")) == (
        TOKEN,
        "new-plaintext",
    )
