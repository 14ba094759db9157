"""The Backend protocol: the one interface the CLI, the SDK and the server talk to.

It mirrors ``stigmer.backend.v1.BackendService`` and is the union of three parts:
:class:`Resources` (declarative resources), :class:`Executions` (what users do with runs) and
:class:`RunJournal` (what runners and engines need: claims, leases, steps, context). The
reads both sides need are small protocols of their own (:class:`ResourceReads`,
:class:`ExecutionReads`, :class:`ChildRuns`). LocalBackend implements it on SQLite;
RemoteBackend over gRPC; one conformance suite holds both to it.
"""

from __future__ import annotations

import builtins
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.backend.v1.backend_pb2 import (
    Artifact,
    BackendInfo,
    ExecutionEvent,
    ExecutionStep,
    PruneResult,
)
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.resources.kinds import Execution, Resource

R = TypeVar("R", bound=Resource)
E = TypeVar("E", bound=Execution)
T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass
class Page(Generic[T]):
    """One page of a listing; pass ``next_page_token`` back for the next, "" means the end."""

    items: list[T]
    next_page_token: str = ""


@dataclass
class ApplyOutcome:
    """What apply did to one resource: "created", "configured" or "unchanged"."""

    resource: Resource
    action: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class ExecutionQuery:
    """Filters for listing executions; empty fields do not filter."""

    kind: str = ""
    phase: ExecutionPhase.ValueType = ExecutionPhase.EXECUTION_PHASE_UNSPECIFIED
    parent_execution_id: str = ""
    session: str = ""
    definition: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    page_size: int = DEFAULT_PAGE_SIZE
    page_token: str = ""


class ResourceReads(Protocol):
    """The reads of definitions that running needs too: one resource, and its history (a run
    pinned to a version reads the definition as it was).
    """

    def get(self, kind: type[R], ref: str) -> R:
        """One resource, with its references resolved in status; NotFound otherwise."""
        ...

    def history(self, kind: type[Resource], ref: str) -> builtins.list[ApiResourceVersion]:
        """Every version of a resource, oldest first (deleted resources by name)."""
        ...


class Resources(ResourceReads, Protocol):
    """Declarative resources: CRUD, history, rollback, export/import, secrets, and what the backend is.

    ``ref`` arguments accept a resource's id, its name or its slug.
    """

    def create(self, resource: R) -> R:
        """Create a resource; AlreadyExists when the name is taken."""
        ...

    def update(self, resource: R) -> R:
        """Replace a resource whose ``metadata.version`` is the stored one; Conflict if stale."""
        ...

    def apply(self, resources: Sequence[Resource], *, dry_run: bool = False) -> builtins.list[ApplyOutcome]:
        """Create or update each resource by kind and name, all or nothing."""
        ...

    def delete(self, kind: type[R], ref: str) -> R:
        """Delete a resource and return it as it was."""
        ...

    def list(
        self,
        kind: type[R],
        *,
        labels: dict[str, str] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str = "",
    ) -> Page[R]:
        """One page of a kind, by name; ``labels`` must all match."""
        ...

    def rollback(self, kind: type[R], ref: str, version: int) -> R:
        """Write a new version equal to an old one."""
        ...

    def import_resources(self, resources: Sequence[Resource]) -> int:
        """Restore resources exactly (ids, versions, times, status), all or nothing."""
        ...

    def reveal_secret(self, environment: str, key: str) -> str:
        """One secret of an Environment, in plaintext; NotFound when it has no such secret,
        SecretError when it cannot be opened (missing key, altered ciphertext)."""
        ...

    def rotate_master_key(self) -> int:
        """Re-seal every secret with a new master key in one transaction; how many were re-sealed.

        A crash at any point leaves each secret readable with the old key or the new one.
        """
        ...

    def save_mcp_sign_in(self, server: str, credentials: str) -> None:
        """Store an McpServer's OAuth credentials (JSON), sealed; replaces any earlier sign-in."""
        ...

    def delete_mcp_sign_in(self, server: str) -> bool:
        """Forget an McpServer's OAuth credentials; whether there were any."""
        ...

    def info(self) -> BackendInfo:
        """What this backend is: type, version, database, schema version, counts per kind."""
        ...


class ExecutionReads(Protocol):
    """Reading executions: one by id, a filtered listing (child runs by parent), its steps."""

    def get_execution(self, execution_id: str) -> Execution:
        """An agent or workflow execution by id."""
        ...

    def list_executions(self, query: ExecutionQuery) -> Page[Execution]:
        """Executions, newest first."""
        ...

    def list_steps(self, execution_id: str, *, after: int = 0) -> builtins.list[ExecutionStep]:
        """An execution's steps after ``after``, in order."""
        ...


class ChildRuns(Protocol):
    """Starting and cancelling runs: users do it, and so does a run that starts a child."""

    def create_execution(self, execution: E) -> E:
        """Record a new execution as PENDING."""
        ...

    def cancel_execution(self, execution_id: str) -> Execution:
        """Cancel a pending execution now, or ask a running one to stop (one held by an engine is
        queued again under its lease, so that the engine learns of it)."""
        ...


