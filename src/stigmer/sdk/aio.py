"""The client for asyncio programs: the surface of :class:`~stigmer.sdk.client.Client`, awaited.

Backend calls run in threads (``asyncio.to_thread``), so a slow server never blocks the
event loop; a run of the local backend runs on the caller's event loop, as a worker's
would. Calls to a local backend are serialised (its SQLite connection is used by one
thread at a time), so one AsyncClient may serve many tasks at once.

Example:
    >>> from stigmer.sdk.aio import AsyncClient
    >>> async def main() -> None:  # doctest: +SKIP
    ...     async with AsyncClient() as client:
    ...         run = await client.agents.execute("support-bot", "Where is A-1?")
    ...         async for event in client.agents.execute("support-bot", "And B-2?", stream=True):
    ...             print(event)
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Generator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Literal, ParamSpec, TypeVar, cast, overload

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.agentinstance.v1.agentinstance_pb2 import AgentInstance
from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.backend.v1.backend_pb2 import BackendInfo, ExecutionEvent, ExecutionStep
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.environment.v1.environment_pb2 import Environment
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.api.session.v1.session_pb2 import Session
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.api.workflowinstance.v1.workflowinstance_pb2 import WorkflowInstance
from stigmer.backend.protocol import DEFAULT_PAGE_SIZE, ApplyOutcome, Backend, ExecutionQuery
from stigmer.errors import InvalidArgument, StigmerError
from stigmer.resources.kinds import Execution, Resource
from stigmer.sdk import runs
from stigmer.sdk.client import Client, ResourceClient, execution_query
from stigmer.sdk.events import Event
from stigmer.sdk.resources import ResourceLike

R = TypeVar("R", bound=Resource)
E = TypeVar("E", bound=Execution)
T = TypeVar("T")
P = ParamSpec("P")


class _Serialized:
    """A backend whose calls, from whatever thread, run one at a time."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._backend, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return call

    def watch_execution(
        self, execution_id: str, *, after_sequence: int = 0
    ) -> Generator[ExecutionEvent, None, None]:
        # The backend's own watch reads it without the lock: poll through this proxy instead.
        from stigmer.backend.watch import poll_events

        return poll_events(cast(Backend, self), execution_id, after_sequence=after_sequence)


