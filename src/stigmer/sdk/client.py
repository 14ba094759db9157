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
import os
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar, cast, overload

from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.agentinstance.v1.agentinstance_pb2 import AgentInstance
from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.backend.v1.backend_pb2 import BackendInfo, ExecutionStep
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
from stigmer.sdk import runs
from stigmer.sdk.events import Event, ExecutionStream
from stigmer.sdk.resources import ResourceLike, as_resources

R = TypeVar("R", bound=Resource)
E = TypeVar("E", bound=Execution)

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


class Client:
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
        self.home: Path | None = None
        config_model = ""
        if backend is not None:
            if url is not None:
                raise InvalidArgument("pass either url or backend, not both", field="url")
            self.backend, self._owns_backend = backend, False
        elif url is not None:
            self.backend, self._owns_backend = open_server(url, token=token, home=home, ca_cert=ca_cert), True
        else:
            from stigmer.backend.factory import open_backend
            from stigmer.config import home_dir, load_config

            config = load_config(home_dir(home))
            self.home = config.home
            self.backend, self._owns_backend = open_backend(config), True
            config_model = str(config.extra.get("model", "") or "")
        from stigmer.backend.local import LocalBackend

        self.default_model = config_model if default_model is None else default_model
        self.runs_here = isinstance(self.backend, LocalBackend) if run_here is None else run_here
        self.agents = AgentClient(self)
        self.workflows = WorkflowClient(self)
        self.skills = ResourceClient(self, Skill)
        self.mcp_servers = ResourceClient(self, McpServer)
        self.environments = ResourceClient(self, Environment)
        self.sessions = ResourceClient(self, Session)
        self.agent_instances = ResourceClient(self, AgentInstance)
        self.workflow_instances = ResourceClient(self, WorkflowInstance)
        self.executions = ExecutionClient(self)

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
        return self.backend.apply(as_resources(resources), dry_run=dry_run)

    def info(self) -> BackendInfo:
        """What the backend is: type, version, database, counts per kind."""
        return self.backend.info()

    def close(self) -> None:
        """Close the backend this client opened (one passed in stays open)."""
        if self._owns_backend:
            self.backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- seeing runs through ---------------------------------------------------------------

    def _events(self, execution_id: str, after_sequence: int = 0) -> Generator[Event, None, Execution]:
        return runs.drive_sync(
            self.backend,
            execution_id,
            run_here=self.runs_here,
            config_model=self.default_model,
            after_sequence=after_sequence,
        )

    def _stream(self, execution: E, *, check: bool, after_sequence: int = 0) -> ExecutionStream[E]:
        if self.runs_here and runs.in_event_loop():
            raise StigmerError(
                "a stream runs the execution on an event loop of its own; this thread runs one already",
                hint="in asyncio code use stigmer.sdk.aio.AsyncClient: async for event in …",
            )
        return ExecutionStream(execution, self._events(execution.metadata.id, after_sequence), check=check)

    def _wait(self, execution: E, *, check: bool, after_sequence: int = 0) -> E:
        final = runs.exhaust(self._events(execution.metadata.id, after_sequence))
        if check:
            runs.check_finished(final)
        return cast(E, final)

    def _see_through(
        self, execution: E, *, wait: bool, stream: bool, check: bool, after_sequence: int = 0
    ) -> E | ExecutionStream[E]:
        if stream:
            if not wait:
                raise InvalidArgument("a stream follows the run: stream=True needs wait=True", field="wait")
            return self._stream(execution, check=check, after_sequence=after_sequence)
        if not wait:
            return execution
        return self._wait(execution, check=check, after_sequence=after_sequence)


