"""Reads as the store grows: `get` by name and the first page of `list`, through LocalBackend.

The store is bulk-loaded with raw SQL in the shape LocalBackend writes (agents cloned from
agents that LocalBackend itself applied, each with its default AgentInstance and the
history rows of both), to 1,000, then 10,000, then 100,000 agents. At each size:

- ``LocalBackend.get(Agent, name)`` for random names, and ``LocalBackend.list(Agent)``'s
  first page (50), ~200 calls each: median and p99;
- baseline, measured in the same run on the same file: a raw sqlite3 ``SELECT`` by slug,
  and the equivalent keyset page (``ORDER BY slug LIMIT 51``);
- extra, not a goal: the first page filtered by a common label (1 agent in 8) and by a
  rare one (1 in 1,000); labels are matched with json_extract, not an index.

Goal: get and list both under 5 ms (p99, hence median too) at every size, and flat as the
store grows (median growth 1k -> 100k at most 1.5x).

Then 100,000 executions (80% agent, 20% workflow executions; mixed phases) are added and
the first page of ``list_executions`` is timed unfiltered and filtered by phase, against
the equivalent raw keyset queries on both tables.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

if not __package__:  # run as a script (python bench/bench_read.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import (
    fmt_ms,
    log,
    md_table,
    settle,
    stats,
    stats_dict,
    time_calls,
    write_results,
)
from bench.corpus import agent_doc, agent_name, skill_doc
from stigmer.api.agent.v1.agent_pb2 import Agent
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.agentinstance.v1.agentinstance_pb2 import AgentInstance
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflowexecution.v1.workflowexecution_pb2 import WorkflowExecution
from stigmer.backend.codec import from_record, seal, timestamp
from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import ExecutionQuery
from stigmer.resources.decode import decode
from stigmer.resources.documents import Document
from stigmer.resources.kinds import API_VERSION, Resource
from stigmer.resources.names import new_id
from stigmer.store import records
from stigmer.store.database import Database
from stigmer.store.records import Record, dumps

GOAL_MS = 5.0
FLAT_GROWTH = 1.5
PAGE = 50
ACTOR = "local:bench"
COLUMNS = (
    "id, name, slug, version, labels, annotations, tags, spec, status, "
    "created_at, updated_at, created_by, updated_by, message"
)
VERSION_COLUMNS = (
    "id, resource_kind, resource_id, resource_slug, version, operation, snapshot, created_at, created_by"
)
TEMPLATE_AGENTS = 64
SKILLS = 40
RARE_EVERY = 1000
# Phase mix of the executions, by weight.
PHASES = {"COMPLETED": 70, "FAILED": 8, "CANCELLED": 4, "RUNNING": 10, "PENDING": 6, "WAITING_APPROVAL": 2}
Row = tuple[Any, ...]


@dataclass
class Template:
    """The stored form of one agent LocalBackend applied: what the clones copy."""

    labels: dict[str, str]
    annotations: dict[str, str]
    spec: dict[str, Any]


def _snapshot(kind: str, row: Row) -> str:
    """The api_resource_versions snapshot of a resource row, as LocalBackend writes it."""
    rid, name, slug, version, labels, annotations, tags, spec, status, created, updated = row[:11]
    metadata: dict[str, Any] = {"id": rid, "name": name, "slug": slug}
    for key, value in (("labels", labels), ("annotations", annotations), ("tags", tags)):
        if value not in ("{}", "[]"):
            metadata[key] = json.loads(value)
    metadata.update(version=version, createTime=created, updateTime=updated)
    doc = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "spec": json.loads(spec),
        "status": json.loads(status),
    }
    return dumps(doc)


def _sealed(cls: type[Resource], row: Row) -> Row:
    """A resource row plus its serialized message, built the way LocalBackend builds it."""
    rid, name, slug, version, labels, annotations, tags, spec, status, created, updated, by, by2 = row
    rec = Record(
        id=rid, name=name, slug=slug, version=version, spec=json.loads(spec), status=json.loads(status),
        labels=json.loads(labels), annotations=json.loads(annotations), tags=json.loads(tags),
        created_at=created, updated_at=updated, created_by=by, updated_by=by2,
    )  # fmt: skip
    seal(cls, rec)
    return (*row, rec.message)


def _version_row(kind: str, row: Row) -> Row:
    return (new_id("ver"), kind, row[0], row[2], 1, "create", _snapshot(kind, row), row[10], ACTOR)


def _insert(conn: sqlite3.Connection, table: str, columns: str, rows: list[Row]) -> None:
    marks = ", ".join("?" for _ in columns.split(","))
    conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def seed_store(path: Path) -> list[Template]:
    """Open a fresh store and apply skills and template agents through LocalBackend itself."""
    rng = random.Random(7)
    docs = [skill_doc(rng, i) for i in range(SKILLS)]
    docs += [agent_doc(rng, i, SKILLS) for i in range(TEMPLATE_AGENTS)]
    resources = [decode(Document("bench", i, doc)) for i, doc in enumerate(docs)]
    backend = LocalBackend.open(path, actor=ACTOR)
    try:
        backend.apply(resources)
        with backend.db.read() as conn:
            rows = conn.execute("SELECT labels, annotations, spec FROM agents ORDER BY seq").fetchall()
        # The clones take the template agents' names: drop the templates and their history.
        with backend.db.write() as conn:
            conn.execute("DELETE FROM agents")
            conn.execute("DELETE FROM agent_instances")
            conn.execute(
                "DELETE FROM api_resource_versions WHERE resource_kind IN ('Agent', 'AgentInstance')"
            )
    finally:
        backend.close()
    return [Template(json.loads(lab), json.loads(ann), json.loads(spec)) for lab, ann, spec in rows]


def _times(start: datetime, count: int, step: timedelta) -> Iterator[str]:
    for i in range(count):
        yield timestamp(start + step * i)


def grow_agents(path: Path, templates: list[Template], first: int, last: int) -> float:
    """Add agents first..last-1 (with default instances and history); seconds taken."""
    started = time.perf_counter()
    agents: list[Row] = []
    instances: list[Row] = []
    history: list[Row] = []
    clock = datetime(2026, 1, 1, tzinfo=UTC)
    for i, created in zip(
        range(first, last),
        _times(clock + timedelta(seconds=first), last - first, timedelta(seconds=1)),
        strict=True,
    ):
        tpl = templates[i % len(templates)]
        name = agent_name(i)
        labels = dict(tpl.labels)
        if i % RARE_EVERY == 7:
            labels["cohort"] = "canary"
        agent_id, instance_id = new_id("agt"), new_id("ain")
        agent = (
            agent_id, name, name, 1, dumps(labels), dumps(tpl.annotations), "[]", dumps(tpl.spec),
            dumps({"defaultInstanceId": instance_id}), created, created, ACTOR, ACTOR,
        )  # fmt: skip
        instance_spec = dumps({"agent": name, "description": f"default instance of {name}"})
        instance = (
            instance_id, name, name, 1, "{}", "{}", "[]", instance_spec, "{}", created, created, ACTOR, ACTOR,
        )  # fmt: skip
        agents.append(_sealed(Agent, agent))
        instances.append(_sealed(AgentInstance, instance))
        history += [_version_row("AgentInstance", instance), _version_row("Agent", agent)]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        _insert(conn, "agent_instances", COLUMNS, instances)
        _insert(conn, "agents", COLUMNS, agents)
        _insert(conn, "api_resource_versions", VERSION_COLUMNS, history)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - started


def _execution_status(rng: random.Random, phase: str, workflow: bool, start: str, end: str) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if phase in ("PENDING",):
        return status
    status["startTime"] = start
    if workflow:
        status["tasks"] = [
            {"name": "gather", "phase": "COMPLETED", "attempts": 1, "startTime": start, "endTime": start},
            {"name": "write-notes", "phase": phase, "attempts": rng.randint(1, 3), "startTime": start},
        ]
    else:
        status["model"] = "anthropic/claude-sonnet-4-5"
        status["usage"] = {"inputTokens": str(rng.randint(500, 9000)), "outputTokens": "812", "modelCalls": 3}
        status["toolCalls"] = [
            {"id": "call_1", "name": "find_order", "server": "helpdesk", "arguments": {"order": "A-1"},
             "result": '{"status": "shipped"}', "durationMs": "120"},
        ]  # fmt: skip
    if phase in ("COMPLETED", "FAILED", "CANCELLED"):
        status["endTime"] = end
    if phase == "COMPLETED":
        status["outputs"] = {"title": "Weekly notes", "body": "All good."}
        if not workflow:
            status["output"] = "Your order A-1 has shipped and should arrive on Friday."
    elif phase == "FAILED":
        status["error"] = {
            "code": "MODEL_ERROR",
            "message": "the model returned no answer",
            "details": "timeout",
        }
    elif phase == "CANCELLED":
        status["error"] = {"code": "CANCELLED", "message": f"cancelled by {ACTOR}"}
        status["cancelRequested"] = True
    return status


def add_executions(path: Path, count: int, agents: int, seed: int = 11) -> tuple[float, dict[str, int]]:
    """Add ``count`` executions (80% agent, 20% workflow) over 30 days; seconds and phase counts."""
    started = time.perf_counter()
    rng = random.Random(seed)
    phases = rng.choices(list(PHASES), weights=list(PHASES.values()), k=count)
    tables: dict[str, list[Row]] = {"agent_executions": [], "workflow_executions": []}
    history: list[Row] = []
    clock = datetime(2026, 2, 1, tzinfo=UTC)
    step = timedelta(days=30) / count
    for i, phase in enumerate(phases):
        workflow = i % 5 == 4
        created = timestamp(clock + step * i)
        end = timestamp(clock + step * i + timedelta(seconds=rng.randint(2, 90)))
        kind, prefix = ("WorkflowExecution", "wex") if workflow else ("AgentExecution", "aex")
        eid = new_id(prefix)
        if workflow:
            spec = {
                "workflow": f"workflow-{i % 300:06d}",
                "inputs": {"week": "2026-W07", "audience": "customers"},
            }
        else:
            spec = {"agent": agent_name(rng.randrange(agents)), "message": "Where is my order A-1?"}
            if i % 7 == 0:
                spec["parentExecutionId"] = f"wex_{i:026d}"
        status = _execution_status(rng, phase, workflow, created, end)
        version = 1 if phase == "PENDING" else 3
        row = (
            eid, eid, eid, version, "{}", "{}", "[]", dumps(spec), dumps(status), created,
            end if version > 1 else created, ACTOR, ACTOR,
        )  # fmt: skip
        cls: type[Resource] = WorkflowExecution if workflow else AgentExecution
        tables["workflow_executions" if workflow else "agent_executions"].append(_sealed(cls, row))
        first = (
            eid,
            eid,
            eid,
            1,
            "{}",
            "{}",
            "[]",
            dumps(spec),
            dumps({"phase": "PENDING"}),
            created,
            created,
        )
        history.append(_version_row(kind, first))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        for table, rows in tables.items():
            _insert(conn, table, COLUMNS, rows)
        _insert(conn, "api_resource_versions", VERSION_COLUMNS, history)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    counts = {p: phases.count(p) for p in PHASES}
    return time.perf_counter() - started, counts


def _plan(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> str:
    return "; ".join(str(r[-1]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def measure_size(path: Path, size: int, args: argparse.Namespace) -> dict[str, Any]:
    """get / list through LocalBackend and raw sqlite3 on the same file."""
    rng = random.Random(size)
    names = [agent_name(rng.randrange(size)) for _ in range(args.calls)]
    backend = LocalBackend.open(path)
    raw = sqlite3.connect(path, isolation_level=None)
    get_sql = f"SELECT {COLUMNS} FROM agents WHERE slug = ?"
    list_sql = f"SELECT {COLUMNS} FROM agents ORDER BY slug LIMIT ?"
    label_sql = f"SELECT {COLUMNS} FROM agents WHERE json_extract(labels, ?) = ? ORDER BY slug LIMIT ?"
    try:
        it = itertools.cycle(names)

        def backend_get() -> None:
            backend.get(Agent, next(it))

        raw_it = itertools.cycle(names)

        def raw_get() -> None:
            assert raw.execute(get_sql, (next(raw_it),)).fetchone() is not None

        common = {"team": "eng"}
        rare = {"cohort": "canary"}
        count_sql = "SELECT count(*) FROM agents WHERE json_extract(labels, ?) = ?"
        expected = {"": size}
        for key, value in (*common.items(), *rare.items()):
            expected[key] = int(raw.execute(count_sql, (f'$."{key}"', value)).fetchone()[0])

        def backend_list(labels: dict[str, str]) -> Callable[[], None]:
            want = min(PAGE, expected["".join(labels)])

            def call() -> None:
                page = backend.list(Agent, labels=labels, page_size=PAGE)
                assert len(page.items) == want

            return call

        def raw_list(labels: dict[str, str]) -> Callable[[], None]:
            sql = list_sql
            params: list[object] = [PAGE + 1]
            for key, value in labels.items():
                sql, params = label_sql, [f'$."{key}"', value, PAGE + 1]
            want = min(PAGE + 1, expected["".join(labels)])

            def call() -> None:
                assert len(raw.execute(sql, params).fetchall()) == want

            return call

        settle()
        samples = {
            "get": time_calls(backend_get, runs=args.calls, warmups=args.warmups),
            "get raw": time_calls(raw_get, runs=args.calls, warmups=args.warmups),
            "list": time_calls(backend_list({}), runs=args.calls, warmups=args.warmups),
            "list raw": time_calls(raw_list({}), runs=args.calls, warmups=args.warmups),
            "list team=eng": time_calls(backend_list(common), runs=args.extra_calls, warmups=2),
            "list team=eng raw": time_calls(raw_list(common), runs=args.extra_calls, warmups=2),
            "list cohort=canary": time_calls(backend_list(rare), runs=args.extra_calls, warmups=2),
            "list cohort=canary raw": time_calls(raw_list(rare), runs=args.extra_calls, warmups=2),
        }
        plans = {
            "get": _plan(raw, get_sql, ("x",)),
            "list": _plan(raw, list_sql, (PAGE + 1,)),
            "list by label": _plan(raw, label_sql, ('$."team"', "eng", PAGE + 1)),
        }
    finally:
        backend.close()
        raw.close()
    return {"samples": samples, "plans": plans, "db_bytes": path.stat().st_size}


def list_breakdown(path: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    """Where LocalBackend.list's first page goes: the SQL page, decoding, resolving references.

    Diagnostic only: it calls the same internals list() does, one stage at a time.
    """
    backend = LocalBackend.open(path)
    try:
        conn = cast(Database, backend.db).conn
        req = records.PageRequest(order="slug", limit=PAGE + 1)
        rows = records.list_page(conn, "agents", req)[:PAGE]
        messages = [from_record(Agent, r) for r in rows]
        backend._resolve_references(messages, conn)
        refs = sum(len(m.status.references) for m in messages)
        settle()
        runs = max(args.calls // 2, 10)
        return {
            "records.list_page (SQL + json.loads)": time_calls(
                lambda: records.list_page(conn, "agents", req), runs=runs, warmups=5
            ),
            f"from_record x{PAGE} (stored message blob)": time_calls(
                lambda: [from_record(Agent, r) for r in rows], runs=runs, warmups=5
            ),
            f"_resolve_references x{PAGE} ({refs} references, one query per kind)": time_calls(
                lambda: backend._resolve_references(messages, conn), runs=runs, warmups=5
            ),
        }
    finally:
        backend.close()


def measure_executions(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """list_executions' first page, unfiltered and by phase, against raw keyset queries."""
    backend = LocalBackend.open(path)
    raw = sqlite3.connect(path, isolation_level=None)
    tables = ("agent_executions", "workflow_executions")
    samples: dict[str, list[float]] = {}
    plans: dict[str, str] = {}
    try:
        for phase in ("", "RUNNING", "FAILED", "WAITING_APPROVAL"):
            label = f"phase={phase}" if phase else "unfiltered"
            value = ExecutionPhase.Value(phase) if phase else ExecutionPhase.EXECUTION_PHASE_UNSPECIFIED
            query = ExecutionQuery(phase=value, page_size=PAGE)
            where = "WHERE phase = ? " if phase else ""
            params: tuple[Any, ...] = (phase, PAGE + 1) if phase else (PAGE + 1,)
            sqls = [
                f"SELECT {COLUMNS} FROM {t} {where}ORDER BY created_at DESC, id DESC LIMIT ?" for t in tables
            ]

            def backend_call(q: ExecutionQuery = query) -> None:
                page = backend.list_executions(q)
                assert len(page.items) == PAGE and page.next_page_token

            def raw_call(statements: list[str] = sqls, p: tuple[Any, ...] = params) -> None:
                rows = [r for sql in statements for r in raw.execute(sql, p).fetchall()]
                rows.sort(key=lambda r: (r[9], r[0]), reverse=True)
                assert len(rows[:PAGE]) == PAGE

            settle()
            samples[label] = time_calls(backend_call, runs=args.calls, warmups=args.warmups)
            samples[f"{label} raw"] = time_calls(raw_call, runs=args.calls, warmups=args.warmups)
            plans[label] = " | ".join(_plan(raw, sql, params) for sql in sqls)
    finally:
        backend.close()
        raw.close()
    return {"samples": samples, "plans": plans}