class Executions(ExecutionReads, ChildRuns, Protocol):
    """What users do with executions: create, read, cancel, approve, watch, prune."""

    def watch_execution(
        self, execution_id: str, *, after_sequence: int = 0
    ) -> Generator[ExecutionEvent, None, None]:
        """An execution's steps and phase changes as they happen, in order, until it is finished.

        Each event has a sequence computed from the stored record (see
        :mod:`stigmer.backend.watch`): pass the last one seen as ``after_sequence`` to resume.
        """
        ...

    def resolve_approval(self, execution_id: str, *, approved: bool, reason: str = "") -> Execution:
        """Decide the approval an execution waits for (a tool call, a workflow task, or an MCP
        server's sampling request); a parked run is queued to continue."""
        ...

    def respond(
        self, execution_id: str, *, action: str = "accept", content: dict[str, Any] | None = None
    ) -> Execution:
        """Answer what an MCP server asked a person during one of the run's tool calls.

        Args:
            execution_id: The run (or a workflow run whose agent task's run waits).
            action: ``accept`` (with ``content``), ``decline`` or ``cancel``.
            content: The answer's fields; text is read as the requested schema's types, and
                fields left out take the schema's defaults.

        Raises:
            InvalidArgument: The answer does not fit the request (nothing is recorded).
            Conflict: Nothing of the kind waits.
        """
        ...

    def prune_executions(
        self, older_than_seconds: int, *, kind: str = "", dry_run: bool = False
    ) -> PruneResult:
        """Delete finished executions last written more than ``older_than_seconds`` ago.

        A run goes together with its durable steps, artifacts, execution context, history and
        child runs (any depth); a child run goes only with its parent. A run of which any
        child has not finished (running, waiting, queued) stays, and so do its children. The
        work is done in batches of one transaction each, so a long prune never holds the store
        for long and an interruption leaves every batch deleted whole or not at all.

        Args:
            older_than_seconds: How old a finished run must be; positive.
            kind: "AgentExecution" or "WorkflowExecution" to prune only top-level runs of that
                kind (their children go with them); empty for both.
            dry_run: Count what would go; delete nothing.

        Returns:
            What went (or would go): counts per kind, ids, steps, artifacts and the cutoff.

        Raises:
            InvalidArgument: ``older_than_seconds`` is not positive, or ``kind`` is not an
                execution kind.
        """
        ...


class RunJournal(ResourceReads, ExecutionReads, ChildRuns, Protocol):
    """What runners and engines need, and nothing else: claims, leases, status updates, durable
    steps, the execution context and artifacts, plus the reads of definitions and child runs.
    """

    def claim_execution(
        self, worker_id: str, *, kinds: Sequence[str] = (), lease_seconds: int = 30, execution_id: str = ""
    ) -> Execution | None:
        """Take the lease of a runnable execution (the oldest, or ``execution_id``) and mark it RUNNING.

        Without ``execution_id`` only top-level runs are taken (a child run is claimed by the run
        that started it), including a run this worker holds that was queued again. A worker id
        ``engine:NAME`` with ``lease_seconds`` :data:`~stigmer.store.leases.ENGINE_LEASE_SECONDS`
        holds a run until it ends (see :mod:`stigmer.store.leases`).
        """
        ...

    def renew_lease(self, execution_id: str, worker_id: str, *, lease_seconds: int = 30) -> bool:
        """Extend a lease; False when the worker no longer holds it."""
        ...

    def count_queued(self) -> dict[str, int]:
        """How many top-level runs wait for a worker now, by kind ("agent", "workflow"): the
        queue's depth (runs that are queued, or whose worker's lease ran out). One cheap read."""
        ...

    def release_execution(self, execution_id: str, worker_id: str) -> None:
        """Give a lease back (the execution stays in its phase)."""
        ...

    def update_execution_status(self, execution: E, *, expected_version: int = 0, worker_id: str = "") -> E:
        """Replace an execution's status; Conflict once it is finished, when stale, or when
        ``worker_id`` is given and no longer holds the lease (a lease ends with the run)."""
        ...

    def record_step(self, step: ExecutionStep, *, worker_id: str = "") -> ExecutionStep:
        """Write a durable step (or complete a waiting one); Conflict if ``worker_id`` lost its lease.

        ``step.step`` 0 appends the step after the last one (writers that run the tasks of one
        execution in several processes); the returned step carries its number.
        """
        ...

    def get_execution_context(self, execution_id: str, *, worker_id: str = "") -> ExecutionContext:
        """What a RUNNING execution may read, its environment's secrets unsealed; Conflict for any
        other phase, or when ``worker_id`` is given and does not hold the lease. The stored
        context never holds plaintext, and is deleted when the execution ends."""
        ...

    def read_mcp_sign_in(self, server: str, *, execution_id: str = "", worker_id: str = "") -> str:
        """An McpServer's OAuth credentials as JSON ("" when nobody signed in); with
        ``execution_id``, only while that execution runs (held by ``worker_id`` when given)."""
        ...

    def refresh_mcp_sign_in(
        self, server: str, credentials: str, *, execution_id: str = "", worker_id: str = ""
    ) -> None:
        """Store credentials a run refreshed or obtained (checked as for :meth:`read_mcp_sign_in`)."""
        ...

    def store_artifact(
        self, data: bytes, *, name: str, content_type: str = "", execution_id: str = ""
    ) -> Artifact:
        """Store a blob and return its record (with its SHA-256)."""
        ...

    def get_artifact(self, artifact_id: str) -> Artifact:
        """A stored blob by id."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class Backend(Resources, Executions, RunJournal, Protocol):
    """Resources, their history, executions and artifacts, wherever they are stored: every part.

    Errors are the typed exceptions of :mod:`stigmer.errors`. See docs/architecture.md,
    "The Backend parts".
    """

    def close(self) -> None:
        """Release connections."""
        ...


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "ApplyOutcome",
    "Backend",
    "ChildRuns",
    "ExecutionQuery",
    "ExecutionReads",
    "Executions",
    "Page",
    "ResourceReads",
    "Resources",
    "RunJournal",
]
