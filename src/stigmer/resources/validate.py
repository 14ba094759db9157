"""Semantic checks of a resource, beyond its shape: names, required fields, task graphs.

The backend runs these on every write, whichever client sent the resource. Each error
names the field (``spec.tasks[2].dependsOn[0]``) so a file's line can be found for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

from stigmer.api.agent.v1.agent_pb2 import Agent, McpServerUsage, SubAgent
from stigmer.api.agentinstance.v1.agentinstance_pb2 import AgentInstance
from stigmer.api.common.v1.metadata_pb2 import ApiResourceMetadata, ModelConfig
from stigmer.api.environment.v1.environment_pb2 import Environment
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.api.skill.v1.skill_pb2 import Skill
from stigmer.api.workflow.v1.workflow_pb2 import Task, Workflow, WorkflowSpec
from stigmer.api.workflowinstance.v1.workflowinstance_pb2 import WorkflowInstance
from stigmer.errors import InvalidArgument
from stigmer.resources import expressions, task_fields
from stigmer.resources.bounds import check_limits, check_run_timeout, check_task_bounds
from stigmer.resources.kinds import Resource, kind_info
from stigmer.resources.names import validate_label_key, validate_name
from stigmer.resources.task_kinds import TaskKindSpec, all_kinds, kind_of

INPUT_TYPES = ("string", "number", "integer", "boolean", "object", "array")
ON_ERROR_ACTIONS = ("fail", "continue")


def validate_metadata(metadata: ApiResourceMetadata) -> str:
    """Check name, labels and annotations; return the slug."""
    slug = validate_name(metadata.name)
    for key in metadata.labels:
        validate_label_key(key, field=f"metadata.labels.{key}")
    for key in metadata.annotations:
        validate_label_key(key, field=f"metadata.annotations.{key}")
    return slug


def _reference(value: str, field: str) -> None:
    if value:
        validate_name(value, field=field)


def _model(model: ModelConfig, field: str) -> None:
    if model.name and not model.provider:
        raise InvalidArgument(
            "a model needs a provider", field=f"{field}.provider", hint="write provider/name"
        )


def _mcp_usage(usage: McpServerUsage, field: str) -> None:
    transport = usage.WhichOneof("transport")
    if usage.ref:
        _reference(usage.ref, f"{field}.ref")
        if transport or usage.name:
            raise InvalidArgument(
                "an MCP server is either a reference (ref) or inline (name and stdio/http), not both",
                field=field,
            )
    elif not transport:
        raise InvalidArgument(
            "an MCP server needs a ref to an McpServer resource, or an inline stdio or http transport",
            field=field,
            hint="write the server's name, e.g. `mcpServers: [helpdesk]`",
        )
    else:
        validate_name(usage.name, field=f"{field}.name")
        _transport(usage.stdio.command if transport == "stdio" else usage.http.url, transport, field)


def _transport(target: str, transport: str, field: str) -> None:
    if transport == "stdio" and not target:
        raise InvalidArgument("a stdio server needs a command", field=f"{field}.stdio.command")
    if transport == "http" and not target.startswith(("http://", "https://")):
        raise InvalidArgument(
            f"url must start with http:// or https://, got {target!r}", field=f"{field}.http.url"
        )


def _sub_agent(sub: SubAgent, field: str) -> None:
    if sub.ref:
        _reference(sub.ref, f"{field}.ref")
        return
    validate_name(sub.name, field=f"{field}.name")
    if not sub.instructions:
        raise InvalidArgument("an inline sub-agent needs instructions", field=f"{field}.instructions")
    _model(sub.model, f"{field}.model")
    for i, usage in enumerate(sub.mcp_servers):
        _mcp_usage(usage, f"{field}.mcpServers[{i}]")


def _agent(agent: Agent) -> None:
    spec = agent.spec
    if not spec.instructions.strip():
        raise InvalidArgument("an agent needs instructions", field="spec.instructions")
    _model(spec.model, "spec.model")
    for i, usage in enumerate(spec.mcp_servers):
        _mcp_usage(usage, f"spec.mcpServers[{i}]")
    for i, skill in enumerate(spec.skills):
        _reference(skill, f"spec.skills[{i}]")
    for i, sub in enumerate(spec.sub_agents):
        _sub_agent(sub, f"spec.subAgents[{i}]")
    check_limits(spec.limits, "spec.limits")


def _mcp_server(server: McpServer) -> None:
    transport = server.spec.WhichOneof("transport")
    if not transport:
        raise InvalidArgument("an McpServer needs exactly one of stdio or http", field="spec")
    _transport(server.spec.stdio.command if transport == "stdio" else server.spec.http.url, transport, "spec")
    if server.spec.sampling not in ("", "ask", "allow", "deny"):
        raise InvalidArgument(
            f"sampling is {server.spec.sampling!r}",
            field="spec.sampling",
            hint="ask (the default: a person approves each request, then the agent's model answers), "
            "allow (the agent's model answers without asking) or deny (no sampling)",
        )
    if server.spec.HasField("oauth"):
        from stigmer.resources.mcp_oauth import validate_oauth

        validate_oauth(server.spec.oauth, transport)


def _skill(skill: Skill) -> None:
    if not skill.spec.content.strip():
        raise InvalidArgument("a skill needs content (markdown)", field="spec.content")


ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_key(name: str, field: str) -> None:
    if not ENV_NAME.match(name):
        raise InvalidArgument(
            f"invalid name {name!r}",
            field=field,
            hint="use letters, digits and '_', not starting with a digit (it is used as ${secrets.NAME})",
        )


def _environment(env: Environment) -> None:
    for name in env.spec.variables:
        _env_key(name, f"spec.variables.{name}")
    for name, value in env.spec.secrets.items():
        field = f"spec.secrets.{name}"
        _env_key(name, field)
        if not value:
            raise InvalidArgument(
                f"secret {name} has no value", field=field, hint="give it one, or remove it"
            )
        if value.startswith("sealed:pw1:"):
            raise InvalidArgument(
                f"secret {name} was exported sealed with a passphrase",
                field=field,
                hint="restore the export with `stigmer import --passphrase-file FILE`",
            )
        if value.startswith("sealed:"):
            raise InvalidArgument(
                f"secret {name} is a sealed value; Stigmer seals secrets itself",
                field=field,
                hint="give the plaintext (it is sealed before it is stored), or **** to keep the stored one",
            )


def _task_kind(task: Task, field: str) -> TaskKindSpec:
    kind = kind_of(task)
    if kind is None:
        raise InvalidArgument(
            f"task {task.name!r} has no kind",
            field=field,
            hint=f"give it one of: {', '.join(k.label for k in all_kinds())}",
        )
    return kind


def _task(task: Task, field: str) -> None:
    validate_name(task.name, field=f"{field}.name")
    kind = _task_kind(task, field)
    check_task_bounds(task, field)
    kind.validate(task, field)
    item = kind.item_task(task)
    if item is not None:
        _task(item, f"{field}.{kind.label}.do")
    if task.on_error.action and task.on_error.action not in ON_ERROR_ACTIONS:
        raise InvalidArgument(
            f"invalid onError {task.on_error.action!r}",
            field=f"{field}.onError",
            hint="use fail, continue or {output: …}",
        )


def _workflow(workflow: Workflow) -> None:
    spec = workflow.spec
    for name, declared in spec.inputs.items():
        if declared.type and declared.type not in INPUT_TYPES:
            raise InvalidArgument(
                f"invalid input type {declared.type!r}",
                field=f"spec.inputs.{name}.type",
                hint=f"use one of: {', '.join(INPUT_TYPES)}",
            )
    if not spec.tasks:
        raise InvalidArgument("a workflow needs at least one task", field="spec.tasks")
    check_run_timeout(spec.timeout, "spec.timeout")
    index: dict[str, int] = {}
    for i, task in enumerate(spec.tasks):
        _task(task, f"spec.tasks[{i}]")
        if task.name in index:
            raise InvalidArgument(
                f"duplicate task name {task.name!r} (also spec.tasks[{index[task.name]}])",
                field=f"spec.tasks[{i}].name",
            )
        index[task.name] = i
    for i, task in enumerate(spec.tasks):
        targets = [(f"dependsOn[{j}]", dep) for j, dep in enumerate(task.depends_on)]
        kind = kind_of(task)
        targets += [(where, target) for where, target, _ in (kind.targets(task) if kind else [])]
        for where, target in targets:
            if target not in index:
                raise InvalidArgument(
                    f"unknown task {target!r}",
                    field=f"spec.tasks[{i}].{where}",
                    hint=f"tasks: {', '.join(index)}",
                )
            if target == task.name:
                raise InvalidArgument(
                    f"task {task.name!r} depends on itself", field=f"spec.tasks[{i}].{where}"
                )
    _workflow_expressions(spec)
    _check_acyclic(spec.tasks)


def _workflow_expressions(spec: WorkflowSpec) -> None:
    """Compile every expression, and check the tasks and loop variables they name."""
    names = [task.name for task in spec.tasks]
    for i, task in enumerate(spec.tasks):
        _task_expressions(task, f"spec.tasks[{i}]", names, in_loop=False)
    if spec.HasField("outputs"):
        _expressions(json_format.MessageToDict(spec.outputs), "spec.outputs", names, in_loop=False)


def _task_expressions(task: Task, field: str, names: list[str], *, in_loop: bool) -> None:
    for name, value in task_fields.value_fields(task):
        _expressions(value, f"{field}.{name}", names, in_loop=in_loop)
    for name, text in task_fields.condition_fields(task):
        where = f"{field}.{name}"
        expressions.check_condition(text, where=where)
        _names_in_scope(expressions.condition_references(text, where=where), text, where, names, in_loop)
    for where, item in task_fields.item_tasks(task, field):
        _task_expressions(item, where, names, in_loop=True)


def _expressions(value: Any, field: str, names: list[str], *, in_loop: bool) -> None:
    for where, text in expressions.iter_strings(value, field):
        if expressions.has_expressions(text):
            expressions.check(text, where=where)
            _names_in_scope(expressions.references(text, where=where), text, where, names, in_loop)


def _names_in_scope(
    refs: set[tuple[str, str]], text: str, where: str, names: list[str], in_loop: bool
) -> None:
    # A task may read any task of the workflow, not only its dependencies: a task enabled
    # by a switch often reads one it does not depend on, guarded by `when` or default().
    for root, name in sorted(refs):
        if root == "tasks" and name and name not in names:
            raise InvalidArgument(
                f"unknown task {name!r} in {text.strip()}", field=where, hint=f"tasks: {', '.join(names)}"
            )
        if root in ("item", "index") and not in_loop:
            raise InvalidArgument(
                f"{root} is only defined inside forEach.do, in {text.strip()}",
                field=where,
                hint="loop with a forEach task: {items: ${…}, do: {…}}",
            )


def _check_acyclic(tasks: Any) -> None:
    """No task may wait for itself: through dependsOn, or the tasks its expressions read."""
    deps = {
        t.name: [*t.depends_on, *sorted(task_fields.referenced_tasks(t) - set(t.depends_on))] for t in tasks
    }
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*trail[trail.index(name) :], name]
            i = next(i for i, t in enumerate(tasks) if t.name == name)
            raise InvalidArgument(
                f"dependency cycle: {' -> '.join(cycle)}",
                field=f"spec.tasks[{i}].dependsOn",
                hint="a task waits for the tasks in its dependsOn and for those its expressions read",
            )
        state[name] = 1
        for dep in deps[name]:
            visit(dep, [*trail, name])
        state[name] = 2

    for t in tasks:
        visit(t.name, [])


def _agent_instance(instance: AgentInstance) -> None:
    if not instance.spec.agent:
        raise InvalidArgument("an agent instance names its agent", field="spec.agent")
    _reference(instance.spec.agent, "spec.agent")
    _reference(instance.spec.environment, "spec.environment")


def _workflow_instance(instance: WorkflowInstance) -> None:
    if not instance.spec.workflow:
        raise InvalidArgument("a workflow instance names its workflow", field="spec.workflow")
    _reference(instance.spec.workflow, "spec.workflow")
    _reference(instance.spec.environment, "spec.environment")


def _triggers() -> Any:
    from stigmer.resources import trigger_specs as specs

    return specs


_BY_KIND: dict[str, Callable[[Any], None]] = {
    "Agent": _agent,
    "AgentInstance": _agent_instance,
    "Workflow": _workflow,
    "WorkflowInstance": _workflow_instance,
    "McpServer": _mcp_server,
    "Skill": _skill,
    "Environment": _environment,
    "Schedule": lambda r: _triggers().validate_schedule(r),
    "Webhook": lambda r: _triggers().validate_webhook(r),
}


def validate(resource: Resource) -> str:
    """Check a resource before it is written; return its slug.

    Raises:
        InvalidArgument: Naming the resource and the field.
    """
    info = kind_info(resource)
    label = f"{info.kind}/{resource.metadata.name}" if resource.metadata.name else info.kind
    try:
        slug = validate_metadata(resource.metadata)
        check = _BY_KIND.get(info.kind)
        if check:
            check(resource)
    except InvalidArgument as exc:
        exc.resource = exc.resource or label
        raise
    return slug


__all__ = ["INPUT_TYPES", "validate", "validate_metadata"]
