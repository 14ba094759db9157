"""Printing resources as tables, YAML or JSON.

YAML and JSON show the resource exactly as the API holds it (a list prints as a
multi-document YAML stream, which `stigmer apply -f` reads back); tables show the
columns a person scans for, per kind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import click
from google.protobuf.message import Message

from stigmer.resources.kinds import Execution, kind_info


def dump_yaml(documents: Sequence[Any]) -> str:
    """A YAML stream with one document per item; multi-line strings in block style."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, represent_str)
    return yaml.dump_all(
        documents, Dumper=Dumper, sort_keys=False, allow_unicode=True, explicit_start=len(documents) > 1
    )


def dump_json(value: Any) -> str:
    """Indented JSON."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def age(when: Any) -> str:
    """How long ago a protobuf Timestamp was: 42s, 5m, 3h, 2d."""
    if not when.seconds:
        return "-"
    # Arithmetic on the seconds, not datetimes: a table of 1,000 rows computes it 1,000 times.
    seconds = int(time.time() - when.seconds - when.nanos / 1e9)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def duration(start: Any, end: Any) -> str:
    """Elapsed time between two Timestamps (end unset: until now)."""
    if not start.seconds:
        return "-"
    finish = end.ToDatetime(UTC) if end.seconds else datetime.now(UTC)
    seconds = (finish - start.ToDatetime(UTC)).total_seconds()
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60)}s"


def tokens_cell(usage: Any) -> str:
    """A run's tokens in a table: "-" before any model call, "?" when none reported usage."""
    if not usage.model_calls:
        return "-"
    if usage.unreported_model_calls >= usage.model_calls:
        return "?"
    return str(usage.input_tokens + usage.output_tokens)


def cost_text(usage: Any) -> str:
    """A run's cost: "-" when no call was priced, "+" after it when some were not."""
    from stigmer.prices import money

    if not usage.model_calls or usage.unpriced_model_calls >= usage.model_calls:
        return "-"
    return money(usage.cost) + ("+" if usage.unpriced_model_calls else "")


def tokens(usage: Any) -> str:
    """Token usage for people: unknown where the provider reported none, never a made-up 0."""
    unreported = usage.unreported_model_calls
    if unreported and unreported >= usage.model_calls:
        return "tokens unknown (the model server reported no usage)"
    counted = f"{usage.input_tokens} in / {usage.output_tokens} out tokens"
    if unreported:
        return f"{counted} ({unreported} model call{'s' if unreported != 1 else ''} unreported)"
    return counted


def usage_text(usage: Any) -> str:
    """Model calls, tokens and cost, for people (cost where the calls were priced)."""
    parts = [f"{usage.model_calls} model call{'s' if usage.model_calls != 1 else ''}", tokens(usage)]
    unpriced = usage.unpriced_model_calls
    if usage.model_calls and unpriced < usage.model_calls:
        from stigmer.prices import money

        left_out = f" ({unpriced} call{'s' if unpriced != 1 else ''} unpriced)" if unpriced else ""
        parts.append(money(usage.cost) + left_out)
    return " · ".join(parts)


def _model(m: Any) -> str:
    model = m.spec.model
    return "/".join(p for p in (model.provider, model.name) if p) or "(default)"


def _refs(m: Any) -> str:
    missing = [r for r in m.status.references if not r.resolved]
    if missing:
        return "missing: " + ", ".join(f"{r.kind.lower()}/{r.name}" for r in missing)
    return "ok"


def _names(values: Sequence[str]) -> str:
    return ",".join(values) or "-"


def _mcp_target(m: Any) -> str:
    spec = m.spec
    if spec.WhichOneof("transport") == "stdio":
        return " ".join([spec.stdio.command, *spec.stdio.args])
    return str(spec.http.url)


def _target(m: Any) -> str:
    spec = m.spec
    return str(spec.agent if m.kind == "AgentExecution" else spec.workflow)


