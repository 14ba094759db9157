"""Resources written in Python: the same Agent, Skill, McpServer, Environment and Workflow
that resource files declare.

Each object's ``to_document()`` is the YAML document (camelCase keys, short forms) and
``to_resource()`` is the message ``stigmer apply -f`` decodes from that document: it goes
through the same normalisation, decoding and validation as a file, so a definition in
Python and one in YAML cannot drift apart::

    from stigmer.sdk.authoring import Agent, McpServer, Stdio, Workflow, agent_task
    from stigmer.sdk.functions import task

    helpdesk = McpServer("helpdesk", stdio=Stdio("python", ["helpdesk_server.py"]))
    bot = Agent("support-bot", instructions="Answer briefly.", model="scripted", mcp_servers=[helpdesk])

    @task
    def add(a: int, b: int) -> dict[str, int]:
        return {"sum": a + b}

    total = add.step(a="${workflow.inputs.a}", b=2)
    notes = Workflow(
        "notes",
        inputs={"a": int},
        tasks=[total, agent_task("answer", bot, f"The sum is {total.output('sum')}", depends_on=[total])],
    )

Objects refer to each other by object or by name; a document names what it refers to,
as files do, and ``stigmer apply -f app.py`` (see :mod:`stigmer.sdk.collect`) applies the
objects referred to as well. This module imports nothing heavy until a resource is built.
"""

from __future__ import annotations

import collections.abc
import json
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Literal,
    TypedDict,
    TypeVar,
    Unpack,
    cast,
)

from stigmer.errors import InvalidArgument
from stigmer.sdk.targets import function_target

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from stigmer.api.agent.v1 import agent_pb2
    from stigmer.api.environment.v1 import environment_pb2
    from stigmer.api.mcpserver.v1 import mcpserver_pb2
    from stigmer.api.skill.v1 import skill_pb2
    from stigmer.api.workflow.v1 import workflow_pb2
    from stigmer.resources.kinds import Resource

M = TypeVar("M", bound="Message")

Labels = Mapping[str, str] | None
Duration = str | timedelta
"""A duration as files write it (``30s``, ``5m``, ``1h30m``, ``250ms``) or a timedelta."""


# -- plain values ----------------------------------------------------------------------------


def _plain(value: Any, field: str) -> Any:
    """Data a YAML document can hold: mappings, lists, text, numbers, booleans and null."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{field}[{i}]") for i, v in enumerate(value)]
    raise InvalidArgument(
        f"{type(value).__name__} is not data a resource can hold",
        field=field,
        hint="use text, numbers, booleans, lists and dicts (or a ${…} expression)",
    )


def _items(value: Any) -> list[Any]:
    """A list from a list, a tuple or one item (``skills=policy`` means ``skills=[policy]``)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def duration_text(value: Duration, field: str) -> str:
    """A duration as files write it (a timedelta becomes whole seconds, or milliseconds).

    Raises:
        InvalidArgument: It is neither text nor a timedelta.
    """
    if isinstance(value, timedelta):
        millis = round(value.total_seconds() * 1000)
        return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"
    if not isinstance(value, str):
        raise InvalidArgument(
            f"expected a duration, got {type(value).__name__}", field=field, hint="write e.g. 30s or 5m"
        )
    return value


