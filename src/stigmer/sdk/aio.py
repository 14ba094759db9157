"""The client for asyncio programs, and the implementation of both clients: the surface of
:class:`~stigmer.sdk.client.Client`, awaited (``Client`` is a synchronous facade over this).

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
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Literal, NamedTuple, ParamSpec, TypeAlias, TypeVar, cast, overload

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution, ExecutionLimits
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
from stigmer.backend.protocol import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ApplyOutcome, Backend, ExecutionQuery
from stigmer.errors import InvalidArgument, StigmerError
from stigmer.resources.kinds import Execution, Resource, kind_info
from stigmer.runners.settings import RunSettings, run_settings
from stigmer.sdk import runs
from stigmer.sdk.authoring import Duration, duration_text
from stigmer.sdk.events import Event
from stigmer.sdk.resources import ResourceLike, as_resources

R = TypeVar("R", bound=Resource)
E = TypeVar("E", bound=Execution)
T = TypeVar("T")
P = ParamSpec("P")

Start: TypeAlias = Callable[[], Coroutine[Any, Any, tuple[E, int]]]
"""What starts (or continues) a run: its record, and the step after which to follow it."""

_EXECUTION_KINDS = {
    "agent": "AgentExecution",
    "workflow": "WorkflowExecution",
    "agentexecution": "AgentExecution",
    "workflowexecution": "WorkflowExecution",
}


def open_server(
    url: str,
    *,
    token: str | None = None,
    home: str | os.PathLike[str] | None = None,
    ca_cert: bytes | None = None,
) -> Backend:
    """A RemoteBackend to the `stigmer server` at ``url``.

    Args:
        url: ``grpc://HOST:PORT``, ``grpcs://HOST:PORT`` (TLS), or a bare ``HOST[:PORT]``.
        token: Its API key; by default ``$STIGMER_TOKEN``, else the one `stigmer login`
            stored for that server in the home.
        home: The home whose stored key to use.
        ca_cert: PEM of the CA that signed the server's certificate, when not a public one.

    Raises:
        StigmerError: The server extra (grpcio) is not installed.
        InvalidArgument: ``url`` is not the URL of a server.
    """
    try:
        from stigmer.backend.remote import RemoteBackend, parse_server_url
    except ImportError as exc:
        from stigmer.backend.factory import missing_server_extra

        raise missing_server_extra(exc) from None
    if token is None:
        from stigmer.config import home_dir, load_token

        target, tls = parse_server_url(url)
        token = load_token(home_dir(home), f"{'grpcs' if tls else 'grpc'}://{target}")
    return RemoteBackend(url, token=token, ca_cert=ca_cert)


class _Opened(NamedTuple):
    """The backend a client uses and what it was told about it."""

    backend: Backend
    owned: bool
    home: Path | None
    default_model: str
    runs_here: bool
    # The home's prices and telemetry (its default model is ``default_model``).
    settings: RunSettings


class _Opens:
    """Both clients' constructor: opens the backend of its arguments (see ``Client``): the
    one passed, a server's, or the one the home's config selects."""

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
        opened_home: Path | None = None
        config_model = ""
        settings = RunSettings()
        if backend is not None:
            if url is not None:
                raise InvalidArgument("pass either url or backend, not both", field="url")
            owned = False
        elif url is not None:
            backend, owned = open_server(url, token=token, home=home, ca_cert=ca_cert), True
        else:
            from stigmer.backend.factory import open_backend
            from stigmer.config import home_dir, load_config

            config = load_config(home_dir(home))
            opened_home = config.home
            backend, owned = open_backend(config), True
            settings = run_settings(config)
            config_model = settings.model
        from stigmer.backend.local import LocalBackend

        here = isinstance(backend, LocalBackend) if run_here is None else run_here
        model = config_model if default_model is None else default_model
        self._setup(_Opened(backend, owned, opened_home, model, here, settings))

    def _setup(self, opened: _Opened) -> None:
        raise NotImplementedError


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
        start: Start[E],
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
        created, after = await self._start()
        self._execution = created
        final: list[Execution] = []
        source = self._client._events(created.metadata.id, final, after=after, follow_only=self._follow_only)
        async with contextlib.aclosing(source):
            async for event in source:
                yield event
        self._execution = cast(E, final[0])
        if self._check:
            runs.check_finished(final[0])


class AsyncClient(_Opens):
    """Stigmer from asyncio: the surface of :class:`~stigmer.sdk.client.Client`, awaited.

    Arguments as for :class:`~stigmer.sdk.client.Client`. Use it as ``async with
    AsyncClient() as client:``, or ``await client.close()``.
    """

    def _setup(self, opened: _Opened) -> None:
        self._configure(opened, in_threads=True)

    @classmethod
    def _blocking(cls, opened: _Opened) -> AsyncClient:
        """The implementation behind a synchronous Client: its caller waits for each call
        anyway, so backend calls are made on the loop's thread, without a thread each."""
        client = cls.__new__(cls)
        client._configure(opened, in_threads=False)
        return client

    def _configure(self, opened: _Opened, *, in_threads: bool) -> None:
        from stigmer.backend.local import LocalBackend

        self._opened = opened
        self._in_threads = in_threads
        self.home: Path | None = opened.home
        self.default_model = opened.default_model
        self.runs_here = opened.runs_here
        self._settings = opened.settings
        # A LocalBackend's connection serves one thread at a time; gRPC channels any number.
        shared = opened.backend
        self.backend: Backend = (
            cast(Backend, _Serialized(shared)) if in_threads and isinstance(shared, LocalBackend) else shared
        )
        self.agents = AsyncAgentClient(self, Agent)
        self.workflows = AsyncWorkflowClient(self, Workflow)
        self.skills = AsyncResourceClient(self, Skill)
        self.mcp_servers = AsyncResourceClient(self, McpServer)
        self.environments = AsyncResourceClient(self, Environment)
        self.sessions = AsyncResourceClient(self, Session)
        self.agent_instances = AsyncResourceClient(self, AgentInstance)
        self.workflow_instances = AsyncResourceClient(self, WorkflowInstance)
        self.executions = AsyncExecutionClient(self)

    async def _call(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A blocking backend call, in a thread of its own unless this client's caller waits."""
        if self._in_threads:
            return await asyncio.to_thread(call, *args, **kwargs)
        return call(*args, **kwargs)

    async def apply(
        self, *resources: ResourceLike | builtins.list[Any], dry_run: bool = False
    ) -> builtins.list[ApplyOutcome]:
        """Create or update resources of any kinds, all or nothing (see ``Client.apply``)."""
        return await self._call(self.backend.apply, as_resources(resources), dry_run=dry_run)

    async def info(self) -> BackendInfo:
        """What the backend is: type, version, database, counts per kind."""
        return await self._call(self.backend.info)

    async def close(self) -> None:
        """Close the backend this client opened (one passed in stays open)."""
        if self._opened.owned:
            await self._call(self._opened.backend.close)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- seeing runs through ---------------------------------------------------------------

    def _events(
        self,
        execution_id: str,
        final: builtins.list[Execution],
        *,
        after: int,
        follow_only: bool = False,
        watch_tasks: bool = True,
    ) -> AsyncGenerator[Event, None]:
        """The events of a run, driven (run here, or followed) until it is finished or waits;
        then its record is put in ``final``. A caller that drops the events passes
        ``watch_tasks=False``: nobody sees task changes, so the record is not read for them."""
        return runs.see_through(
            self.backend,
            execution_id,
            final,
            run_here=self.runs_here and not follow_only,
            settings=replace(self._settings, model=self.default_model),
            after_sequence=after,
            watch_tasks=watch_tasks,
        )

    async def _wait(self, start: Start[E], *, wait: bool, check: bool) -> E:
        created, after = await start()
        if not wait:
            return created
        final: builtins.list[Execution] = []
        events = self._events(created.metadata.id, final, after=after, watch_tasks=False)
        async with contextlib.aclosing(events):
            async for _ in events:
                pass
        if check:
            runs.check_finished(final[0])
        return cast(E, final[0])

    def _see_through(
        self, start: Start[E], *, wait: bool, stream: bool, check: bool
    ) -> Coroutine[Any, Any, E] | AsyncExecutionStream[E]:
        if stream:
            check_stream(wait)
            return AsyncExecutionStream(self, start, check=check)
        return self._wait(start, wait=wait, check=check)

    def _started(self, make: Callable[P, E], *args: P.args, **kwargs: P.kwargs) -> Start[E]:
        """A start that records a new run (nothing of it happened yet: follow from the start)."""

        async def start() -> tuple[E, int]:
            return await self._call(make, *args, **kwargs), 0

        return start


def check_stream(wait: bool) -> None:
    """Refuse ``stream=True`` with ``wait=False`` (before anything is recorded)."""
    if not wait:
        raise InvalidArgument("a stream follows the run: stream=True needs wait=True", field="wait")


class _Awaited:
    """The async side of the shared run methods: a start becomes a coroutine or a stream."""

    _client: AsyncClient

    @property
    def _backend(self) -> Backend:
        return self._client.backend

    def _see(self, start: Start[Any], *, wait: bool, stream: bool, check: bool) -> Any:
        return self._client._see_through(start, wait=wait, stream=stream, check=check)

    def _done(self, call: Coroutine[Any, Any, T]) -> Any:
        return call


class AsyncResourceClient(_Awaited, Generic[R]):
    """The resources of one kind (see :class:`~stigmer.sdk.client.ResourceClient`), awaited."""

    def __init__(self, client: AsyncClient, kind: type[R]) -> None:
        self._client = client
        self.kind = kind
        self._info = kind_info(kind)

    @property
    def _starts(self) -> Any:
        return self

    async def apply(
        self, *resources: ResourceLike | builtins.list[Any], dry_run: bool = False
    ) -> builtins.list[ApplyOutcome]:
        """Create or update resources of this kind by name, all or nothing."""
        made = as_resources(resources, kind=self._info)
        return await self._client._call(self._backend.apply, made, dry_run=dry_run)

    async def create(self, resource: ResourceLike) -> R:
        """Create one resource; AlreadyExists when the name is taken."""
        return await self._client._call(self._backend.create, self._one(resource, for_apply=True))

    async def update(self, resource: ResourceLike) -> R:
        """Replace a resource read before; Conflict when it changed since."""
        return await self._client._call(self._backend.update, self._one(resource, for_apply=False))

    async def get(self, name: str) -> R:
        """One resource; NotFound when there is none by that name."""
        return await self._client._call(self._backend.get, self.kind, name)

    async def list(self, *, labels: Mapping[str, str] | None = None) -> builtins.list[R]:
        """Every resource of this kind (with all these ``labels``), by name."""
        return [item async for item in self.iter(labels=labels)]

    async def iter(
        self, *, labels: Mapping[str, str] | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> AsyncIterator[R]:
        """The resources of this kind, by name, read a page at a time as they are consumed."""
        token = ""
        while True:
            page = await self._client._call(
                self._backend.list,
                self.kind,
                labels=dict(labels or {}),
                page_size=min(page_size, MAX_PAGE_SIZE),
                page_token=token,
            )
            for item in page.items:
                yield item
            token = page.next_page_token
            if not token:
                return

    async def delete(self, name: str) -> R:
        """Delete a resource; it as it was."""
        return await self._client._call(self._backend.delete, self.kind, name)

    async def history(self, name: str) -> builtins.list[ApiResourceVersion]:
        """Every version of a resource, oldest first."""
        return await self._client._call(self._backend.history, cast(type[Resource], self.kind), name)

    async def rollback(self, name: str, version: int) -> R:
        """Write a new version of a resource equal to an old one."""
        return await self._client._call(self._backend.rollback, self.kind, name, version)

    def _one(self, resource: ResourceLike, *, for_apply: bool) -> R:
        made = as_resources([resource], kind=self._info, for_apply=for_apply)
        if len(made) != 1:
            raise InvalidArgument(f"expected one {self._info.kind}, got {len(made)}")
        return cast(R, made[0])


Run = TypeVar("Run")
Stream = TypeVar("Stream")
Listed = TypeVar("Listed")


class _Runs:
    """What both clients' run methods share: a start (from the async implementation) is seen
    through by the client's ``_see_through``, awaited (AsyncClient) or run to its end (Client)."""

    @property
    def _starts(self) -> Any:
        raise NotImplementedError

    def _see(self, start: Start[Any], *, wait: bool, stream: bool, check: bool) -> Any:
        raise NotImplementedError

    def _done(self, call: Coroutine[Any, Any, T]) -> Any:
        """The coroutine itself (AsyncClient), or its result (Client)."""
        raise NotImplementedError


class AgentRuns(_Runs, Generic[Run, Stream]):
    """Running agents: the same signature for both clients; ``Run`` is the final record
    (awaited in AsyncClient), ``Stream`` the stream of its events."""

    @property
    def _starts(self) -> AsyncAgentClient:
        raise NotImplementedError

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
    ) -> Run: ...

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
    ) -> Stream: ...

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
    ) -> Run | Stream:
        """Run the agent ``name`` on ``message``.

        Args:
            name: The agent.
            message: What to ask it.
            session: Continue (or start) this conversation.
            env: Run with this Environment's variables and secrets.
            model: Use this model for this run (``provider/name``).
            labels: Labels of the execution record.
            wait: Run it to its end (the default); False records it PENDING and returns,
                for a worker to run.
            stream: Return an :class:`ExecutionStream` of its events (text deltas, tool
                calls and results, approvals) instead of the final record.
            check: Raise ExecutionFailed when the run ends FAILED or CANCELLED.

        Returns:
            The final record (``status.output`` is the answer); a run that stopped at a tool
            that needs approval is returned WAITING_APPROVAL, to decide with
            ``client.executions.approve(id)`` or ``reject(id)``.

        Raises:
            NotFound: There is no such agent.
            ExecutionFailed: The run failed or was cancelled (``check``); ``.execution``
                holds its record.
        """
        start = self._starts._start(name, message, session=session, env=env, model=model, labels=labels)
        return cast("Run | Stream", self._see(start, wait=wait, stream=stream, check=check))


