"""Short forms in resource files, expanded into the one shape the protos define.

This runs on the JSON form (camelCase keys) before decoding, so files may say
``model: anthropic/claude-sonnet-4-5``, ``mcpServers: [helpdesk]``, ``week: string`` for
a workflow input or ``onError: continue``; everything else sees only the long forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stigmer.resources.task_kinds import all_kinds

Spec = dict[str, Any]


def parse_model(value: Any) -> Any:
    """``provider/name`` (or a bare provider such as ``scripted``) → {provider, name}."""
    if isinstance(value, str):
        provider, _, name = value.partition("/")
        return {"provider": provider, "name": name} if name else {"provider": provider}
    return value


def _refs(items: Any) -> Any:
    if not isinstance(items, list):
        return items
    return [{"ref": item} if isinstance(item, str) else item for item in items]


def _agent_like(spec: Spec) -> None:
    config = spec.pop("config", None)
    if isinstance(config, dict):
        config = dict(config)
        if "model" in config and "model" not in spec:
            spec["model"] = config.pop("model")
        if config:
            model = spec.setdefault("model", {})
            if isinstance(model, str):
                model = spec["model"] = parse_model(model)
            if isinstance(model, dict):
                model.setdefault("options", {}).update(config)
    elif config is not None:
        spec["config"] = config  # left for the decoder to reject with its line
    if "model" in spec:
        spec["model"] = parse_model(spec["model"])
    if "mcpServers" in spec:
        spec["mcpServers"] = _refs(spec["mcpServers"])


def _agent(spec: Spec) -> None:
    _agent_like(spec)
    if "subAgents" in spec:
        spec["subAgents"] = _refs(spec["subAgents"])
        for sub in spec["subAgents"]:
            if isinstance(sub, dict):
                _agent_like(sub)


def _task(task: Any) -> None:
    if not isinstance(task, dict):
        return
    if isinstance(task.get("onError"), str):
        task["onError"] = {"action": task["onError"]}
    for kind in all_kinds():
        if kind.label in task:
            kind.normalise(task[kind.label], _task)


def _workflow(spec: Spec) -> None:
    inputs = spec.get("inputs")
    if isinstance(inputs, dict):
        spec["inputs"] = {k: {"type": v} if isinstance(v, str) else v for k, v in inputs.items()}
    tasks = spec.get("tasks")
    if isinstance(tasks, list):
        for task in tasks:
            _task(task)


def _execution(spec: Spec) -> None:
    if "model" in spec:
        spec["model"] = parse_model(spec["model"])


def _schedule(spec: Spec) -> None:
    from stigmer.resources.trigger_specs import normalise_schedule

    normalise_schedule(spec)


_BY_KIND: dict[str, Callable[[Spec], None]] = {
    "Agent": _agent,
    "Workflow": _workflow,
    "AgentExecution": _execution,
    "Schedule": lambda spec: _schedule(spec),
}


def normalise(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Expand the short forms of one resource document in place and return it."""
    spec = data.get("spec")
    expand = _BY_KIND.get(kind)
    if expand and isinstance(spec, dict):
        expand(spec)
    return data


__all__ = ["normalise", "parse_model"]