def _display(filename: str) -> str:
    """A file name as a person typed it: relative to the working directory when under it."""
    try:
        return str(Path(filename).resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return filename


def _caller() -> tuple[str, int]:
    """Where user code called into this module: the file and line of a definition."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return frame.f_code.co_filename, frame.f_lineno


# -- resources -------------------------------------------------------------------------------


class Definition(Generic[M]):
    """What every resource written in Python has: a kind, a name, labels and a document."""

    kind: ClassVar[str] = ""

    def __init__(self, name: str, *, description: str = "", labels: Labels = None) -> None:
        self.name = name
        self.description = description
        self.labels: dict[str, str] = dict(labels or {})
        self.defined_at: tuple[str, int] = _caller()

    @property
    def label(self) -> str:
        """``Kind/name``, as errors name a resource."""
        return f"{self.kind}/{self.name}"

    @property
    def where(self) -> str:
        """``file:line`` of the code that defined this object."""
        filename, line = self.defined_at
        return f"{_display(filename)}:{line}" if filename else ""

    def spec(self) -> dict[str, Any]:
        """The document's ``spec``: camelCase keys, short forms, empty fields left out."""
        raise NotImplementedError

    def dependencies(self) -> list[Definition[Any]]:
        """The objects this one refers to (its document names them)."""
        return []

    def to_document(self) -> dict[str, Any]:
        """The resource document, as a YAML file would write it.

        Raises:
            InvalidArgument: A value a document cannot hold.
        """
        from stigmer.resources.kinds import API_VERSION

        metadata: dict[str, Any] = {"name": self.name}
        if self.labels:
            metadata["labels"] = dict(self.labels)
        try:
            spec = self.spec()
        except InvalidArgument as exc:
            raise self._located(exc) from None
        return {"apiVersion": API_VERSION, "kind": self.kind, "metadata": metadata, "spec": spec}

    def to_resource(self) -> M:
        """The resource message, built and checked exactly as ``stigmer apply -f`` does a file.

        Raises:
            InvalidArgument: Naming the resource and the field (``spec.tasks[1].dependsOn[0]``).
        """
        from stigmer.resources.codec import from_dict
        from stigmer.resources.normalise import normalise
        from stigmer.resources.validate import validate

        data = self.to_document()
        try:
            resource = from_dict(self._message(), normalise(self.kind, data))
            validate(cast("Resource", resource))
        except InvalidArgument as exc:
            raise self._located(exc) from None
        return resource

    def _message(self) -> type[M]:
        raise NotImplementedError

    def _located(self, exc: InvalidArgument) -> InvalidArgument:
        exc.resource = exc.resource or self.label
        exc.source = exc.source or self.where
        return exc

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _name(value: Any, allowed: tuple[type, ...], what: str, field: str) -> str:
    """The name an object or a name refers to."""
    if isinstance(value, str):
        return value
    if isinstance(value, allowed):
        return str(getattr(value, "name", ""))
    raise InvalidArgument(f"expected {what} or its name, got {type(value).__name__}", field=field)


@dataclass(frozen=True)
class EnvSpec:
    """The variables and secrets a definition needs from the Environment it runs with."""

    variables: Sequence[str] = ()
    secrets: Sequence[str] = ()

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.variables:
            doc["variables"] = list(_items(self.variables))
        if self.secrets:
            doc["secrets"] = list(_items(self.secrets))
        return doc


@dataclass(frozen=True)
class Limits:
    """Defaults for every run of an agent: model turns, tokens and wall time."""

    max_turns: int = 0
    max_tokens: int = 0
    timeout: Duration = ""

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.max_turns:
            doc["maxTurns"] = self.max_turns
        if self.max_tokens:
            doc["maxTokens"] = self.max_tokens
        if self.timeout:
            doc["timeout"] = duration_text(self.timeout, "spec.limits.timeout")
        return doc


@dataclass(frozen=True)
class Stdio:
    """An MCP server started as a child process, spoken to over stdio.

    ``env`` values may reference ``${secrets.X}`` and ``${env.X}``.
    """

    command: str
    args: Sequence[str] = ()
    env: Mapping[str, str] | None = None
    working_dir: str = ""

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"command": self.command}
        if self.args:
            doc["args"] = list(_items(self.args))
        if self.env:
            doc["env"] = dict(self.env)
        if self.working_dir:
            doc["workingDir"] = self.working_dir
        return doc


@dataclass(frozen=True)
class Http:
    """An MCP server reached over streamable HTTP; header values may reference ``${secrets.X}``."""

    url: str
    headers: Mapping[str, str] | None = None

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"url": self.url}
        if self.headers:
            doc["headers"] = dict(self.headers)
        return doc