class WorkflowRuns(_Runs, Generic[Run, Stream]):
    """Running workflows (see :class:`AgentRuns`)."""

    @property
    def _starts(self) -> AsyncWorkflowClient:
        raise NotImplementedError

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
    ) -> Run: ...

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
    ) -> Stream: ...

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
    ) -> Run | Stream:
        """Run the workflow ``name`` with ``inputs``.

        Args:
            name: The workflow.
            inputs: Its input values (checked against its declared inputs first).
            env: Run with this Environment.
            labels: Labels of the execution record.
            wait: Run it to its end (the default); False records it PENDING and returns.
            stream: Return an :class:`ExecutionStream` of :class:`~stigmer.sdk.events.TaskChanged`
                events instead of the final record.
            check: Raise ExecutionFailed when the run ends FAILED or CANCELLED.

        Returns:
            The final record (``status.outputs``, ``status.tasks``); a run that reached an
            approval is returned WAITING_APPROVAL.

        Raises:
            NotFound: There is no such workflow.
            InvalidArgument: An input is unknown, missing or of the wrong type (``field``).
            ExecutionFailed: The run failed or was cancelled (``check``).
        """
        start = self._starts._start(name, inputs, env=env, labels=labels)
        return cast("Run | Stream", self._see(start, wait=wait, stream=stream, check=check))


