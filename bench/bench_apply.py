"""Apply of 1,000 resources (400 agents, 300 skills, 300 workflows), and re-apply unchanged.

Measured:
- ``LocalBackend.apply`` of the decoded resources in one call, into a fresh database;
- the real CLI, ``stigmer apply -f DIR`` (one YAML file per resource), in a fresh home
  (``stigmer init`` first, untimed): start-up, reading and decoding files, apply, output;
- re-apply of the same resources (every outcome "unchanged"), both ways.

Baselines, measured in the same run:
- raw SQLite: the very rows apply wrote (resources, default instances and
  api_resource_versions snapshots, copied from the applied database), inserted with
  ``executemany`` in one transaction into a fresh database with the same schema and
  PRAGMAs (WAL, synchronous=NORMAL);
- for the re-apply, a raw SELECT by slug of each of the 1,000 resources in one read
  transaction (what an unchanged apply must at least read);
- for reading the files, ``yaml.load`` with libyaml's CSafeLoader of the same files.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/bench_apply.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from bench.benchlib import (
    env_with_home,
    fmt_ms,
    log,
    md_table,
    run_checked,
    settle,
    stats,
    stats_dict,
    stigmer_cmd,
    time_calls,
    write_results,
)
from bench.corpus import documents, write_tree
from stigmer.backend.local import LocalBackend
from stigmer.cli.locate import load
from stigmer.resources.kinds import Resource, kind_info
from stigmer.store.migrations import MIGRATIONS

RAW = "raw SQLite insert (baseline)"
LOOKUPS = "raw SELECT by slug x1000 (baseline)"
CSAFE = "yaml CSafeLoader (reference)"
TABLES = ("agents", "agent_instances", "skills", "workflows", "workflow_instances", "api_resource_versions")


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    # table_info leaves out generated columns; seq is the rowid alias, assigned on insert.
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})") if row[1] != "seq"]


def dump_rows(db_path: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every row apply wrote, per table, in insertion order."""
    conn = sqlite3.connect(db_path)
    try:
        out = {}
        for table in TABLES:
            cols = _columns(conn, table)
            rows = conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY seq").fetchall()
            out[table] = (cols, rows)
        return out
    finally:
        conn.close()