def _transport(stdio: Stdio | None, http: Http | None) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if stdio is not None:
        doc["stdio"] = stdio.to_document()
    if http is not None:
        doc["http"] = http.to_document()
    return doc


class McpServer(Definition["mcpserver_pb2.McpServer"]):
    """A tool server agents use: exactly one of ``stdio`` or ``http``.

    Args:
        name: The resource name agents refer to.
        stdio: Start the server as a child process (``Stdio("python", ["server.py"])``).
        http: Reach it over streamable HTTP (``Http("http://127.0.0.1:8931/mcp")``).
        enabled_tools: When given, only these tools are offered to the model.
        approval_required: Tools whose every call waits for a person's approval.
        timeout: Per tool call, e.g. ``30s``.
    """

    kind = "McpServer"

    def __init__(
        self,
        name: str,
        *,
        stdio: Stdio | None = None,
        http: Http | None = None,
        enabled_tools: Sequence[str] = (),
        approval_required: Sequence[str] = (),
        timeout: Duration = "",
        description: str = "",
        labels: Labels = None,
    ) -> None:
        super().__init__(name, description=description, labels=labels)
        self.stdio = stdio
        self.http = http
        self.enabled_tools = _items(enabled_tools)
        self.approval_required = _items(approval_required)
        self.timeout = timeout

    def use(
        self,
        *,
        enabled_tools: Sequence[str] = (),
        approval_required: Sequence[str] = (),
        timeout: Duration = "",
    ) -> McpServerUse:
        """This server for one agent, narrowed: fewer tools, more approvals, another timeout."""
        return McpServerUse(self, _items(enabled_tools), _items(approval_required), timeout)

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if self.description:
            spec["description"] = self.description
        spec.update(_transport(self.stdio, self.http))
        if self.enabled_tools:
            spec["enabledTools"] = list(self.enabled_tools)
        if self.approval_required:
            spec["approvalRequired"] = list(self.approval_required)
        if self.timeout:
            spec["timeout"] = duration_text(self.timeout, "spec.timeout")
        return spec

    def _message(self) -> type[mcpserver_pb2.McpServer]:
        from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer as Message

        return Message


@dataclass(frozen=True)
class McpServerUse:
    """An McpServer as one agent uses it (see :meth:`McpServer.use`)."""

    server: McpServer | str
    enabled_tools: Sequence[str] = ()
    approval_required: Sequence[str] = ()
    timeout: Duration = ""

    def to_document(self, field: str) -> Any:
        ref = _name(self.server, (McpServer,), "an McpServer", f"{field}.ref")
        doc: dict[str, Any] = {"ref": ref}
        if self.enabled_tools:
            doc["enabledTools"] = list(self.enabled_tools)
        if self.approval_required:
            doc["approvalRequired"] = list(self.approval_required)
        if self.timeout:
            doc["timeout"] = duration_text(self.timeout, f"{field}.timeout")
        return doc if len(doc) > 1 else ref


class Skill(Definition["skill_pb2.Skill"]):
    """Markdown knowledge an agent loads into its context."""

    kind = "Skill"

    def __init__(self, name: str, *, content: str, description: str = "", labels: Labels = None) -> None:
        super().__init__(name, description=description, labels=labels)
        self.content = content

    @classmethod
    def from_file(
        cls, path: str | Path, *, name: str | None = None, description: str = "", labels: Labels = None
    ) -> Skill:
        """A skill whose content is a markdown file; its name defaults to the file's stem."""
        file = Path(path)
        content = file.read_text(encoding="utf-8")
        return cls(name or file.stem, content=content, description=description, labels=labels)

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if self.description:
            spec["description"] = self.description
        spec["content"] = self.content
        return spec

    def _message(self) -> type[skill_pb2.Skill]:
        from stigmer.api.skill.v1.skill_pb2 import Skill as Message

        return Message