class ExecutionRuns(_Runs, Generic[Run, Stream, Listed]):
    """Listing, deciding, resuming and retrying runs (see :class:`AgentRuns`)."""

    @property
    def _starts(self) -> AsyncExecutionClient:
        raise NotImplementedError

    def list(
        self,
        *,
        kind: str | None = None,
        phase: str | ExecutionPhase.ValueType | None = None,
        parent: str | None = None,
        definition: str | None = None,
        session: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> Listed:
        """Runs, newest first.

        Args:
            kind: "agent" or "workflow" (or the kind's name); both by default.
            phase: Only runs in this phase ("completed", ``ExecutionPhase.FAILED``, …).
            parent: Only runs started by this run.
            definition: Only runs of this agent or workflow.
            session: Only runs of this session.
            labels: Only runs with all these labels.
            limit: At most this many (default: all).
        """
        query = execution_query(
            kind=kind,
            phase=phase,
            parent=parent,
            definition=definition,
            session=session,
            labels=labels,
            page_size=min(limit or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) or 1,
        )
        return cast(Listed, self._done(self._starts._listed(query, limit)))

    @overload
    def approve(
        self, execution_id: str, *, wait: bool = ..., stream: Literal[False] = ..., check: bool = ...
    ) -> Run: ...

    @overload
    def approve(
        self, execution_id: str, *, wait: bool = ..., stream: Literal[True], check: bool = ...
    ) -> Stream: ...

    def approve(
        self, execution_id: str, *, wait: bool = True, stream: bool = False, check: bool = True
    ) -> Run | Stream:
        """Approve what a run waits for (its own approval, or one of a run it started), and
        continue it to its end or its next approval.

        Args:
            execution_id: The waiting run.
            wait: Continue it (the default); False only records the decision, for a worker.
            stream: Return an :class:`ExecutionStream` of the continued run's events.
            check: Raise ExecutionFailed when it then ends FAILED or CANCELLED.

        Raises:
            Conflict: It is not waiting for an approval.
        """
        decide = self._starts._decider(execution_id, True, "", wait or stream)
        return cast("Run | Stream", self._see(decide, wait=wait, stream=stream, check=check))

    @overload
    def reject(
        self,
        execution_id: str,
        reason: str = ...,
        *,
        wait: bool = ...,
        stream: Literal[False] = ...,
        check: bool = ...,
    ) -> Run: ...

    @overload
    def reject(
        self,
        execution_id: str,
        reason: str = ...,
        *,
        wait: bool = ...,
        stream: Literal[True],
        check: bool = ...,
    ) -> Stream: ...

    def reject(
        self,
        execution_id: str,
        reason: str = "",
        *,
        wait: bool = True,
        stream: bool = False,
        check: bool = True,
    ) -> Run | Stream:
        """Reject what a run waits for and continue it: an agent is told (with ``reason``) and
        goes on; a workflow's approval task fails (REJECTED). Arguments as :meth:`approve`.

        Raises:
            Conflict: It is not waiting for an approval.
        """
        decide = self._starts._decider(execution_id, False, reason, wait or stream)
        return cast("Run | Stream", self._see(decide, wait=wait, stream=stream, check=check))

    @overload
    def respond(
        self,
        execution_id: str,
        fields: dict[str, Any] | None = ...,
        *,
        action: str = ...,
        wait: bool = ...,
        stream: Literal[False] = ...,
        check: bool = ...,
    ) -> Run: ...

    @overload
    def respond(
        self,
        execution_id: str,
        fields: dict[str, Any] | None = ...,
        *,
        action: str = ...,
        wait: bool = ...,
        stream: Literal[True],
        check: bool = ...,
    ) -> Stream: ...

    def respond(
        self,
        execution_id: str,
        fields: dict[str, Any] | None = None,
        *,
        action: str = "accept",
        wait: bool = True,
        stream: bool = False,
        check: bool = True,
    ) -> Run | Stream:
        """Answer what an MCP server asked a person during a tool call of a run (MCP
        elicitation), and continue it. Other arguments as :meth:`approve`.

        Args:
            execution_id: The waiting run (or a workflow run whose agent task's run waits).
            fields: The answer's fields (text is read as the requested types; fields left out
                take the server's defaults).
            action: ``accept``, ``decline`` or ``cancel`` (the last two with no fields).

        Raises:
            InvalidArgument: The answer does not fit what the server asked (nothing is recorded).
            Conflict: It is not waiting for an answer.
        """
        answer = self._starts._responder(execution_id, action, fields or {}, wait or stream)
        return cast("Run | Stream", self._see(answer, wait=wait, stream=stream, check=check))

    @overload
    def resume(self, execution_id: str, *, stream: Literal[False] = ..., check: bool = ...) -> Run: ...

    @overload
    def resume(self, execution_id: str, *, stream: Literal[True], check: bool = ...) -> Stream: ...

    def resume(self, execution_id: str, *, stream: bool = False, check: bool = True) -> Run | Stream:
        """Continue a run after its last recorded step (one whose process died): steps on
        record are replayed, never run again. On a server, its worker takes it over once
        the lease of the one that stopped has expired, and this follows it.

        Raises:
            Conflict: It waits for an approval, or has finished.
        """
        return cast(
            "Run | Stream",
            self._see(self._starts._resumer(execution_id), wait=True, stream=stream, check=check),
        )

    @overload
    def retry(
        self,
        execution_id: str,
        *,
        from_task: str = ...,
        definition: Literal["pinned", "latest"] = ...,
        timeout: Duration | None = ...,
        max_turns: int | None = ...,
        max_tokens: int | None = ...,
        max_cost: float | None = ...,
        wait: bool = ...,
        stream: Literal[False] = ...,
        check: bool = ...,
    ) -> Run: ...

    @overload
    def retry(
        self,
        execution_id: str,
        *,
        from_task: str = ...,
        definition: Literal["pinned", "latest"] = ...,
        timeout: Duration | None = ...,
        max_turns: int | None = ...,
        max_tokens: int | None = ...,
        max_cost: float | None = ...,
        wait: bool = ...,
        stream: Literal[True],
        check: bool = ...,
    ) -> Stream: ...

    def retry(
        self,
        execution_id: str,
        *,
        from_task: str = "",
        definition: Literal["pinned", "latest"] = "pinned",
        timeout: Duration | None = None,
        max_turns: int | None = None,
        max_tokens: int | None = None,
        max_cost: float | None = None,
        wait: bool = True,
        stream: bool = False,
        check: bool = True,
    ) -> Run | Stream:
        """Start a new run of a finished run that reuses what it recorded, as
        `stigmer execution retry` does.

        A workflow run keeps the recorded outputs of every task before ``from_task`` (by
        default: of every task that completed): they do not run again. An agent run replays
        its recorded model turns and tool calls and goes on from there: a run stopped by one
        of its limits (``LIMIT_TURNS``, ``LIMIT_TOKENS``, ``LIMIT_COST``, ``LIMIT_TIME``)
        continues with a higher one, without paying again for what it did.

        Args:
            execution_id: The finished run.
            from_task: A workflow run: run again from this task and everything after it.
            definition: A workflow run: "pinned" runs the version the run used; "latest" the newest.
            timeout: The new run's timeout (a workflow's, or an agent's ``limits.timeout``):
                ``2h``, ``90s`` or a timedelta.
            max_turns, max_tokens, max_cost: An agent run's higher limits (unset: the run's own).
            wait, stream, check: As for :meth:`WorkflowClient.execute`.

        Raises:
            InvalidArgument: An option is for the other kind of run, or a value is malformed.
            Conflict: It has not finished.
        """
        limits = ExecutionLimits(
            max_turns=max_turns or 0, max_tokens=max_tokens or 0, max_cost=max_cost or 0.0
        )
        start = self._starts._retrier(
            execution_id,
            from_task=from_task,
            definition=definition,
            timeout=duration_text(timeout, "timeout") if timeout is not None else "",
            limits=limits,
        )
        return cast("Run | Stream", self._see(start, wait=wait, stream=stream, check=check))


class AsyncAgentClient(
    AsyncResourceClient[Agent],
    AgentRuns[Coroutine[Any, Any, AgentExecution], AsyncExecutionStream[AgentExecution]],
):
    """Agents, and running them (see ``AgentClient.execute``)."""

    def _start(
        self,
        name: str,
        message: str,
        *,
        session: str | None,
        env: str | None,
        model: str | None,
        labels: Mapping[str, str] | None,
    ) -> Start[AgentExecution]:
        return self._client._started(
            runs.new_agent_execution,
            self._backend,
            name,
            message,
            session=session,
            env=env,
            model=model,
            labels=labels,
            via="sdk",
        )


class AsyncWorkflowClient(
    AsyncResourceClient[Workflow],
    WorkflowRuns[Coroutine[Any, Any, WorkflowExecution], AsyncExecutionStream[WorkflowExecution]],
):
    """Workflows, and running them (see ``WorkflowClient.execute``)."""

    def _start(
        self,
        name: str,
        inputs: Mapping[str, Any] | None,
        *,
        env: str | None,
        labels: Mapping[str, str] | None,
    ) -> Start[WorkflowExecution]:
        return self._client._started(
            runs.new_workflow_execution, self._backend, name, inputs, env=env, labels=labels, via="sdk"
        )


class AsyncExecutionClient(
    _Awaited,
    ExecutionRuns[
        Coroutine[Any, Any, Execution],
        AsyncExecutionStream[Execution],
        Coroutine[Any, Any, builtins.list[Execution]],
    ],
):
    """Runs (see :class:`~stigmer.sdk.client.ExecutionClient`), awaited."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    @property
    def _starts(self) -> AsyncExecutionClient:
        return self

    async def get(self, execution_id: str) -> Execution:
        """One run; NotFound when there is none."""
        return await self._client._call(self._backend.get_execution, execution_id)

    async def _listed(self, query: ExecutionQuery, limit: int | None) -> builtins.list[Execution]:
        found: builtins.list[Execution] = []
        async for execution in self.iter(query=query):
            if limit is not None and len(found) >= limit:
                break
            found.append(execution)
        return found

    async def iter(self, *, query: ExecutionQuery | None = None) -> AsyncIterator[Execution]:
        """Runs matching ``query`` (see ``execution_query``), newest first, a page at a time."""
        query = query or ExecutionQuery()
        while True:
            page = await self._client._call(self._backend.list_executions, query)
            for item in page.items:
                yield item
            if not page.next_page_token:
                return
            query.page_token = page.next_page_token

    async def steps(self, execution_id: str, *, after: int = 0) -> builtins.list[ExecutionStep]:
        """A run's durable steps after step ``after``, in order."""
        return await self._client._call(self._backend.list_steps, execution_id, after=after)

    async def cancel(self, execution_id: str) -> Execution:
        """Cancel a run: at once when it is pending or waiting, else at its next step."""
        return await self._client._call(self._backend.cancel_execution, execution_id)

    def _decider(self, execution_id: str, approved: bool, reason: str, follow: bool) -> Start[Execution]:
        client = self._client
        backend = client.backend

        async def decide() -> tuple[Execution, int]:
            after = 0
            if follow and not client.runs_here:
                # The server's worker continues it: follow what happens from here on.
                after = await client._call(_last_step, backend, execution_id)
            decided = await client._call(
                backend.resolve_approval, execution_id, approved=approved, reason=reason
            )
            return decided, after

        return decide

    def _responder(
        self, execution_id: str, action: str, fields: dict[str, Any], follow: bool
    ) -> Start[Execution]:
        client = self._client
        backend = client.backend

        async def answer() -> tuple[Execution, int]:
            after = 0
            if follow and not client.runs_here:
                after = await client._call(_last_step, backend, execution_id)
            answered = await client._call(backend.respond, execution_id, action=action, content=fields)
            return answered, after

        return answer

    def _resumer(self, execution_id: str) -> Start[Execution]:
        client = self._client
        backend = client.backend

        async def start() -> tuple[Execution, int]:
            current = await client._call(runs.check_resumable, backend, execution_id)
            if client.runs_here:
                return current, 0
            return current, await client._call(_last_step, backend, execution_id)

        return start

    def _retrier(
        self,
        execution_id: str,
        *,
        from_task: str,
        definition: Literal["pinned", "latest"],
        timeout: str,
        limits: ExecutionLimits,
    ) -> Start[Execution]:
        return self._client._started(
            runs.retried_run,
            self._backend,
            execution_id,
            from_task=from_task,
            definition=definition,
            timeout=timeout,
            limits=limits,
        )

    def follow(
        self, execution_id: str, *, after_sequence: int = 0, check: bool = True
    ) -> AsyncExecutionStream[Execution]:
        """The events of a run that something else runs, until it is finished or waits for a
        person; nothing is run here."""
        return AsyncExecutionStream(
            self._client, self._follower(execution_id, after_sequence), check=check, follow_only=True
        )

    def _follower(self, execution_id: str, after_sequence: int) -> Start[Execution]:
        client = self._client

        async def start() -> tuple[Execution, int]:
            return await client._call(client.backend.get_execution, execution_id), after_sequence

        return start


def _last_step(backend: Backend, execution_id: str) -> int:
    from stigmer.backend.watch import last_step_sequence

    return last_step_sequence(backend, execution_id)


def execution_query(
    *,
    kind: str | None = None,
    phase: str | ExecutionPhase.ValueType | None = None,
    parent: str | None = None,
    definition: str | None = None,
    session: str | None = None,
    labels: Mapping[str, str] | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> ExecutionQuery:
    """The backend query for these filters (see :meth:`ExecutionClient.list`).

    Raises:
        InvalidArgument: An unknown kind or phase.
    """
    query = ExecutionQuery(
        parent_execution_id=parent or "",
        definition=definition or "",
        session=session or "",
        labels=dict(labels or {}),
        page_size=min(page_size, MAX_PAGE_SIZE),
    )
    if kind:
        query.kind = _EXECUTION_KINDS.get(kind.lower().replace("_", ""), "")
        if not query.kind:
            raise InvalidArgument(
                f"unknown execution kind {kind!r}", field="kind", hint="use 'agent' or 'workflow'"
            )
    if isinstance(phase, str):
        try:
            query.phase = ExecutionPhase.Value(phase.upper())
        except ValueError:
            names = ", ".join(n.lower() for n in ExecutionPhase.keys()[1:])
            raise InvalidArgument(
                f"unknown phase {phase!r}", field="phase", hint=f"one of: {names}"
            ) from None
    elif phase is not None:
        query.phase = phase
    return query


__all__ = [
    "AgentRuns",
    "AsyncAgentClient",
    "AsyncClient",
    "AsyncExecutionClient",
    "AsyncExecutionStream",
    "AsyncResourceClient",
    "AsyncWorkflowClient",
    "ExecutionRuns",
    "WorkflowRuns",
]