def report(
    sizes: dict[int, dict[str, Any]],
    executions: dict[str, Any],
    breakdown: dict[str, list[float]],
    load_s: dict[str, float],
    args: argparse.Namespace,
) -> tuple[dict[str, Any], str]:
    first, last = min(sizes), max(sizes)
    data: dict[str, Any] = {"goal": {}, "sizes": {}, "executions": {}, "load_seconds": load_s}
    rows = []
    verdicts: list[bool] = []
    for size, result in sizes.items():
        st = {name: stats(secs) for name, secs in result["samples"].items()}
        entry: dict[str, Any] = {"db_bytes": result["db_bytes"], "plans": result["plans"], "measurements": {}}
        for name, secs in result["samples"].items():
            base = st.get(f"{name} raw")
            entry["measurements"][name] = {
                **stats_dict(secs),
                "ratio_median_vs_raw": st[name].ratio(base) if base else None,
            }
            if base is None:
                continue
            s = st[name]
            ok = s.p99_ms < GOAL_MS and s.median_ms < GOAL_MS
            if name in ("get", "list"):
                verdicts.append(ok)
            rows.append(
                [
                    f"{size:,}",
                    name,
                    fmt_ms(s.median_ms),
                    fmt_ms(s.p99_ms),
                    fmt_ms(base.median_ms),
                    fmt_ms(base.p99_ms),
                    f"{s.ratio(base):.1f}x",
                    ("yes" if ok else "**no**") if name in ("get", "list") else "(no goal)",
                ]
            )
        data["sizes"][str(size)] = entry
    growth: dict[str, float] = {}
    for name in ("get", "list", "list team=eng", "list cohort=canary"):
        a = stats(sizes[first]["samples"][name]).median_ms
        b = stats(sizes[last]["samples"][name]).median_ms
        growth[name] = b / a
    raw_growth = {
        name: stats(sizes[last]["samples"][f"{name} raw"]).median_ms
        / stats(sizes[first]["samples"][f"{name} raw"]).median_ms
        for name in ("get", "list")
    }
    flat = all(growth[n] <= FLAT_GROWTH for n in ("get", "list"))
    under = all(verdicts)
    data["goal"] = {
        "target_ms": GOAL_MS,
        "metric": "p99 and median of LocalBackend.get and of LocalBackend.list's first page, at every size",
        "under_5ms": under,
        "flat_threshold": FLAT_GROWTH,
        "growth_median_first_to_last": growth,
        "raw_growth_median_first_to_last": raw_growth,
        "flat": flat,
        "met": under and flat,
    }
    ex_rows = []
    for name, secs in executions["samples"].items():
        if name.endswith(" raw"):
            continue
        s, base = stats(secs), stats(executions["samples"][f"{name} raw"])
        data["executions"][name] = {
            **stats_dict(secs),
            "raw": stats_dict(executions["samples"][f"{name} raw"]),
            "ratio_median_vs_raw": s.ratio(base),
            "plan": executions["plans"][name],
        }
        ex_rows.append(
            [name, fmt_ms(s.median_ms), fmt_ms(s.p99_ms), fmt_ms(base.median_ms), f"{s.ratio(base):.1f}x"]
        )
    data["executions"]["phase_counts"] = executions["phase_counts"]
    list_total = stats(sizes[last]["samples"]["list"]).median_ms
    data["list_breakdown"] = {name: stats_dict(secs) for name, secs in breakdown.items()}
    breakdown_rows = [
        [name, fmt_ms(stats(secs).median_ms), f"{stats(secs).median_ms / list_total:.0%}"]
        for name, secs in breakdown.items()
    ]
    md = [
        "# Reads as the store grows",
        "",
        f"LocalBackend.get (random names) and LocalBackend.list's first page ({PAGE}) of agents; "
        f"{args.calls} calls each after {args.warmups} warm-ups ({args.extra_calls} for the label filters). "
        "Baseline: raw sqlite3 on the same file (SELECT by slug; the keyset page `ORDER BY slug LIMIT 51`).",
        "",
        md_table(
            ["agents", "call", "median ms", "p99 ms", "raw median", "raw p99", "ratio", f"< {GOAL_MS:g} ms"],
            rows,
        ),
        "",
        f"- **Under {GOAL_MS:g} ms** (get and list, p99 and median, every size): "
        f"**{'met' if under else 'NOT met'}**.",
        f"- **Flat** (median growth {first:,} -> {last:,} agents at most {FLAT_GROWTH}x): get "
        f"{growth['get']:.2f}x, list {growth['list']:.2f}x (raw: get {raw_growth['get']:.2f}x, list "
        f"{raw_growth['list']:.2f}x): **{'met' if flat else 'NOT met'}**.",
        f"- Label filters (no goal): team=eng {growth['list team=eng']:.2f}x, cohort=canary (1 in "
        f"{RARE_EVERY:,}) {growth['list cohort=canary']:.2f}x from {first:,} to {last:,} agents.",
        "",
        f"Where list's first page goes ({last:,} agents; stages timed one by one; share of the "
        f"{fmt_ms(list_total)} ms median):",
        "",
        md_table(["stage", "median ms", "share"], breakdown_rows),
        "",
        f"## list_executions, first page ({PAGE}), {sum(executions['phase_counts'].values()):,} executions",
        "",
        "Phases: " + ", ".join(f"{p} {c:,}" for p, c in executions["phase_counts"].items()) + ". "
        "Baseline: the same keyset query on both tables, merged.",
        "",
        md_table(["filter", "median ms", "p99 ms", "raw median", "ratio"], ex_rows),
    ]
    return data, "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000,100000", help="agent counts, ascending")
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200, help="timed calls per measurement (default 200)")
    parser.add_argument("--warmups", type=int, default=20)
    parser.add_argument(
        "--extra-calls", type=int, default=30, help="calls for the label filters (default 30)"
    )
    args = parser.parse_args(argv)
    targets = sorted(int(s) for s in args.sizes.split(","))
    sizes: dict[int, dict[str, Any]] = {}
    load_s: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-read-") as tmp:
        path = Path(tmp) / "local.db"
        templates = seed_store(path)
        have = 0
        for size in targets:
            load_s[f"agents to {size}"] = grow_agents(path, templates, have, size)
            have = size
            log(f"read: {size:,} agents loaded in {load_s[f'agents to {size}']:.1f}s; measuring")
            sizes[size] = measure_size(path, size, args)
        breakdown = list_breakdown(path, args)
        load_s["executions"], phase_counts = add_executions(path, args.executions, have)
        log(f"read: {args.executions:,} executions loaded in {load_s['executions']:.1f}s; measuring")
        executions = measure_executions(path, args)
        executions["phase_counts"] = phase_counts
    data, md = report(sizes, executions, breakdown, load_s, args)
    data["params"] = vars(args)
    json_path, md_path = write_results("read", data, md)
    print(md)
    log(f"read: wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