class ResourceClient(Generic[R]):
    """The resources of one kind.

    ``name`` arguments accept a resource's name, slug or id.
    """

    def __init__(self, client: Client, kind: type[R]) -> None:
        self._client = client
        self.kind = kind
        self._info = kind_info(kind)

    @property
    def _backend(self) -> Backend:
        return self._client.backend

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
        return self._backend.apply(as_resources(resources, kind=self._info), dry_run=dry_run)

    def create(self, resource: ResourceLike) -> R:
        """Create one resource.

        Raises:
            AlreadyExists: The name is taken.
        """
        return self._backend.create(self._one(resource, for_apply=True))

    def update(self, resource: ResourceLike) -> R:
        """Replace a resource read before (its ``metadata.version`` is checked).

        Raises:
            Conflict: It changed since it was read.
            NotFound: It does not exist.
        """
        return self._backend.update(self._one(resource, for_apply=False))

    def get(self, name: str) -> R:
        """One resource.

        Raises:
            NotFound: There is none by that name.
        """
        return self._backend.get(self.kind, name)

    def list(self, *, labels: Mapping[str, str] | None = None) -> builtins.list[R]:
        """Every resource of this kind (with all these ``labels``), by name."""
        return builtins.list(self.iter(labels=labels))

    def iter(
        self, *, labels: Mapping[str, str] | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[R]:
        """The resources of this kind, by name, read a page at a time as they are consumed."""
        token = ""
        while True:
            page = self._backend.list(
                self.kind,
                labels=dict(labels or {}),
                page_size=min(page_size, MAX_PAGE_SIZE),
                page_token=token,
            )
            yield from page.items
            token = page.next_page_token
            if not token:
                return

    def delete(self, name: str) -> R:
        """Delete a resource (a definition takes its default instance along); it as it was.

        Raises:
            NotFound: There is none by that name.
        """
        return self._backend.delete(self.kind, name)

    def history(self, name: str) -> builtins.list[ApiResourceVersion]:
        """Every version of a resource, oldest first (a deleted one's too)."""
        return self._backend.history(cast(type[Resource], self.kind), name)

    def rollback(self, name: str, version: int) -> R:
        """Write a new version of a resource equal to an old one."""
        return self._backend.rollback(self.kind, name, version)

    def _one(self, resource: ResourceLike, *, for_apply: bool) -> R:
        made = as_resources([resource], kind=self._info, for_apply=for_apply)
        if len(made) != 1:
            raise InvalidArgument(f"expected one {self._info.kind}, got {len(made)}")
        return cast(R, made[0])


class AgentClient(ResourceClient[Agent]):
    """Agents, and running them."""

    def __init__(self, client: Client) -> None:
        super().__init__(client, Agent)

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
    ) -> AgentExecution: ...

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
    ) -> ExecutionStream[AgentExecution]: ...

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
    ) -> AgentExecution | ExecutionStream[AgentExecution]:
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
        created = runs.new_agent_execution(
            self._backend, name, message, session=session, env=env, model=model, labels=labels
        )
        return self._client._see_through(created, wait=wait, stream=stream, check=check)


class WorkflowClient(ResourceClient[Workflow]):
    """Workflows, and running them."""

    def __init__(self, client: Client) -> None:
        super().__init__(client, Workflow)

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
    ) -> WorkflowExecution: ...

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
    ) -> ExecutionStream[WorkflowExecution]: ...

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
    ) -> WorkflowExecution | ExecutionStream[WorkflowExecution]:
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
        created = runs.new_workflow_execution(self._backend, name, inputs, env=env, labels=labels)
        return self._client._see_through(created, wait=wait, stream=stream, check=check)


