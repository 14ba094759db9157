"""One MCP server: start it (stdio) or reach it (streamable HTTP), list its tools, call them.

Importing this module imports the ``mcp`` SDK (about half a second), so only
:class:`~stigmer.mcp.servers.ToolServers` imports it, when servers are actually opened.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

import anyio
import httpx2
import mcp_types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, get_default_environment, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from stigmer import policy
from stigmer.errors import StigmerError
from stigmer.mcp.groups import root_cause
from stigmer.mcp.types import (
    Elicitation,
    ListedTool,
    McpServerError,
    SamplingRequest,
    ServerSpec,
    Tool,
    ToolResult,
)
from stigmer.models.types import ToolSpec
from stigmer.version import __version__

STDERR_TAIL_LINES = 20
# Enough for 20 long lines; reading the whole file could be megabytes of server logs.
_STDERR_TAIL_BYTES = 16 * 1024
# Beyond the SDK's (HOME, LOGNAME, PATH, SHELL, TERM, USER): locale and temp dir, so servers
# decode text and write temp files as they would in a shell. Nothing else from our own
# environment (API keys, tokens) reaches a server unless its spec names it.
_EXTRA_INHERITED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")
# A server paginating forever must not hang start-up.
_MAX_TOOL_PAGES = 100
# Connect, write and pool timeouts of the HTTP client; reads wait for slow tools (the
# per-call timeout bounds those).
_HTTP_TIMEOUT_S = 30.0
_HTTP_READ_TIMEOUT_S = 300.0


def server_environment(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a stdio server: a minimal safe set, then ``extra`` over it."""
    env = get_default_environment()
    env.update({key: os.environ[key] for key in _EXTRA_INHERITED_ENV if key in os.environ})
    env.update(extra)
    return env