def _phase(m: Any) -> str:
    from stigmer.api.common.v1.execution_pb2 import ExecutionPhase

    return ExecutionPhase.Name(m.status.phase) if m.status.phase else "-"


def _started_by(m: Any) -> str:
    trigger = m.spec.trigger
    if trigger.type in ("schedule", "webhook"):
        return f"{trigger.type}/{trigger.source}"
    return trigger.type or ("parent" if m.spec.parent_execution_id else "-")


def _when(m: Any) -> str:
    spec = m.spec
    timing = spec.cron or f"every {spec.every}"
    return f"{timing} ({spec.time_zone or 'UTC'})"


def _local_time(ts: Any, m: Any) -> str:
    """A fire time in the schedule's own time zone, to the minute."""
    from zoneinfo import ZoneInfo

    try:
        zone = ZoneInfo(m.spec.time_zone or "UTC")
    except Exception:  # an unknown zone was refused on apply; show UTC rather than fail
        zone = ZoneInfo("UTC")
    return str(ts.ToDatetime(UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"))


Column = tuple[str, Callable[[Any], str]]
NAME: Column = ("NAME", lambda m: m.metadata.name)
VERSION: Column = ("VERSION", lambda m: str(m.metadata.version))
AGE: Column = ("AGE", lambda m: age(m.metadata.create_time))
REFS: Column = ("REFERENCES", _refs)
EXECUTION: list[Column] = [
    ("ID", lambda m: m.metadata.id),
    ("KIND", lambda m: "agent" if m.kind == "AgentExecution" else "workflow"),
    ("TARGET", _target),
    ("PHASE", _phase),
    ("TRIGGER", lambda m: _started_by(m)),
    ("AGE", lambda m: age(m.metadata.create_time)),
    ("DURATION", lambda m: duration(m.status.start_time, m.status.end_time)),
    ("TOKENS", lambda m: tokens_cell(m.status.usage)),
    ("COST", lambda m: cost_text(m.status.usage)),
]


def _signed_in(m: Any) -> str:
    s = m.status.sign_in
    if not s.signed_in:
        return "-"
    renew = ", refreshable" if s.refreshable else ""
    if not s.HasField("expires_at"):
        return "yes" + renew
    expires = s.expires_at.ToDatetime(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        return "expired" + renew
    return f"yes, expires {expires:%Y-%m-%d %H:%M}Z{renew}"


COLUMNS: dict[str, list[Column]] = {
    "Agent": [
        NAME,
        ("MODEL", _model),
        ("MCP SERVERS", lambda m: _names([u.ref or u.name for u in m.spec.mcp_servers])),
        ("SKILLS", lambda m: _names(m.spec.skills)),
        REFS,
        VERSION,
        AGE,
    ],
    "AgentInstance": [
        NAME,
        ("AGENT", lambda m: m.spec.agent),
        ("ENVIRONMENT", lambda m: m.spec.environment or "-"),
        REFS,
        VERSION,
        AGE,
    ],
    "Workflow": [
        NAME,
        ("TASKS", lambda m: str(len(m.spec.tasks))),
        ("INPUTS", lambda m: _names(sorted(m.spec.inputs))),
        REFS,
        VERSION,
        AGE,
    ],
    "WorkflowInstance": [
        NAME,
        ("WORKFLOW", lambda m: m.spec.workflow),
        ("ENVIRONMENT", lambda m: m.spec.environment or "-"),
        REFS,
        VERSION,
        AGE,
    ],
    "Session": [
        NAME,
        ("AGENT", lambda m: m.spec.agent or "-"),
        ("SUBJECT", lambda m: m.spec.subject or "-"),
        VERSION,
        AGE,
    ],
    "Skill": [NAME, ("DESCRIPTION", lambda m: m.spec.description or "-"), VERSION, AGE],
    "McpServer": [
        NAME,
        ("TRANSPORT", lambda m: m.spec.WhichOneof("transport") or "-"),
        ("TARGET", _mcp_target),
        ("TOOLS", lambda m: _names(m.spec.enabled_tools) if m.spec.enabled_tools else "all"),
        ("SIGNED IN", _signed_in),
        VERSION,
        AGE,
    ],
    "Environment": [
        NAME,
        ("VARIABLES", lambda m: _names(sorted(m.spec.variables))),
        ("SECRETS", lambda m: _names(sorted(m.spec.secrets))),
        VERSION,
        AGE,
    ],
    "Schedule": [
        NAME,
        ("WHEN", _when),
        ("TARGET", lambda m: f"workflow/{m.spec.workflow}" if m.spec.workflow else f"agent/{m.spec.agent}"),
        (
            "NEXT FIRE",
            lambda m: _local_time(m.status.next_fire_times[0], m) if m.status.next_fire_times else "-",
        ),
        ("LAST RUN", lambda m: m.status.last_execution_id or "-"),
        ("PAUSED", lambda m: "yes" if m.spec.paused else "no"),
        AGE,
    ],
    "Webhook": [
        NAME,
        ("WORKFLOW", lambda m: m.spec.workflow),
        ("ENVIRONMENT", lambda m: m.spec.environment or "-"),
        ("PATH", lambda m: f"/hooks/{m.metadata.name}"),
        VERSION,
        AGE,
    ],
    "AgentExecution": EXECUTION,
    "WorkflowExecution": EXECUTION,
    "ExecutionContext": [NAME, ("EXECUTION", lambda m: m.spec.execution_id), AGE],
    "ApiResourceVersion": [
        ("VERSION", lambda m: str(m.spec.version)),
        ("OPERATION", lambda m: m.spec.operation),
        ("TIME", lambda m: m.metadata.create_time.ToJsonString()),
        ("AGE", lambda m: age(m.metadata.create_time)),
    ],
}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned with two spaces, headers in capitals: easy to read, grep and cut."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    widths = [max((len(h), *map(len, column))) for h, column in zip(headers, columns, strict=True)]
    pattern = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(pattern.format(*row).rstrip() for row in [headers, *rows])


def render(messages: Sequence[Message], fmt: str, *, single: bool = False, kind: str = "") -> str:
    """Resources in the chosen format; ``single`` prints one object rather than a list."""
    # protobuf's JSON mapping is imported for -o json and -o yaml only: tables read fields.
    from stigmer.resources.codec import to_dict

    if fmt == "json":
        data = [to_dict(m) for m in messages]
        return dump_json(data[0] if single and data else data)
    if fmt == "yaml":
        return dump_yaml([to_dict(m) for m in messages]).rstrip("\n")
    kind = kind or (kind_info(type(messages[0])).kind if messages else "")
    columns = COLUMNS.get(kind, [NAME, VERSION, AGE])
    rows = [[fn(m) for _, fn in columns] for m in messages]
    return table([h for h, _ in columns], rows)


def echo_resources(
    messages: Sequence[Message], fmt: str, *, single: bool = False, kind: str = "", empty: str = ""
) -> None:
    """Print resources; for an empty table, print ``empty`` to stderr instead."""
    if not messages and fmt == "table":
        click.echo(empty or "No resources found.", err=True)
        return
    if not messages and fmt == "yaml":
        return  # an empty YAML stream: zero documents
    click.echo(render(messages, fmt, single=single, kind=kind))


def echo_queued(app: Any, execution: Execution, output: str | None) -> None:
    """What a --detach command prints: the id (table), or the queued record (-o json|yaml)."""
    fmt = app.output(output)
    if fmt == "table":
        click.echo(execution.metadata.id)
    else:
        echo_resources([execution], fmt, single=True)


__all__ = [
    "COLUMNS",
    "age",
    "cost_text",
    "dump_json",
    "dump_yaml",
    "duration",
    "echo_queued",
    "echo_resources",
    "render",
    "table",
    "tokens",
    "tokens_cell",
    "usage_text",
]