McpServerItem = McpServer | McpServerUse | str | Mapping[str, Any]
"""An MCP server of an agent: an object, a narrowed use, a name, or an inline definition (a dict)."""


class Agent(Definition["agent_pb2.Agent"]):
    """An agent: instructions, a model, tool servers, skills and sub-agents.

    Args:
        name: The resource name.
        instructions: The system prompt.
        model: ``"provider/name"`` (``"anthropic/claude-sonnet-4-5"``, ``"scripted"``) or
            ``{"provider": …, "name": …, "options": {…}}``; None for the default model.
        mcp_servers: McpServer objects (applied with the agent), ``server.use(…)``, names of
            McpServer resources, or inline definitions as dicts (``{"name": …, "stdio": …}``).
        skills: Skill objects or names.
        sub_agents: Agent objects or names the model may delegate to, or inline dicts.
        config: Model options (``{"temperature": "0.2"}``); ``config["model"]`` is the model.
        limits: Defaults for every run: ``Limits(max_turns=…, max_tokens=…, timeout=…)``.
        env_spec: The variables and secrets the agent needs from its Environment.
    """

    kind = "Agent"

    def __init__(
        self,
        name: str,
        *,
        instructions: str,
        model: str | Mapping[str, Any] | None = None,
        mcp_servers: Sequence[McpServerItem] = (),
        skills: Sequence[Skill | str] = (),
        sub_agents: Sequence[Agent | str | Mapping[str, Any]] = (),
        description: str = "",
        labels: Labels = None,
        config: Mapping[str, Any] | None = None,
        limits: Limits | None = None,
        env_spec: EnvSpec | None = None,
    ) -> None:
        super().__init__(name, description=description, labels=labels)
        self.instructions = instructions
        self.model = model
        self.mcp_servers: list[McpServerItem] = _items(mcp_servers)
        self.skills: list[Skill | str] = _items(skills)
        self.sub_agents: list[Agent | str | Mapping[str, Any]] = _items(sub_agents)
        self.config = config
        self.limits = limits
        self.env_spec = env_spec

    def dependencies(self) -> list[Definition[Any]]:
        found: list[Definition[Any]] = []
        for server in self.mcp_servers:
            target = server.server if isinstance(server, McpServerUse) else server
            if isinstance(target, McpServer):
                found.append(target)
        found += [s for s in self.skills if isinstance(s, Skill)]
        found += [a for a in self.sub_agents if isinstance(a, Agent) and a is not self]
        return found

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if self.description:
            spec["description"] = self.description
        spec["instructions"] = self.instructions
        if self.model is not None:
            spec["model"] = _plain(self.model, "spec.model")
        if self.config:
            spec["config"] = _plain(self.config, "spec.config")
        if self.mcp_servers:
            spec["mcpServers"] = [
                self._server(s, f"spec.mcpServers[{i}]") for i, s in enumerate(self.mcp_servers)
            ]
        if self.skills:
            spec["skills"] = [
                _name(s, (Skill,), "a Skill", f"spec.skills[{i}]") for i, s in enumerate(self.skills)
            ]
        if self.sub_agents:
            spec["subAgents"] = [
                _plain(a, f"spec.subAgents[{i}]")
                if isinstance(a, Mapping)
                else _name(a, (Agent,), "an Agent", f"spec.subAgents[{i}]")
                for i, a in enumerate(self.sub_agents)
            ]
        if self.env_spec is not None and self.env_spec.to_document():
            spec["envSpec"] = self.env_spec.to_document()
        if self.limits is not None and self.limits.to_document():
            spec["limits"] = self.limits.to_document()
        return spec

    @staticmethod
    def _server(server: McpServerItem, field: str) -> Any:
        if isinstance(server, McpServerUse):
            return server.to_document(field)
        if isinstance(server, Mapping):
            return _plain(server, field)
        return _name(server, (McpServer,), "an McpServer", field)

    def _message(self) -> type[agent_pb2.Agent]:
        from stigmer.api.agent.v1.agent_pb2 import Agent as Message

        return Message