class ServerConnection:
    """A session with one MCP server, kept open by :meth:`serve` until :meth:`close`.

    The SDK's transports run inside task groups: entered in the caller's task, a transport
    failure (an HTTP server going away) would cancel the caller mid-await. So each
    connection lives in a task of its own, and callers only send requests through it; if
    the connection fails, calls in flight are cancelled and raise :class:`McpServerError`.

    Implements :class:`~stigmer.mcp.toolset.Toolset` with every tool the server lists.

    Args:
        spec: How to start or reach the server.
        errlog: A real file (with a descriptor) that receives the stdio server's stderr, so
            errors can show its tail; without one the server writes to our stderr.
    """

    def __init__(self, spec: ServerSpec, errlog: TextIO | None = None) -> None:
        self.spec = spec
        self._errlog = errlog
        self._client: Client | None = None
        self._tools: list[Tool] = []
        self._listed: list[ListedTool] = []
        self._failure: str | None = None
        self._hint = ""
        self._sign_in_needed = False
        self._started = anyio.Event()  # set when ready, or when start-up failed
        self._stop = anyio.Event()
        self._done = anyio.Event()
        self._scope = anyio.CancelScope()
        self._calls: set[anyio.CancelScope] = set()
        # While the server waits for a person (elicitation), the calls' timeouts stand still:
        # (number of such waits, what each call had left when the first began).
        self._pauses = 0
        self._left: dict[anyio.CancelScope, float] = {}

    @property
    def name(self) -> str:
        """The server's name, as its spec gives it."""
        return self.spec.name

    @property
    def failed(self) -> bool:
        """Whether the server failed to start, or died."""
        return self._failure is not None

    def error(self) -> McpServerError:
        """What went wrong (or that the session is closed), with the tail of the server's stderr."""
        if self._failure is None:
            return McpServerError(self.name, "is closed; open the servers again to call its tools")
        waits = self._sign_in_needed and self.spec.oauth is not None and self.spec.oauth.wait_for_sign_in
        return McpServerError(
            self.name, self._failure, stderr_tail=self.stderr_tail(), hint=self._hint, waits_for_sign_in=waits
        )

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        """The last ``lines`` lines the stdio server wrote to stderr (empty for HTTP)."""
        if self._errlog is None or self._errlog.closed:
            return ""
        fd = self._errlog.fileno()
        size = os.fstat(fd).st_size
        start = max(0, size - _STDERR_TAIL_BYTES)
        # pread leaves the shared file offset alone: the server writes through the same one.
        text = os.pread(fd, size - start, start).decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:]).strip()

    async def serve(self) -> None:
        """Connect, list the tools, then hold the session open until :meth:`close`.

        Never raises (bar cancellation): a failure is recorded, and raised by calls.
        """
        try:
            with self._scope:
                try:
                    async with AsyncExitStack() as stack:
                        self._client = await stack.enter_async_context(await self._open_client(stack))
                        self._tools = await self._list_tools(self._client)
                        self._started.set()
                        await self._stop.wait()
                except Exception as exc:
                    self._fail(self._describe(exc))
                except BaseExceptionGroup as group:
                    # A transport failure tangled with a cancellation: keep the failure (this
                    # task ends here anyway); anything else, like KeyboardInterrupt, goes on.
                    _, errors = group.split(anyio.get_cancelled_exc_class())
                    if errors is None or not isinstance(errors, ExceptionGroup):
                        raise
                    self._fail(self._describe(errors))
        finally:
            self._done.set()
            self._started.set()
            for scope in self._calls:
                scope.cancel()

    async def wait_started(self) -> None:
        """Wait until the server is ready, or has failed or outrun its start-up timeout."""
        timeout = self.spec.startup_timeout_s
        with anyio.move_on_after(timeout):
            await self._started.wait()
        if not self._started.is_set():
            self._fail(f"did not start within {timeout:g}s")
            self._scope.cancel()
        if self.failed:
            # Only once it has stopped is its stderr complete (and the process reaped).
            await self._done.wait()

    async def close(self, grace_s: float) -> None:
        """Stop the session (and the stdio server); cut it short after ``grace_s`` seconds."""
        self._stop.set()
        # Still starting, it is not listening for the stop: cut it short at once.
        if self._started.is_set():
            with anyio.move_on_after(grace_s):
                await self._done.wait()
        self._scope.cancel()
        await self._done.wait()

    def tools(self) -> list[Tool]:
        """Every tool the server listed when it started that Stigmer can call."""
        return list(self._tools)

    def listed(self) -> list[ListedTool]:
        """Every tool the server listed, with why it is not offered where it is not."""
        return list(self._listed)

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call a tool, within the spec's tool timeout.

        The tool's own failure, a JSON-RPC error answering the call and a timeout all come
        back as ``ToolResult(is_error=True)``, for the model to read.

        Raises:
            McpServerError: The server died (before or during the call) or was closed.
        """
        client = self._client
        if client is None or self._done.is_set():
            raise self.error()
        timeout = self.spec.tool_timeout_s
        scope = anyio.move_on_after(timeout)
        self._calls.add(scope)
        result: mcp_types.CallToolResult | None = None
        try:
            with scope:
                result = await client.call_tool(name, arguments)
        except MCPError as exc:
            if exc.code != mcp_types.CONNECTION_CLOSED:
                return ToolResult(f"tool {name} failed: {exc.message}", is_error=True)
            self._fail(self._gone())
            raise self.error() from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._fail(self._gone())
            raise self.error() from None
        except ValidationError as exc:
            return ToolResult(f"tool {name} returned a malformed result: {exc}", is_error=True)
        finally:
            self._calls.discard(scope)
        if self._done.is_set():  # the session ended while we waited (serve cancelled this call)
            raise self.error()
        if result is None:
            return ToolResult(f"tool {name} timed out after {timeout:g}s", is_error=True)
        return to_tool_result(result)

    async def _open_client(self, stack: AsyncExitStack) -> Client:
        spec = self.spec
        info = mcp_types.Implementation(name="stigmer", version=__version__)
        rules = policy.current()
        if spec.url:
            self._hint = f"check that the server is running and that {spec.url} is its MCP endpoint"
            await anyio.to_thread.run_sync(rules.check_url, spec.url)
            auth = _oauth(spec, stack)
            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    headers=spec.headers,
                    timeout=httpx2.Timeout(_HTTP_TIMEOUT_S, read=_HTTP_READ_TIMEOUT_S),
                    auth=auth,
                )
            )
            return Client(
                streamable_http_client(spec.url, http_client=http),
                client_info=info,
                cache=None,
                **self._callbacks(),
            )
        self._hint = "run the command by hand to see why it fails"
        rules.check_command(spec.command)
        if spec.working_dir and not Path(spec.working_dir).is_dir():
            raise NotADirectoryError(f"working directory {spec.working_dir!r} does not exist")
        params = StdioServerParameters(
            command=spec.command,
            args=spec.args,
            env=server_environment(spec.env),
            cwd=spec.working_dir or None,
        )
        # Without a file of ours, the server shares our stderr (as with the SDK's default).
        errlog = self._errlog if self._errlog is not None else sys.stderr
        return Client(stdio_client(params, errlog=errlog), client_info=info, cache=None, **self._callbacks())

    def _callbacks(self) -> dict[str, Any]:
        # A capability is declared only when it is configured: servers change what they offer
        # by what the client declares (server-everything's get-roots-list, for one).
        # Elicitation is always declared, so that a listing offers what a run offers.
        callbacks: dict[str, Any] = {"elicitation_callback": self._elicit}
        if self.spec.roots:
            roots = mcp_types.ListRootsResult.model_validate(
                {
                    "roots": [
                        {"uri": uri, "name": Path(unquote(urlsplit(uri).path)).name}
                        for uri in self.spec.roots
                    ]
                }
            )

            async def list_roots(context: Any) -> mcp_types.ListRootsResult:
                return roots

            callbacks["list_roots_callback"] = list_roots
        from stigmer.mcp.sampling import DENY, policy

        if policy(self.spec.sampling) != DENY:
            callbacks["sampling_callback"] = self._sample
        return callbacks

    async def _sample(self, context: Any, params: mcp_types.CreateMessageRequestParams) -> Any:
        from stigmer.mcp.sampling import ASK, REJECTED, policy, sampling_text

        if self.spec.sampler is None:  # a listing: no model to answer with
            return mcp_types.ErrorData(
                code=mcp_types.INVALID_REQUEST, message="no model can answer outside an agent run"
            )
        if policy(self.spec.sampling) == ASK:
            person = self.spec.person
            allowed = False
            if person is not None:
                with self._timeouts_paused():
                    request = SamplingRequest(sampling_text(params), params.max_tokens)
                    allowed = await person.allow_sampling(self.name, request)
            if not allowed:
                return mcp_types.ErrorData(code=REJECTED, message="the user rejected the sampling request")
        return await self.spec.sampler(context, params)

    async def _elicit(
        self, context: Any, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult | mcp_types.ErrorData:
        person = self.spec.person
        if person is None:  # no run to park (a listing): nobody can answer
            return mcp_types.ErrorData(
                code=mcp_types.INVALID_REQUEST, message="no person can answer outside an agent run"
            )
        if isinstance(params, mcp_types.ElicitRequestURLParams):
            request = Elicitation(
                params.message, mode="url", url=params.url, elicitation_id=params.elicitation_id or ""
            )
        else:
            request = Elicitation(params.message, requested_schema=dict(params.requested_schema))
        with self._timeouts_paused():
            answer = await person.elicit(self.name, request)
        content = answer.content if answer.action == "accept" and request.mode == "form" else None
        return mcp_types.ElicitResult(action=answer.action, content=content)  # type: ignore[arg-type]

    @contextmanager
    def _timeouts_paused(self) -> Iterator[None]:
        """Stop the clock of the calls in flight while a person is asked: a tool's timeout
        bounds the tool's own work, not how long somebody takes to answer it."""
        self._pauses += 1
        if self._pauses == 1:
            now = anyio.current_time()
            self._left = {scope: scope.deadline - now for scope in self._calls}
            for scope in self._left:
                scope.deadline = math.inf
        try:
            yield
        finally:
            self._pauses -= 1
            if self._pauses == 0:
                now = anyio.current_time()
                for scope, left in self._left.items():
                    scope.deadline = now + left
                self._left = {}

    async def _list_tools(self, client: Client) -> list[Tool]:
        listed: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_TOOL_PAGES):
            page = await client.list_tools(cursor=cursor)
            listed.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        self._listed = [to_listed(self.name, tool) for tool in listed]
        unsupported = {t.name for t in self._listed if t.unsupported}
        return [to_tool(self.name, tool) for tool in listed if tool.name not in unsupported]

    def _gone(self) -> str:
        if self.spec.url:
            return f"closed the connection ({self.spec.url})"
        return "exited (or closed its stdout)"

    def _fail(self, message: str) -> None:
        if self._failure is None:
            self._failure = message

    def _describe(self, exc: BaseException) -> str:
        cause = root_cause(exc)
        starting = not self._started.is_set()
        when = " during start-up" if starting else ""
        if isinstance(cause, NotADirectoryError):
            return str(cause)
        if isinstance(cause, policy.PolicyRefusal):
            self._hint = cause.hint
            return cause.message
        if isinstance(cause, StigmerError):  # a sign-in needed or refused: its own words
            from stigmer.mcp.credentials import SignInRequired

            self._sign_in_needed = isinstance(cause, SignInRequired)
            self._hint = cause.hint or self._hint
            return cause.message.removeprefix(f"MCP server {self.name!r} ")
        if isinstance(cause, FileNotFoundError) and not self.spec.url:
            self._hint = "install it, or give its full path"
            return f"command {self.spec.command!r} not found"
        if isinstance(cause, PermissionError) and not self.spec.url:
            return f"command {self.spec.command!r} cannot be run: {cause.strerror}"
        if isinstance(cause, MCPError) and cause.code == mcp_types.CONNECTION_CLOSED:
            return self._gone() + when
        if isinstance(cause, httpx2.HTTPError):
            return f"cannot reach {self.spec.url}{when}: {type(cause).__name__}: {cause}"
        return f"failed{when}: {type(cause).__name__}: {cause}"


