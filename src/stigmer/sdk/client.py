"""The typed client: resources, executions and approvals, on any backend.

``Client()`` uses the backend the home's config selects (this machine's store by default,
or the server of `stigmer login`); ``Client(url=…, token=…)`` a `stigmer server`. Every
call goes to the Backend protocol, and errors are the typed exceptions of
:mod:`stigmer.errors`: what the backend raised (NotFound, AlreadyExists, Conflict,
InvalidArgument with its ``field``, …), plus ExecutionFailed for a run that failed.

Example:
    >>> from stigmer.sdk.client import Client
    >>> with Client() as client:  # doctest: +SKIP
    ...     client.agents.apply({"metadata": {"name": "bot"}, "spec": {"model": "scripted"}})
    ...     run = client.agents.execute("bot", "hello")
    ...     print(run.status.output)
    echo: hello
"""

from __future__ import annotations

import builtins
import weakref
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.backend.v1.backend_pb2 import BackendInfo, ExecutionStep
from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.protocol import DEFAULT_PAGE_SIZE, ApplyOutcome, Backend, ExecutionQuery
from stigmer.errors import StigmerError
from stigmer.resources.kinds import Execution, Resource
from stigmer.sdk import runs
from stigmer.sdk.aio import (
    AgentRuns,
    AsyncAgentClient,
    AsyncClient,
    AsyncExecutionClient,
    AsyncResourceClient,
    AsyncWorkflowClient,
    ExecutionRuns,
    Start,
    WorkflowRuns,
    _Opened,
    _Opens,
    check_stream,
    execution_query,
    open_server,
)
from stigmer.sdk.events import ExecutionStream
from stigmer.sdk.resources import ResourceLike

R = TypeVar("R", bound=Resource)
E = TypeVar("E", bound=Execution)
T = TypeVar("T")