class Environment(Definition["environment_pb2.Environment"]):
    """Variables and secrets an execution runs with; secrets are sealed when written.

    Secrets written here are plaintext in your code and in ``stigmer synth`` output: read
    them from the process environment (``os.environ["TOKEN"]``) rather than writing them down.
    """

    kind = "Environment"

    def __init__(
        self,
        name: str,
        *,
        variables: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        description: str = "",
        labels: Labels = None,
    ) -> None:
        super().__init__(name, description=description, labels=labels)
        self.variables = dict(variables or {})
        self.secrets = dict(secrets or {})

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if self.description:
            spec["description"] = self.description
        if self.variables:
            spec["variables"] = _plain(self.variables, "spec.variables")
        if self.secrets:
            spec["secrets"] = _plain(self.secrets, "spec.secrets")
        return spec

    def _message(self) -> type[environment_pb2.Environment]:
        from stigmer.api.environment.v1.environment_pb2 import Environment as Message

        return Message


# -- workflows ---------------------------------------------------------------------------------

_INPUT_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
    tuple: "array",
    collections.abc.Mapping: "object",
    collections.abc.Sequence: "array",
}


@dataclass(frozen=True)
class Input:
    """A declared workflow input: its type and, optionally, a default and a description.

    ``type`` is a Python type (``str``, ``int``, ``float``, ``bool``, ``dict``, ``list``,
    ``list[str]``…) or a type name (``"string"``, ``"integer"``, ``"number"``,
    ``"boolean"``, ``"object"``, ``"array"``). An input with a default is optional.
    """

    type: Any
    default: Any = None
    description: str = ""
    required: bool | None = None