def _oauth(spec: ServerSpec, stack: AsyncExitStack) -> httpx2.Auth | None:
    if spec.oauth is None:
        return None
    from stigmer.mcp.credentials import INTERACTIVE
    from stigmer.mcp.oauth import oauth_auth

    person = INTERACTIVE.get()
    interaction = stack.enter_context(person(spec.name)) if person is not None else None
    return oauth_auth(spec.url, spec.oauth, interaction)


def to_tool(server: str, tool: mcp_types.Tool) -> Tool:
    """Our view of a tool an MCP server lists."""
    spec = ToolSpec(
        name=tool.name, description=tool.description or tool.title or "", parameters=tool.input_schema
    )
    return Tool(server=server, spec=spec)


TASK_REQUIRED = "runs only as an MCP task (taskSupport: required), which Stigmer does not support"


def to_listed(server: str, tool: mcp_types.Tool) -> ListedTool:
    """A tool as the server lists it, and why Stigmer does not offer it, if it does not."""
    support = (tool.execution.task_support if tool.execution else None) or ""
    return ListedTool(
        server=server,
        name=tool.name,
        description=tool.description or tool.title or "",
        input_schema=dict(tool.input_schema),
        task_support=support,
        unsupported=TASK_REQUIRED if support == "required" else "",
    )


def to_tool_result(result: mcp_types.CallToolResult) -> ToolResult:
    """The text a model reads from a tool result: text blocks as they are, others described."""
    parts = [_content_text(block) for block in result.content]
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(parts)
    limit = policy.current().max_response_bytes
    if len(text) > limit:  # characters: at least as many bytes, so never past the limit
        return ToolResult(
            f"the tool result is larger than {limit} bytes (server.http.maxResponseBytes); "
            "nothing of it is kept",
            is_error=True,
        )
    return ToolResult(text, is_error=bool(result.is_error))


def _content_text(block: mcp_types.ContentBlock) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
        return f"[{block.type} {block.mime_type}, {len(block.data)} base64 characters]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource {block.uri}]"
    resource = block.resource
    if isinstance(resource, mcp_types.TextResourceContents):
        return resource.text
    return f"[resource {resource.uri} ({resource.mime_type or 'binary'})]"


__all__ = [
    "STDERR_TAIL_LINES",
    "TASK_REQUIRED",
    "ServerConnection",
    "root_cause",
    "server_environment",
    "to_listed",
    "to_tool",
    "to_tool_result",
]