class Client(_Opens):
    """Stigmer, from Python: resources, executions and approvals.

    Args:
        home: The Stigmer home whose configured backend to use (default ``$STIGMER_HOME``,
            else ``~/.stigmer``); its database is created on first use, as the CLI does.
        url: Use the `stigmer server` at this URL instead (see :func:`open_server`).
        token: The server's API key (with ``url``).
        backend: Use this Backend as it is (tests, embedding); it stays open on :meth:`close`.
        default_model: The model of agents that name none, for runs in this process
            (default: ``model`` in the home's config.yaml).
        ca_cert: PEM of the CA of the server's certificate (with ``url``).
        run_here: Run executions in this process, as a worker would. By default only for
            the local backend, as `stigmer agent execute` does; a run on a server is run by
            the server's worker and followed from here.

    A Client is used from one thread at a time (use :class:`~stigmer.sdk.aio.AsyncClient`
    in asyncio programs).

    Attributes:
        agents, workflows, skills, mcp_servers, environments, sessions, agent_instances,
        workflow_instances: One typed :class:`ResourceClient` per kind.
        executions: Runs: get, list, approve, reject, cancel, resume, retry, steps.
        runs_here: Whether runs are run in this process (the local backend).
    """

    def _setup(self, opened: _Opened) -> None:
        self._async = AsyncClient._blocking(opened)
        self._loop: runs.PrivateLoop | None = None
        self.agents = AgentClient(self, self._async.agents)
        self.workflows = WorkflowClient(self, self._async.workflows)
        self.skills = ResourceClient(self, self._async.skills)
        self.mcp_servers = ResourceClient(self, self._async.mcp_servers)
        self.environments = ResourceClient(self, self._async.environments)
        self.sessions = ResourceClient(self, self._async.sessions)
        self.agent_instances = ResourceClient(self, self._async.agent_instances)
        self.workflow_instances = ResourceClient(self, self._async.workflow_instances)
        self.executions = ExecutionClient(self, self._async.executions)

    @property
    def home(self) -> Path | None:
        """The Stigmer home whose configured backend this client uses (None for a URL or a
        backend passed in)."""
        return self._async.home

    @property
    def backend(self) -> Backend:
        """The Backend every call goes to."""
        return self._async.backend

    @property
    def default_model(self) -> str:
        """The model of agents that name none, for runs in this process."""
        return self._async.default_model

    @default_model.setter
    def default_model(self, model: str) -> None:
        self._async.default_model = model

    @property
    def runs_here(self) -> bool:
        """Whether runs are run in this process (the local backend)."""
        return self._async.runs_here

    @runs_here.setter
    def runs_here(self, here: bool) -> None:
        self._async.runs_here = here

    def apply(
        self, *resources: ResourceLike | builtins.list[Any], dry_run: bool = False
    ) -> builtins.list[ApplyOutcome]:
        """Create or update resources of any kinds, all or nothing.

        Args:
            resources: Messages, authoring objects or file-form dicts (lists are flattened).
            dry_run: Validate and report what would change; write nothing.

        Returns:
            Per resource: the stored resource, "created", "configured" or "unchanged", and
            warnings (a reference to something that does not exist yet).

        Raises:
            InvalidArgument: A resource is malformed; nothing was written.
        """
        return self._run(self._async.apply(*resources, dry_run=dry_run))

    def info(self) -> BackendInfo:
        """What the backend is: type, version, database, counts per kind."""
        return self._run(self._async.info())

    def close(self) -> None:
        """Close the backend this client opened (one passed in stays open)."""
        try:
            self._run(self._async.close())
        finally:
            if self._loop is not None:
                self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- seeing runs through ---------------------------------------------------------------

    def _private_loop(self) -> runs.PrivateLoop:
        if self._loop is None:
            self._loop = runs.PrivateLoop()
            # A client dropped without close() must not leave an open event loop behind.
            weakref.finalize(self, self._loop.close)
        return self._loop

    def _run(self, call: Awaitable[T]) -> T:
        """The result of a call of the implementation that waits for nothing but the backend
        (whose calls it makes in this thread): no event loop needed."""
        return runs.complete_now(call)

    def _iterate(self, items: AsyncIterator[T]) -> Iterator[T]:
        """An async iterator of the implementation, consumed item by item (see :meth:`_run`)."""
        while True:
            try:
                item = self._run(anext(items))
            except StopAsyncIteration:
                return
            yield item

    def _see_through(
        self, start: Start[E], *, wait: bool, stream: bool, check: bool
    ) -> E | ExecutionStream[E]:
        if not wait and not stream:
            return self._run(start())[0]
        if not stream:
            return self._private_loop().run(self._async._wait(start, wait=wait, check=check))
        check_stream(wait)
        return self._stream(start, check=check)

    def _stream(self, start: Start[E], *, check: bool, follow_only: bool = False) -> ExecutionStream[E]:
        if self.runs_here and not follow_only and runs.in_event_loop():
            raise StigmerError(
                "a stream runs the execution on an event loop of its own; this thread runs one already",
                hint="in asyncio code use stigmer.sdk.aio.AsyncClient: async for event in …",
            )
        created, after = self._run(start())
        final: builtins.list[Execution] = []
        events = self._async._events(created.metadata.id, final, after=after, follow_only=follow_only)
        return ExecutionStream(created, runs.drive_sync(self._private_loop(), events, final), check=check)