def raw_connect(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with Stigmer's PRAGMAs and schema."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for migration in MIGRATIONS:
        conn.executescript(migration.sql)
    return conn


def raw_insert(path: Path, rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> float:
    """Insert the rows in one transaction into a fresh database; seconds from BEGIN to COMMIT."""
    conn = raw_connect(path)
    try:
        statements = [
            (f"INSERT INTO {t} ({', '.join(c)}) VALUES ({', '.join('?' for _ in c)})", r)
            for t, (c, r) in rows.items()
        ]
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            conn.executemany(sql, params)
        conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        conn.close()


def raw_lookups(path: Path, targets: list[tuple[str, str]], *, runs: int) -> list[float]:
    """SELECT by slug of every resource, in one read transaction, ``runs`` times."""
    conn = sqlite3.connect(path, isolation_level=None)
    cols = ", ".join(_columns(conn, "agents"))

    def once() -> None:
        conn.execute("BEGIN")
        for table, slug in targets:
            row = conn.execute(f"SELECT {cols} FROM {table} WHERE slug = ?", (slug,)).fetchone()
            assert row is not None
        conn.execute("COMMIT")

    try:
        return time_calls(once, runs=runs, warmups=1)
    finally:
        conn.close()


def backend_apply(path: Path, resources: list[Resource]) -> float:
    """LocalBackend.apply into a fresh database; seconds of the apply call alone."""
    backend = LocalBackend.open(path)
    try:
        start = time.perf_counter()
        outcomes = backend.apply(resources)
        elapsed = time.perf_counter() - start
    finally:
        backend.close()
    actions = {o.action for o in outcomes}
    if actions != {"created"} or len(outcomes) != len(resources):
        raise RuntimeError(f"expected {len(resources)} created, got {actions}")
    return elapsed


def backend_reapply(path: Path, resources: list[Resource], *, runs: int) -> list[float]:
    """LocalBackend.apply of unchanged resources; checks nothing was written."""
    backend = LocalBackend.open(path)
    with backend.db.read() as conn:
        before = conn.execute("SELECT count(*) FROM api_resource_versions").fetchone()[0]
    samples: list[float] = []
    try:
        for _ in range(runs):
            start = time.perf_counter()
            outcomes = backend.apply(resources)
            samples.append(time.perf_counter() - start)
            if {o.action for o in outcomes} != {"unchanged"}:
                raise RuntimeError("re-apply changed something")
        with backend.db.read() as conn:
            after = conn.execute("SELECT count(*) FROM api_resource_versions").fetchone()[0]
    finally:
        backend.close()
    if after != before:
        raise RuntimeError(f"re-apply wrote {after - before} history rows")
    return samples


def count_rows(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return sum(int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in TABLES)
    finally:
        conn.close()


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    tree = tmp / "resources"
    docs = documents(agents=args.agents, skills=args.skills, workflows=args.workflows)
    n = write_tree(tree, docs)
    files = sorted(str(p) for p in tree.rglob("*.yaml"))
    log(f"apply: {n} resource files in {tree}")
    samples: dict[str, list[float]] = {}

    # Reading files: stigmer's loader against libyaml alone.
    texts = [Path(f).read_text(encoding="utf-8") for f in files]
    samples[CSAFE] = time_calls(
        lambda: [yaml.load(t, Loader=yaml.CSafeLoader) for t in texts], runs=args.load_runs, warmups=1
    )
    loaded: list[Resource] = []

    def do_load() -> None:
        loaded[:] = load([str(tree)]).resources

    settle()
    samples["load (parse + decode files)"] = time_calls(do_load, runs=args.load_runs)
    resources = list(loaded)
    assert len(resources) == n

    # LocalBackend.apply (one warm-up into a throwaway database first).
    backend_apply(tmp / "warmup.db", resources)
    settle()
    samples["LocalBackend.apply"] = [
        backend_apply(tmp / f"backend-{i}.db", resources) for i in range(args.runs)
    ]
    applied_db = tmp / f"backend-{args.runs - 1}.db"
    rows = dump_rows(applied_db)
    row_count = sum(len(r) for _, r in rows.values())
    log(f"apply: LocalBackend.apply wrote {row_count} rows; raw baseline")

    # Raw inserts of the same rows.
    raw_insert(tmp / "raw-warmup.db", rows)
    settle()
    samples[RAW] = [raw_insert(tmp / f"raw-{i}.db", rows) for i in range(args.runs)]
    if count_rows(tmp / "raw-0.db") != row_count:
        raise RuntimeError("the raw baseline did not write the same number of rows")

    # Re-apply, unchanged.
    samples["LocalBackend.apply, unchanged"] = backend_reapply(applied_db, resources, runs=args.runs)
    targets = [(kind_info(r).table, r.metadata.name) for r in resources]  # names are their slugs here
    samples[LOOKUPS] = raw_lookups(applied_db, targets, runs=args.runs)

    # The CLI.
    log(f"apply: CLI x{args.cli_runs}")
    cli: list[float] = []
    reapply: list[float] = []
    for i in range(args.cli_runs):
        home = tmp / f"home-{i}"
        env = env_with_home(home)
        run_checked(stigmer_cmd("init"), env=env)
        cli.append(run_checked(stigmer_cmd("apply", "-f", str(tree)), env=env))
        if count_rows(home / "local.db") != row_count:
            raise RuntimeError("the CLI did not write the same rows as LocalBackend.apply")
        reapply.append(run_checked(stigmer_cmd("apply", "-f", str(tree)), env=env))
    samples["stigmer apply -f DIR"] = cli
    samples["stigmer apply -f DIR, unchanged"] = reapply
    samples["stigmer version (start-up reference)"] = time_calls(
        lambda: run_checked(stigmer_cmd("version")), runs=5, warmups=1
    )
    return {
        "samples": samples,
        "rows_written": row_count,
        "rows_per_table": {t: len(r) for t, (_, r) in rows.items()},
        "resources": n,
    }


def report(result: dict[str, Any], args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    samples: dict[str, list[float]] = result["samples"]
    st = {name: stats(secs) for name, secs in samples.items()}
    raw_name, lookups_name, csafe_name = RAW, LOOKUPS, CSAFE
    raw, lookups, csafe = st[raw_name], st[lookups_name], st[csafe_name]
    # measurement -> (its baseline, the baseline's short name)
    baseline_of = {
        "LocalBackend.apply": (raw_name, "raw insert"),
        "stigmer apply -f DIR": (raw_name, "raw insert"),
        raw_name: (raw_name, "raw insert"),
        "LocalBackend.apply, unchanged": (lookups_name, "raw SELECT x1000"),
        "stigmer apply -f DIR, unchanged": (lookups_name, "raw SELECT x1000"),
        lookups_name: (lookups_name, "raw SELECT x1000"),
        "load (parse + decode files)": (csafe_name, "CSafeLoader"),
        csafe_name: (csafe_name, "CSafeLoader"),
    }
    n = int(result["resources"])
    data: dict[str, Any] = {"measurements": {}}
    rows = []
    for name, s in st.items():
        base_name, short = baseline_of.get(name, ("", ""))
        ratio = s.ratio(st[base_name]) if base_name else None
        data["measurements"][name] = {
            **stats_dict(samples[name]),
            "baseline": base_name or None,
            "ratio_median_vs_baseline": ratio,
            "per_resource_us": s.median_ms * 1000 / n,
        }
        rows.append(
            [
                name,
                fmt_ms(s.median_ms),
                fmt_ms(s.min_ms),
                f"{s.median_ms * 1000 / n:.0f}",
                f"{ratio:.1f}x vs {short}" if ratio is not None else "-",
            ]
        )
    apply_ratio = st["LocalBackend.apply"].ratio(raw)
    cli_ratio = st["stigmer apply -f DIR"].ratio(raw)
    cli_ms = st["stigmer apply -f DIR"].median_ms
    load_ms = st["load (parse + decode files)"].median_ms
    apply_ms = st["LocalBackend.apply"].median_ms
    start_ms = st["stigmer version (start-up reference)"].median_ms
    data.update(
        {
            "resources": n,
            "mix": {"agents": args.agents, "skills": args.skills, "workflows": args.workflows},
            "rows_written": result["rows_written"],
            "rows_per_table": result["rows_per_table"],
            "ratios": {
                "LocalBackend.apply / raw insert": apply_ratio,
                "stigmer apply CLI / raw insert": cli_ratio,
                "LocalBackend.apply unchanged / raw SELECT x1000": st["LocalBackend.apply, unchanged"].ratio(
                    lookups
                ),
                "stigmer apply CLI unchanged / raw SELECT x1000": st["stigmer apply -f DIR, unchanged"].ratio(
                    lookups
                ),
                "load / CSafeLoader": st["load (parse + decode files)"].ratio(csafe),
            },
            "cli_breakdown_ms": {
                "total": cli_ms,
                "load (parse + decode), in-process": load_ms,
                "LocalBackend.apply, in-process": apply_ms,
                "start-up (stigmer version)": start_ms,
                "sum of the parts": load_ms + apply_ms + start_ms,
            },
        }
    )
    md = [
        "# Apply",
        "",
        f"{n} resources ({args.agents} agents, {args.skills} skills, {args.workflows} workflows; one YAML "
        f"file each) applied in one call into a fresh database: {result['rows_written']} rows "
        f"({', '.join(f'{t} {c}' for t, c in result['rows_per_table'].items())}). "
        f"LocalBackend runs: {args.runs}, CLI runs: {args.cli_runs}.",
        "",
        md_table(["measurement", "median ms", "min ms", "µs / resource", "ratio (median)"], rows),
        "",
        f"- **LocalBackend.apply** is {apply_ratio:.1f}x the raw SQLite inserts of the same rows; "
        f"**`stigmer apply -f DIR`** is {cli_ratio:.1f}x.",
        f"- Where the CLI's {fmt_ms(cli_ms)} ms go (parts measured in-process, so approximate): reading and "
        f"decoding the files {fmt_ms(load_ms)} ms, LocalBackend.apply {fmt_ms(apply_ms)} ms, start-up "
        f"(`stigmer version`) {fmt_ms(start_ms)} ms. Reading the same files with libyaml's CSafeLoader "
        f"alone takes {fmt_ms(csafe.median_ms)} ms.",
        f"- Re-apply unchanged: LocalBackend {fmt_ms(st['LocalBackend.apply, unchanged'].median_ms)} ms, CLI "
        f"{fmt_ms(st['stigmer apply -f DIR, unchanged'].median_ms)} ms; nothing is written "
        "(checked: no new history rows).",
    ]
    return data, "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=400)
    parser.add_argument("--skills", type=int, default=300)
    parser.add_argument("--workflows", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5, help="LocalBackend and raw runs (default 5)")
    parser.add_argument("--cli-runs", type=int, default=3, help="CLI runs (default 3)")
    parser.add_argument("--load-runs", type=int, default=2, help="file loading runs (default 2)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-apply-") as tmp:
        result = run(args, Path(tmp))
    data, md = report(result, args)
    data["params"] = vars(args)
    json_path, md_path = write_results("apply", data, md)
    print(md)
    log(f"apply: wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