class AsyncExecutionStream(Generic[E]):
    """The events of a run as it happens, in order: ``async for event in stream``.

    The run is started (or continued) when the iteration starts. :attr:`execution` then
    holds its record, and its final record once the iteration has ended; with ``check``, a
    run that ended FAILED or CANCELLED raises ExecutionFailed at the end. Closing the stream
    early (``await stream.aclose()``) stops a run of this process, which keeps its state
    (resumable); a run on a server goes on there.
    """

    def __init__(
        self,
        client: AsyncClient,
        start: Callable[[], tuple[E, int]],
        *,
        check: bool = True,
        follow_only: bool = False,
    ) -> None:
        self._client = client
        self._start = start
        self._check = check
        self._follow_only = follow_only
        self._execution: E | None = None
        self._events = self._run()

    @property
    def execution(self) -> E:
        """The run's record (final once the iteration has ended).

        Raises:
            StigmerError: The iteration has not started yet.
        """
        if self._execution is None:
            raise StigmerError("the run starts with the iteration: iterate the stream first")
        return self._execution

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Stop following the run (see the class docstring for what happens to it)."""
        await self._events.aclose()

    async def __aenter__(self) -> AsyncExecutionStream[E]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self) -> AsyncGenerator[Event, None]:
        created, after = await asyncio.to_thread(self._start)
        self._execution = created
        final: list[Execution] = []
        source = runs.see_through(
            self._client.backend,
            created.metadata.id,
            final,
            run_here=self._client.runs_here and not self._follow_only,
            config_model=self._client.default_model,
            after_sequence=after,
        )
        async with contextlib.aclosing(source):
            async for event in source:
                yield event
        self._execution = cast(E, final[0])
        if self._check:
            runs.check_finished(final[0])


class AsyncClient:
    """Stigmer from asyncio: the surface of :class:`~stigmer.sdk.client.Client`, awaited.

    Arguments as for :class:`~stigmer.sdk.client.Client`. Use it as ``async with
    AsyncClient() as client:``, or ``await client.close()``.
    """

    def __init__(
        self,
        *,
        home: str | os.PathLike[str] | None = None,
        url: str | None = None,
        token: str | None = None,
        backend: Backend | None = None,
        default_model: str | None = None,
        ca_cert: bytes | None = None,
        run_here: bool | None = None,
    ) -> None:
        opened = Client(
            home=home,
            url=url,
            token=token,
            backend=backend,
            default_model=default_model,
            ca_cert=ca_cert,
            run_here=run_here,
        )
        from stigmer.backend.local import LocalBackend

        self._opened = opened
        self.home: Path | None = opened.home
        self.default_model = opened.default_model
        self.runs_here = opened.runs_here
        # A LocalBackend's connection serves one thread at a time; gRPC channels any number.
        shared = opened.backend
        self.backend: Backend = (
            cast(Backend, _Serialized(shared)) if isinstance(shared, LocalBackend) else shared
        )
        self._sync = Client(backend=self.backend, default_model=self.default_model, run_here=self.runs_here)
        self.agents = AsyncAgentClient(self, self._sync.agents)
        self.workflows = AsyncWorkflowClient(self, self._sync.workflows)
        self.skills: AsyncResourceClient[Skill] = AsyncResourceClient(self, self._sync.skills)
        self.mcp_servers: AsyncResourceClient[McpServer] = AsyncResourceClient(self, self._sync.mcp_servers)
        self.environments: AsyncResourceClient[Environment] = AsyncResourceClient(
            self, self._sync.environments
        )
        self.sessions: AsyncResourceClient[Session] = AsyncResourceClient(self, self._sync.sessions)
        self.agent_instances: AsyncResourceClient[AgentInstance] = AsyncResourceClient(
            self, self._sync.agent_instances
        )
        self.workflow_instances: AsyncResourceClient[WorkflowInstance] = AsyncResourceClient(
            self, self._sync.workflow_instances
        )
        self.executions = AsyncExecutionClient(self)

    async def apply(
        self, *resources: ResourceLike | builtins.list[Any], dry_run: bool = False
    ) -> builtins.list[ApplyOutcome]:
        """Create or update resources of any kinds, all or nothing (see ``Client.apply``)."""
        return await asyncio.to_thread(self._sync.apply, *resources, dry_run=dry_run)

    async def info(self) -> BackendInfo:
        """What the backend is: type, version, database, counts per kind."""
        return await asyncio.to_thread(self.backend.info)

    async def close(self) -> None:
        """Close the backend this client opened (one passed in stays open)."""
        await asyncio.to_thread(self._opened.close)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- seeing runs through ---------------------------------------------------------------

    async def _wait(self, start: Callable[[], tuple[E, int]], *, wait: bool, check: bool) -> E:
        created, after = await asyncio.to_thread(start)
        if not wait:
            return created
        final_record: list[Execution] = []
        async for _ in runs.see_through(
            self.backend,
            created.metadata.id,
            final_record,
            run_here=self.runs_here,
            config_model=self.default_model,
            after_sequence=after,
        ):
            pass
        final = final_record[0]
        if check:
            runs.check_finished(final)
        return cast(E, final)

    def _see_through(
        self, start: Callable[[], tuple[E, int]], *, wait: bool, stream: bool, check: bool
    ) -> Coroutine[Any, Any, E] | AsyncExecutionStream[E]:
        if stream:
            if not wait:
                raise InvalidArgument("a stream follows the run: stream=True needs wait=True", field="wait")
            return AsyncExecutionStream(self, start, check=check)
        return self._wait(start, wait=wait, check=check)


def _started(make: Callable[P, E], *args: P.args, **kwargs: P.kwargs) -> Callable[[], tuple[E, int]]:
    """A starter that records a new run (nothing of it happened yet: follow from the start)."""

    def start() -> tuple[E, int]:
        return make(*args, **kwargs), 0

    return start


class AsyncResourceClient(Generic[R]):
    """The resources of one kind (see :class:`~stigmer.sdk.client.ResourceClient`), awaited."""

    def __init__(self, client: AsyncClient, sync: ResourceClient[R]) -> None:
        self._client = client
        self._sync = sync
        self.kind = sync.kind

    async def apply(
        self, *resources: ResourceLike | builtins.list[Any], dry_run: bool = False
    ) -> builtins.list[ApplyOutcome]:
        """Create or update resources of this kind by name, all or nothing."""
        return await asyncio.to_thread(self._sync.apply, *resources, dry_run=dry_run)

    async def create(self, resource: ResourceLike) -> R:
        """Create one resource; AlreadyExists when the name is taken."""
        return await asyncio.to_thread(self._sync.create, resource)

    async def update(self, resource: ResourceLike) -> R:
        """Replace a resource read before; Conflict when it changed since."""
        return await asyncio.to_thread(self._sync.update, resource)

    async def get(self, name: str) -> R:
        """One resource; NotFound when there is none by that name."""
        return await asyncio.to_thread(self._sync.get, name)

    async def list(self, *, labels: Mapping[str, str] | None = None) -> builtins.list[R]:
        """Every resource of this kind (with all these ``labels``), by name."""
        return await asyncio.to_thread(self._sync.list, labels=labels)

    async def iter(
        self, *, labels: Mapping[str, str] | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> AsyncIterator[R]:
        """The resources of this kind, by name, read a page at a time as they are consumed."""
        pages = self._sync.iter(labels=labels, page_size=page_size)
        while True:
            done, item = await asyncio.to_thread(_next, pages)
            if done:
                return
            yield item

    async def delete(self, name: str) -> R:
        """Delete a resource; it as it was."""
        return await asyncio.to_thread(self._sync.delete, name)

    async def history(self, name: str) -> builtins.list[ApiResourceVersion]:
        """Every version of a resource, oldest first."""
        return await asyncio.to_thread(self._sync.history, name)

    async def rollback(self, name: str, version: int) -> R:
        """Write a new version of a resource equal to an old one."""
        return await asyncio.to_thread(self._sync.rollback, name, version)


def _next(items: Any) -> tuple[bool, Any]:
    try:
        return False, next(items)
    except StopIteration:
        return True, None


class AsyncAgentClient(AsyncResourceClient[Agent]):
    """Agents, and running them (see ``AgentClient.execute``)."""

    @overload
    def execute(
        self,
        name: str,
        message: str,
        *,
        session: str | None = ...,
        env: str | None = ...,
        model: str | None = ...,
        labels: Mapping[str, str] | None = ...,
        wait: bool = ...,
        stream: Literal[False] = ...,
        check: bool = ...,
    ) -> Coroutine[Any, Any, AgentExecution]: ...

    @overload
    def execute(
        self,
        name: str,
        message: str,
        *,
        session: str | None = ...,
        env: str | None = ...,
        model: str | None = ...,
        labels: Mapping[str, str] | None = ...,
        wait: bool = ...,
        stream: Literal[True],
        check: bool = ...,
    ) -> AsyncExecutionStream[AgentExecution]: ...

    def execute(
        self,
        name: str,
        message: str,
        *,
        session: str | None = None,
        env: str | None = None,
        model: str | None = None,
        labels: Mapping[str, str] | None = None,
        wait: bool = True,
        stream: bool = False,
        check: bool = True,
    ) -> Coroutine[Any, Any, AgentExecution] | AsyncExecutionStream[AgentExecution]:
        """Run the agent ``name`` on ``message``: ``await`` the final record, or, with
        ``stream=True``, ``async for`` its events. Arguments as ``AgentClient.execute``."""
        start = _started(
            runs.new_agent_execution,
            self._client.backend,
            name,
            message,
            session=session,
            env=env,
            model=model,
            labels=labels,
        )
        return self._client._see_through(start, wait=wait, stream=stream, check=check)


class AsyncWorkflowClient(AsyncResourceClient[Workflow]):
    """Workflows, and running them (see ``WorkflowClient.execute``)."""

    @overload
    def execute(
        self,
        name: str,
        inputs: Mapping[str, Any] | None = ...,
        *,
        env: str | None = ...,
        labels: Mapping[str, str] | None = ...,
        wait: bool = ...,
        stream: Literal[False] = ...,
        check: bool = ...,
    ) -> Coroutine[Any, Any, WorkflowExecution]: ...

    @overload
    def execute(
        self,
        name: str,
        inputs: Mapping[str, Any] | None = ...,
        *,
        env: str | None = ...,
        labels: Mapping[str, str] | None = ...,
        wait: bool = ...,
        stream: Literal[True],
        check: bool = ...,
    ) -> AsyncExecutionStream[WorkflowExecution]: ...

    def execute(
        self,
        name: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        env: str | None = None,
        labels: Mapping[str, str] | None = None,
        wait: bool = True,
        stream: bool = False,
        check: bool = True,
    ) -> Coroutine[Any, Any, WorkflowExecution] | AsyncExecutionStream[WorkflowExecution]:
        """Run the workflow ``name`` with ``inputs``: ``await`` the final record, or, with
        ``stream=True``, ``async for`` its task changes. Arguments as ``WorkflowClient.execute``."""
        start = _started(
            runs.new_workflow_execution, self._client.backend, name, inputs, env=env, labels=labels
        )
        return self._client._see_through(start, wait=wait, stream=stream, check=check)


class AsyncExecutionClient:
    """Runs (see :class:`~stigmer.sdk.client.ExecutionClient`), awaited."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._sync = client._sync.executions

    async def get(self, execution_id: str) -> Execution:
        """One run; NotFound when there is none."""
        return await asyncio.to_thread(self._sync.get, execution_id)

    async def list(
        self,
        *,
        kind: str | None = None,
        phase: str | ExecutionPhase.ValueType | None = None,
        parent: str | None = None,
        definition: str | None = None,
        session: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> builtins.list[Execution]:
        """Runs, newest first (arguments as ``ExecutionClient.list``)."""
        return await asyncio.to_thread(
            self._sync.list,
            kind=kind,
            phase=phase,
            parent=parent,
            definition=definition,
            session=session,
            labels=labels,
            limit=limit,
        )

    async def iter(self, *, query: ExecutionQuery | None = None) -> AsyncIterator[Execution]:
        """Runs matching ``query`` (see ``execution_query``), newest first, a page at a time."""
        pages = self._sync.iter(query=query or execution_query())
        while True:
            done, item = await asyncio.to_thread(_next, pages)
            if done:
                return
            yield item

    async def steps(self, execution_id: str, *, after: int = 0) -> builtins.list[ExecutionStep]:
        """A run's durable steps after step ``after``, in order."""
        return await asyncio.to_thread(self._sync.steps, execution_id, after=after)

    async def cancel(self, execution_id: str) -> Execution:
        """Cancel a run: at once when it is pending or waiting, else at its next step."""
        return await asyncio.to_thread(self._sync.cancel, execution_id)

    @overload
    def approve(
        self, execution_id: str, *, wait: bool = ..., stream: Literal[False] = ..., check: bool = ...
    ) -> Coroutine[Any, Any, Execution]: ...

    @overload
    def approve(
        self, execution_id: str, *, wait: bool = ..., stream: Literal[True], check: bool = ...
    ) -> AsyncExecutionStream[Execution]: ...

    def approve(
        self, execution_id: str, *, wait: bool = True, stream: bool = False, check: bool = True
    ) -> Coroutine[Any, Any, Execution] | AsyncExecutionStream[Execution]:
        """Approve what a run waits for and continue it (see ``ExecutionClient.approve``)."""
        return self._client._see_through(
            self._decider(execution_id, True, "", wait or stream), wait=wait, stream=stream, check=check
        )

    @overload
    def reject(
        self,
        execution_id: str,
        reason: str = ...,
        *,
        wait: bool = ...,
        stream: Literal[False] = ...,
        check: bool = ...,
    ) -> Coroutine[Any, Any, Execution]: ...

    @overload
    def reject(
        self,
        execution_id: str,
        reason: str = ...,
        *,
        wait: bool = ...,
        stream: Literal[True],
        check: bool = ...,
    ) -> AsyncExecutionStream[Execution]: ...

    def reject(
        self,
        execution_id: str,
        reason: str = "",
        *,
        wait: bool = True,
        stream: bool = False,
        check: bool = True,
    ) -> Coroutine[Any, Any, Execution] | AsyncExecutionStream[Execution]:
        """Reject what a run waits for and continue it (see ``ExecutionClient.reject``)."""
        return self._client._see_through(
            self._decider(execution_id, False, reason, wait or stream), wait=wait, stream=stream, check=check
        )

    def _decider(
        self, execution_id: str, approved: bool, reason: str, follow: bool
    ) -> Callable[[], tuple[Execution, int]]:
        backend, here = self._client.backend, self._client.runs_here

        def decide() -> tuple[Execution, int]:
            after = 0
            if follow and not here:
                from stigmer.backend.watch import last_step_sequence

                after = last_step_sequence(backend, execution_id)
            return backend.resolve_approval(execution_id, approved=approved, reason=reason), after

        return decide

    @overload
    def resume(
        self, execution_id: str, *, stream: Literal[False] = ..., check: bool = ...
    ) -> Coroutine[Any, Any, Execution]: ...

    @overload
    def resume(
        self, execution_id: str, *, stream: Literal[True], check: bool = ...
    ) -> AsyncExecutionStream[Execution]: ...

    def resume(
        self, execution_id: str, *, stream: bool = False, check: bool = True
    ) -> Coroutine[Any, Any, Execution] | AsyncExecutionStream[Execution]:
        """Continue a run after its last recorded step (see ``ExecutionClient.resume``)."""
        backend, here = self._client.backend, self._client.runs_here

        def start() -> tuple[Execution, int]:
            current = runs.check_resumable(backend, execution_id)
            if here:
                return current, 0
            from stigmer.backend.watch import last_step_sequence

            return current, last_step_sequence(backend, execution_id)

        return self._client._see_through(start, wait=True, stream=stream, check=check)

    @overload
    def retry(
        self,
        execution_id: str,
        *,
        from_task: str = ...,
        definition: Literal["pinned", "latest"] = ...,
        wait: bool = ...,
        stream: Literal[False] = ...,
        check: bool = ...,
    ) -> Coroutine[Any, Any, WorkflowExecution]: ...

    @overload
    def retry(
        self,
        execution_id: str,
        *,
        from_task: str = ...,
        definition: Literal["pinned", "latest"] = ...,
        wait: bool = ...,
        stream: Literal[True],
        check: bool = ...,
    ) -> AsyncExecutionStream[WorkflowExecution]: ...

    def retry(
        self,
        execution_id: str,
        *,
        from_task: str = "",
        definition: Literal["pinned", "latest"] = "pinned",
        wait: bool = True,
        stream: bool = False,
        check: bool = True,
    ) -> Coroutine[Any, Any, WorkflowExecution] | AsyncExecutionStream[WorkflowExecution]:
        """Start a new run of a finished workflow run that reuses its recorded task results
        (see ``ExecutionClient.retry``)."""
        start = _started(
            runs.retried_execution,
            self._client.backend,
            execution_id,
            from_task=from_task,
            definition=definition,
        )
        return self._client._see_through(start, wait=wait, stream=stream, check=check)

    def follow(
        self, execution_id: str, *, after_sequence: int = 0, check: bool = True
    ) -> AsyncExecutionStream[Execution]:
        """The events of a run that something else runs, until it is finished or waits for a
        person; nothing is run here."""
        backend = self._client.backend

        def start() -> tuple[Execution, int]:
            return backend.get_execution(execution_id), after_sequence

        return AsyncExecutionStream(self._client, start, check=check, follow_only=True)


__all__ = [
    "AsyncAgentClient",
    "AsyncClient",
    "AsyncExecutionClient",
    "AsyncExecutionStream",
    "AsyncResourceClient",
    "AsyncWorkflowClient",
]