class ResourceClient(Generic[R]):
    """The resources of one kind.

    ``name`` arguments accept a resource's name, slug or id.
    """

    def __init__(self, client: Client, implementation: AsyncResourceClient[R]) -> None:
        self._client = client
        self._async = implementation
        self.kind = implementation.kind

    @property
    def _starts(self) -> Any:
        return self._async

    def _see(self, start: Start[Any], *, wait: bool, stream: bool, check: bool) -> Any:
        return self._client._see_through(start, wait=wait, stream=stream, check=check)

    def _done(self, call: Coroutine[Any, Any, T]) -> Any:
        return self._client._run(call)

    def apply(
        self, *resources: ResourceLike | builtins.list[Any], dry_run: bool = False
    ) -> builtins.list[ApplyOutcome]:
        """Create or update resources of this kind by name, all or nothing.

        Args:
            resources: Messages, authoring objects, or dicts in file form (``kind`` and
                ``apiVersion`` may be left out); lists are flattened.
            dry_run: Validate and report what would change; write nothing.

        Raises:
            InvalidArgument: A resource is malformed or of another kind; nothing was written.
        """
        return self._client._run(self._async.apply(*resources, dry_run=dry_run))

    def create(self, resource: ResourceLike) -> R:
        """Create one resource.

        Raises:
            AlreadyExists: The name is taken.
        """
        return self._client._run(self._async.create(resource))

    def update(self, resource: ResourceLike) -> R:
        """Replace a resource read before (its ``metadata.version`` is checked).

        Raises:
            Conflict: It changed since it was read.
            NotFound: It does not exist.
        """
        return self._client._run(self._async.update(resource))

    def get(self, name: str) -> R:
        """One resource.

        Raises:
            NotFound: There is none by that name.
        """
        return self._client._run(self._async.get(name))

    def list(self, *, labels: Mapping[str, str] | None = None) -> builtins.list[R]:
        """Every resource of this kind (with all these ``labels``), by name."""
        return self._client._run(self._async.list(labels=labels))

    def iter(
        self, *, labels: Mapping[str, str] | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[R]:
        """The resources of this kind, by name, read a page at a time as they are consumed."""
        return self._client._iterate(self._async.iter(labels=labels, page_size=page_size))

    def delete(self, name: str) -> R:
        """Delete a resource (a definition takes its default instance along); it as it was.

        Raises:
            NotFound: There is none by that name.
        """
        return self._client._run(self._async.delete(name))

    def history(self, name: str) -> builtins.list[ApiResourceVersion]:
        """Every version of a resource, oldest first (a deleted one's too)."""
        return self._client._run(self._async.history(name))

    def rollback(self, name: str, version: int) -> R:
        """Write a new version of a resource equal to an old one."""
        return self._client._run(self._async.rollback(name, version))


class AgentClient(ResourceClient[Agent], AgentRuns[AgentExecution, ExecutionStream[AgentExecution]]):
    """Agents, and running them."""

    _async: AsyncAgentClient


class WorkflowClient(
    ResourceClient[Workflow], WorkflowRuns[WorkflowExecution, ExecutionStream[WorkflowExecution]]
):
    """Workflows, and running them."""

    _async: AsyncWorkflowClient


class ExecutionClient(
    ExecutionRuns[
        Execution,
        ExecutionStream[Execution],
        builtins.list[Execution],
    ]
):
    """Agent and workflow runs: read them, decide their approvals, stop, resume and retry them."""

    def __init__(self, client: Client, implementation: AsyncExecutionClient) -> None:
        self._client = client
        self._async = implementation

    @property
    def _starts(self) -> AsyncExecutionClient:
        return self._async

    def _see(self, start: Start[Any], *, wait: bool, stream: bool, check: bool) -> Any:
        return self._client._see_through(start, wait=wait, stream=stream, check=check)

    def _done(self, call: Coroutine[Any, Any, T]) -> Any:
        return self._client._run(call)

    def get(self, execution_id: str) -> Execution:
        """One run (an AgentExecution or a WorkflowExecution).

        Raises:
            NotFound: There is no such run.
        """
        return self._client._run(self._async.get(execution_id))

    def iter(self, *, query: ExecutionQuery | None = None) -> Iterator[Execution]:
        """Runs matching ``query`` (see :func:`execution_query`), newest first, a page at a time."""
        return self._client._iterate(self._async.iter(query=query))

    def steps(self, execution_id: str, *, after: int = 0) -> builtins.list[ExecutionStep]:
        """A run's durable steps after step ``after``, in order: model turns, tool calls,
        approvals, task starts and ends."""
        return self._client._run(self._async.steps(execution_id, after=after))

    def cancel(self, execution_id: str) -> Execution:
        """Cancel a run: at once when it is pending or waiting, else at its next step.

        Raises:
            Conflict: It has finished.
        """
        return self._client._run(self._async.cancel(execution_id))

    def follow(
        self, execution_id: str, *, after_sequence: int = 0, check: bool = True
    ) -> ExecutionStream[Execution]:
        """The events of a run that something else runs (a worker, a server, another program),
        until it is finished or waits for a person; nothing is run here."""
        return self._client._stream(
            self._async._follower(execution_id, after_sequence), check=check, follow_only=True
        )


__all__ = [
    "AgentClient",
    "Client",
    "ExecutionClient",
    "ResourceClient",
    "WorkflowClient",
    "execution_query",
    "open_server",
]