def _input_type(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    base = typing.get_origin(value) or value
    if base in _INPUT_TYPES:
        return _INPUT_TYPES[base]
    raise InvalidArgument(
        f"no input type for {value!r}",
        field=field,
        hint="use str, int, float, bool, dict or list (or string, integer, number, boolean, object, array)",
    )


def _input(value: Any, field: str) -> Any:
    declared = value if isinstance(value, Input) else Input(value)
    kind = _input_type(declared.type, f"{field}.type")
    doc: dict[str, Any] = {"type": kind}
    if declared.description:
        doc["description"] = declared.description
    if declared.required is not None:
        doc["required"] = declared.required
    if declared.default is not None:
        doc["default"] = _plain(declared.default, f"{field}.default")
    return kind if len(doc) == 1 else doc


@dataclass(frozen=True)
class Retry:
    """How often a task is tried, and how long to wait between tries.

    Durations are text (``1s``, ``2m``) or timedeltas; unset fields take the engine's
    defaults (1s initial, 60s max, multiplier 2).
    """

    max_attempts: int
    initial: Duration = ""
    max: Duration = ""
    multiplier: float = 0.0
    jitter: bool = False

    def to_document(self, field: str) -> dict[str, Any]:
        backoff: dict[str, Any] = {}
        if self.initial:
            backoff["initial"] = duration_text(self.initial, f"{field}.backoff.initial")
        if self.max:
            backoff["max"] = duration_text(self.max, f"{field}.backoff.max")
        if self.multiplier:
            backoff["multiplier"] = self.multiplier
        if self.jitter:
            backoff["jitter"] = True
        doc: dict[str, Any] = {"maxAttempts": self.max_attempts}
        if backoff:
            doc["backoff"] = backoff
        return doc


OnError = Literal["fail", "continue"] | Mapping[str, Any] | None
"""``"continue"``, ``"fail"`` (the default) or ``{"output": {…}}``, the outputs of a failed task."""


class Common(TypedDict, total=False):
    """Options every task takes."""

    depends_on: Sequence[Task | str]
    when: str
    retry: Retry | int | None
    timeout: Duration
    on_error: OnError


class ApprovalCommon(TypedDict, total=False):
    """Options of an approval task (its ``timeout`` is the approval's own)."""

    depends_on: Sequence[Task | str]
    when: str
    retry: Retry | int | None
    on_error: OnError


class Task:
    """One task of a workflow. Build tasks with :func:`agent_task`, :func:`set_task`,
    :func:`http_task`, :func:`switch`, :func:`for_each`, :func:`approval`, :func:`wait`,
    :func:`workflow_task`, :func:`python_task`, or a ``@task`` function's ``.step()``.
    """

    def __init__(
        self,
        name: str,
        kind: str,
        value: Any,
        *,
        message: str = "",
        inputs: Mapping[str, Any] | None = None,
        outputs: Sequence[str] = (),
        depends_on: Sequence[Task | str] = (),
        when: str = "",
        retry: Retry | int | None = None,
        timeout: Duration = "",
        on_error: OnError = None,
        uses: Sequence[Definition[Any] | Task] = (),
    ) -> None:
        self.name = name
        self.kind = kind
        self.value = value
        self.message = message
        self.inputs = dict(inputs) if inputs is not None else None
        self.outputs = _items(outputs)
        self.depends_on: list[Task | str] = _items(depends_on)
        self.when = when
        self.retry = Retry(retry) if isinstance(retry, int) else retry
        self.timeout = timeout
        self.on_error = on_error
        self.uses = list(uses)

    def output(self, key: str = "") -> str:
        """An expression for this task's result: ``output("sum")`` is ``${tasks.NAME.outputs.sum}``.

        Without a key: an agent task's answer (``${tasks.NAME.output}``), or the whole
        outputs of any other task. Using it in another task makes that task wait for this one.
        """
        if key:
            return f"${{tasks.{self.name}.outputs.{key}}}"
        return f"${{tasks.{self.name}.output}}" if self.kind == "agent" else f"${{tasks.{self.name}.outputs}}"

    def dependencies(self) -> list[Definition[Any]]:
        """The agents and workflows this task runs (and those of the task it loops over)."""
        found: list[Definition[Any]] = []
        for used in self.uses:
            found += used.dependencies() if isinstance(used, Task) else [used]
        return found

    def to_document(self, field: str = "task") -> dict[str, Any]:
        """The task as a workflow file writes it."""
        doc: dict[str, Any] = {"name": self.name}
        if self.depends_on:
            doc["dependsOn"] = [
                _name(d, (Task,), "a Task", f"{field}.dependsOn[{i}]") for i, d in enumerate(self.depends_on)
            ]
        if self.when:
            doc["when"] = self.when
        doc[self.kind] = self._value(f"{field}.{self.kind}")
        if self.message:
            doc["message"] = self.message
        if self.inputs is not None:
            doc["inputs"] = _plain(self.inputs, f"{field}.inputs")
        if self.outputs:
            doc["outputs"] = list(self.outputs)
        if self.retry is not None:
            doc["retry"] = self.retry.to_document(f"{field}.retry")
        if self.timeout:
            doc["timeout"] = duration_text(self.timeout, f"{field}.timeout")
        if self.on_error is not None:
            doc["onError"] = _plain(self.on_error, f"{field}.onError")
        return doc

    def _value(self, field: str) -> Any:
        value = self.value
        if isinstance(value, Definition):
            return value.name
        if isinstance(value, Task):
            return value.to_document(field)
        if isinstance(value, dict) and any(isinstance(v, Task) for v in value.values()):
            # A task a kind holds (a forEach's ``do``) is written as a task.
            return {
                k: v.to_document(f"{field}.{k}") if isinstance(v, Task) else _plain(v, f"{field}.{k}")
                for k, v in value.items()
            }
        return _plain(value, field)

    def __repr__(self) -> str:
        return f"Task({self.name!r}, {self.kind})"


def agent_task(
    name: str,
    agent: Agent | str,
    message: str = "",
    *,
    inputs: Mapping[str, Any] | None = None,
    outputs: Sequence[str] = (),
    **common: Unpack[Common],
) -> Task:
    """Run an agent (a child run) with ``message`` and/or ``inputs``.

    ``outputs=["title", "body"]`` asks the agent for JSON with those keys; otherwise the
    task's outputs are ``{"output": TEXT}``.
    """
    target = agent if isinstance(agent, Agent) else _name(agent, (), "an Agent", "agent")
    uses = [agent] if isinstance(agent, Agent) else []
    return Task(name, "agent", target, message=message, inputs=inputs, outputs=outputs, uses=uses, **common)


def set_task(name: str, values: Mapping[str, Any], **common: Unpack[Common]) -> Task:
    """Compute values (``${…}`` expressions, or constants); the map is the task's outputs."""
    return Task(name, "set", dict(values), **common)


def http_task(
    name: str,
    url: str,
    *,
    method: str = "",
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    body: Any = None,
    expect_status: Sequence[int] = (),
    **common: Unpack[Common],
) -> Task:
    """One HTTP request; the outputs are ``{status, headers, body}``.

    ``method`` defaults to GET, or POST when there is a body. ``expect_status`` lists the
    accepted status codes (any 2xx when empty).
    """
    request: dict[str, Any] = {}
    if method:
        request["method"] = method
    request["url"] = url
    if headers:
        request["headers"] = dict(headers)
    if query:
        request["query"] = dict(query)
    if body is not None:
        request["body"] = body
    if expect_status:
        request["expectStatus"] = list(_items(expect_status))
    return Task(name, "http", request, **common)


def switch(
    name: str,
    cases: Sequence[tuple[str, Sequence[Task | str]]],
    default: Sequence[Task | str] = (),
    **common: Unpack[Common],
) -> Task:
    """Enable the tasks of the first case whose condition holds (else those of ``default``).

    ``cases`` is a list of ``(condition, [tasks])``; tasks are objects or names.
    """
    body: dict[str, Any] = {
        "cases": [
            {
                "when": when,
                "then": [_name(t, (Task,), "a Task", f"switch.cases[{i}].then") for t in _items(then)],
            }
            for i, (when, then) in enumerate(cases)
        ]
    }
    if default:
        body["default"] = [_name(t, (Task,), "a Task", "switch.default") for t in _items(default)]
    return Task(name, "switch", body, **common)


def for_each(
    name: str, items: str | Sequence[Any], do: Task, *, concurrency: int = 0, **common: Unpack[Common]
) -> Task:
    """Run ``do`` once per item (``item`` and ``index`` in its expressions).

    ``items`` is an expression that yields a list (``"${workflow.inputs.recipients}"``) or a
    list of constants. At most ``concurrency`` run at once (default 4).
    """
    expression = items if isinstance(items, str) else "${" + json.dumps(_plain(items, "forEach.items")) + "}"
    body: dict[str, Any] = {"items": expression}
    if concurrency:
        body["concurrency"] = concurrency
    body["do"] = do
    return Task(name, "forEach", body, uses=[do], **common)


def approval(
    name: str,
    message: str = "",
    *,
    timeout: Duration = "",
    on_timeout: Literal["", "approve", "reject"] = "",
    **common: Unpack[ApprovalCommon],
) -> Task:
    """Wait for a person: ``stigmer execution approve|reject``. A rejection fails the task.

    After ``timeout`` the approval is decided by ``on_timeout`` (rejected by default).
    """
    body: dict[str, Any] = {}
    if message:
        body["message"] = message
    if timeout:
        body["timeout"] = duration_text(timeout, "approval.timeout")
    if on_timeout:
        body["onTimeout"] = on_timeout
    return Task(name, "approval", body, **common)


def wait(name: str, duration: Duration, **common: Unpack[Common]) -> Task:
    """A durable timer: the run waits (holding no worker) and survives restarts."""
    return Task(name, "wait", {"duration": duration_text(duration, "wait.duration")}, **common)


def workflow_task(
    name: str, workflow: Workflow | str, *, inputs: Mapping[str, Any] | None = None, **common: Unpack[Common]
) -> Task:
    """Run another workflow (a child run); its outputs are this task's outputs."""
    target = workflow if isinstance(workflow, Workflow) else _name(workflow, (), "a Workflow", "workflow")
    uses = [workflow] if isinstance(workflow, Workflow) else []
    return Task(name, "workflow", target, inputs=inputs, uses=uses, **common)


def python_task(
    name: str,
    function: str | Callable[..., Any],
    *,
    inputs: Mapping[str, Any] | None = None,
    **common: Unpack[Common],
) -> Task:
    """Call a Python function (``"module:function"``, or the function) with ``inputs`` as
    keyword arguments; the dict it returns is the task's outputs.

    The worker that runs the task imports the module. A ``@task`` function's ``.step()``
    builds this task and checks its inputs against the function's parameters.
    """
    target = function if isinstance(function, str) else function_target(function)
    return Task(name, "python", target, inputs=inputs, **common)


class Workflow(Definition["workflow_pb2.Workflow"]):
    """A graph of tasks with typed inputs and outputs.

    Args:
        name: The resource name.
        tasks: The tasks, built with :func:`agent_task`, :func:`set_task`, … or ``fn.step()``.
        inputs: ``{"week": str, "count": int, "audience": Input(str, default="customers")}``;
            type names (``"integer"``) are accepted too.
        outputs: Expressions evaluated when every task is done (``{"sum": step.output("sum")}``).
        env_spec: The variables and secrets the workflow needs from its Environment.
    """

    kind = "Workflow"

    def __init__(
        self,
        name: str,
        *,
        tasks: Sequence[Task],
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        description: str = "",
        labels: Labels = None,
        env_spec: EnvSpec | None = None,
    ) -> None:
        super().__init__(name, description=description, labels=labels)
        self.tasks: list[Task] = _items(tasks)
        self.inputs = dict(inputs or {})
        self.outputs = dict(outputs or {})
        self.env_spec = env_spec

    def dependencies(self) -> list[Definition[Any]]:
        found: list[Definition[Any]] = []
        for t in self.tasks:
            found += [d for d in t.dependencies() if d is not self]
        return found

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if self.description:
            spec["description"] = self.description
        if self.inputs:
            spec["inputs"] = {k: _input(v, f"spec.inputs.{k}") for k, v in self.inputs.items()}
        tasks: list[Any] = []
        for i, t in enumerate(self.tasks):
            if not isinstance(t, Task):
                raise InvalidArgument(
                    f"expected a task, got {type(t).__name__}",
                    field=f"spec.tasks[{i}]",
                    hint="build tasks with agent_task(), set_task(), … or a @task function's .step()",
                )
            tasks.append(t.to_document(f"spec.tasks[{i}]"))
        spec["tasks"] = tasks
        if self.outputs:
            spec["outputs"] = _plain(self.outputs, "spec.outputs")
        if self.env_spec is not None and self.env_spec.to_document():
            spec["envSpec"] = self.env_spec.to_document()
        return spec

    def _message(self) -> type[workflow_pb2.Workflow]:
        from stigmer.api.workflow.v1.workflow_pb2 import Workflow as Message

        return Message


__all__ = [
    "Agent",
    "ApprovalCommon",
    "Common",
    "Definition",
    "Duration",
    "EnvSpec",
    "Environment",
    "Http",
    "Input",
    "Limits",
    "McpServer",
    "McpServerItem",
    "McpServerUse",
    "OnError",
    "Retry",
    "Skill",
    "Stdio",
    "Task",
    "Workflow",
    "agent_task",
    "approval",
    "for_each",
    "http_task",
    "python_task",
    "set_task",
    "switch",
    "wait",
    "workflow_task",
]