class ExecutionClient:
    """Agent and workflow runs: read them, decide their approvals, stop, resume and retry them."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @property
    def _backend(self) -> Backend:
        return self._client.backend

    def get(self, execution_id: str) -> Execution:
        """One run (an AgentExecution or a WorkflowExecution).

        Raises:
            NotFound: There is no such run.
        """
        return self._backend.get_execution(execution_id)

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
    ) -> builtins.list[Execution]:
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
        found: builtins.list[Execution] = []
        for execution in self.iter(query=query):
            if limit is not None and len(found) >= limit:
                break
            found.append(execution)
        return found

    def iter(self, *, query: ExecutionQuery | None = None) -> Iterator[Execution]:
        """Runs matching ``query`` (see :func:`execution_query`), newest first, a page at a time."""
        query = query or ExecutionQuery()
        while True:
            page = self._backend.list_executions(query)
            yield from page.items
            if not page.next_page_token:
                return
            query.page_token = page.next_page_token

    def steps(self, execution_id: str, *, after: int = 0) -> builtins.list[ExecutionStep]:
        """A run's durable steps after step ``after``, in order: model turns, tool calls,
        approvals, task starts and ends."""
        return self._backend.list_steps(execution_id, after=after)

    def cancel(self, execution_id: str) -> Execution:
        """Cancel a run: at once when it is pending or waiting, else at its next step.

        Raises:
            Conflict: It has finished.
        """
        return self._backend.cancel_execution(execution_id)

    @overload
    def approve(
        self, execution_id: str, *, wait: bool = ..., stream: Literal[False] = ..., check: bool = ...
    ) -> Execution: ...

    @overload
    def approve(
        self, execution_id: str, *, wait: bool = ..., stream: Literal[True], check: bool = ...
    ) -> ExecutionStream[Execution]: ...

    def approve(
        self, execution_id: str, *, wait: bool = True, stream: bool = False, check: bool = True
    ) -> Execution | ExecutionStream[Execution]:
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
        return self._decide(execution_id, True, "", wait=wait, stream=stream, check=check)

    @overload
    def reject(
        self,
        execution_id: str,
        reason: str = ...,
        *,
        wait: bool = ...,
        stream: Literal[False] = ...,
        check: bool = ...,
    ) -> Execution: ...

    @overload
    def reject(
        self,
        execution_id: str,
        reason: str = ...,
        *,
        wait: bool = ...,
        stream: Literal[True],
        check: bool = ...,
    ) -> ExecutionStream[Execution]: ...

    def reject(
        self,
        execution_id: str,
        reason: str = "",
        *,
        wait: bool = True,
        stream: bool = False,
        check: bool = True,
    ) -> Execution | ExecutionStream[Execution]:
        """Reject what a run waits for and continue it: an agent is told (with ``reason``) and
        goes on; a workflow's approval task fails (REJECTED). Arguments as :meth:`approve`.

        Raises:
            Conflict: It is not waiting for an approval.
        """
        return self._decide(execution_id, False, reason, wait=wait, stream=stream, check=check)

    def _decide(
        self, execution_id: str, approved: bool, reason: str, *, wait: bool, stream: bool, check: bool
    ) -> Execution | ExecutionStream[Execution]:
        after = 0
        if (wait or stream) and not self._client.runs_here:
            from stigmer.backend.watch import last_step_sequence

            # The server's worker continues it: follow what happens from here on.
            after = last_step_sequence(self._backend, execution_id)
        decided = self._backend.resolve_approval(execution_id, approved=approved, reason=reason)
        return self._client._see_through(decided, wait=wait, stream=stream, check=check, after_sequence=after)

    @overload
    def resume(self, execution_id: str, *, stream: Literal[False] = ..., check: bool = ...) -> Execution: ...

    @overload
    def resume(
        self, execution_id: str, *, stream: Literal[True], check: bool = ...
    ) -> ExecutionStream[Execution]: ...

    def resume(
        self, execution_id: str, *, stream: bool = False, check: bool = True
    ) -> Execution | ExecutionStream[Execution]:
        """Continue a run after its last recorded step (one whose process died): steps on
        record are replayed, never run again. On a server, its worker takes it over once
        the lease of the one that stopped has expired, and this follows it.

        Raises:
            Conflict: It waits for an approval, or has finished.
        """
        current = runs.check_resumable(self._backend, execution_id)
        after = 0
        if not self._client.runs_here:
            from stigmer.backend.watch import last_step_sequence

            after = last_step_sequence(self._backend, execution_id)
        return self._client._see_through(current, wait=True, stream=stream, check=check, after_sequence=after)

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
    ) -> WorkflowExecution: ...

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
    ) -> ExecutionStream[WorkflowExecution]: ...

    def retry(
        self,
        execution_id: str,
        *,
        from_task: str = "",
        definition: Literal["pinned", "latest"] = "pinned",
        wait: bool = True,
        stream: bool = False,
        check: bool = True,
    ) -> WorkflowExecution | ExecutionStream[WorkflowExecution]:
        """Start a new run of a finished workflow run that reuses its recorded task results:
        every task before ``from_task`` (by default: every task that completed) keeps its
        outputs and does not run again.

        Args:
            execution_id: The finished workflow run.
            from_task: Run again from this task and everything after it.
            definition: "pinned" runs the workflow version the run used; "latest" the newest.
            wait, stream, check: As for :meth:`WorkflowClient.execute`.

        Raises:
            InvalidArgument: It is an agent run.
            Conflict: It has not finished.
        """
        created = runs.retried_execution(
            self._backend, execution_id, from_task=from_task, definition=definition
        )
        return self._client._see_through(created, wait=wait, stream=stream, check=check)

    def follow(
        self, execution_id: str, *, after_sequence: int = 0, check: bool = True
    ) -> ExecutionStream[Execution]:
        """The events of a run that something else runs (a worker, a server, another program),
        until it is finished or waits for a person; nothing is run here."""
        current = self._backend.get_execution(execution_id)
        events = runs.drive_sync(self._backend, execution_id, run_here=False, after_sequence=after_sequence)
        return ExecutionStream(current, events, check=check)


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
    "AgentClient",
    "Client",
    "ExecutionClient",
    "ResourceClient",
    "WorkflowClient",
    "execution_query",
    "open_server",
]
