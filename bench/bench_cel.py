"""CEL: what one expression costs with each CEL implementation for Python, and through Stigmer.

Stigmer evaluates workflow expressions (``${ … }``) with Google's C++ CEL
(``cel-expr-python``). Measured beside it in the same run, on the same expressions and
data: the pure-Python ``cel-python`` (celpy, Stigmer's implementation before; the
**baseline**) and the Rust bindings ``common-expression-language``. Both are in the
``bench`` extra, never in Stigmer's dependencies; one that is not installed is left out.

- **Evaluate**: each expression compiled once, then evaluated with its data as an
  evaluation in a workflow has it: plain Python data (what ``steps.plain`` gives) converted
  to the library's values for each evaluation (celpy: ``json_to_cel``; cel-expr-python: an
  ``Activation``; Rust: a dict). ``--rounds`` rounds (default 9), each of ``--calls``
  evaluations per expression and library (default 2,000; celpy gets a tenth, it is ~50x
  slower), interleaved round by round so drift affects every library alike; the time per
  evaluation of each round, min and median over the rounds.
- **Through Stigmer**: ``stigmer.resources.expressions.evaluate`` of the same text in
  ``${…}`` (the scope, the activation of the roots it reads, the conversion back to plain
  data): what a ``set`` task pays per expression.
- **Compile**: compiling each expression anew (``--compiles`` times): the library's own,
  and Stigmer's (parse, read the names, rewrite its additions, plan), paid once per
  expression and process.
- **Start-up**: a new process importing the library and making its environment, min and
  median of ``--starts`` runs (default 7), against ``python -c pass``.

Writes ``bench/results/cel.json`` and ``bench/results/cel.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/bench_cel.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchlib import log, md_table, settle, write_results
from stigmer.resources import expressions
from stigmer.resources.steps import plain

# Struct data, as the engine hands it over: every number a double.
DATA: dict[str, Any] = {
    "workflow": {"inputs": {"week": "2024-W07", "limit": 10.0}},
    "tasks": {
        "t5": {"outputs": {"v": 5.0}, "output": {"v": 5.0}, "phase": "COMPLETED"},
        "fetch": {
            "outputs": {
                "title": "Fix login",
                "count": 3.0,
                "labels": ["bug", "ui", "api"],
                "rows": [{"ok": True, "id": float(i)} for i in range(10)],
            },
            "phase": "COMPLETED",
        },
    },
    "env": {"REGION": "eu-west-1"},
}

# Plain CEL that every library takes: (name, source, the roots it reads).
EXPRESSIONS = [
    ("chain step", "tasks.t5.outputs.v + 1", ("tasks",)),
    ("condition", 'tasks.fetch.outputs.count > 2 && env.REGION == "eu-west-1"', ("tasks", "env")),
    ("text", '"Week " + workflow.inputs.week + " in " + env.REGION', ("workflow", "env")),
    ("has", "has(tasks.fetch.outputs.title)", ("tasks",)),
    ("exists", 'tasks.fetch.outputs.labels.exists(l, l == "ui")', ("tasks",)),
    ("filter + map", "tasks.fetch.outputs.rows.filter(r, r.ok).map(r, r.id)", ("tasks",)),
]

Runner = Callable[[], object]


def _data(roots: tuple[str, ...]) -> dict[str, Any]:
    return {root: plain(DATA[root]) for root in roots}


def _celpy(source: str, roots: tuple[str, ...]) -> tuple[Runner, Runner]:
    import celpy
    from celpy.adapter import json_to_cel

    env = celpy.Environment()
    program = env.program(env.compile(source))
    data = _data(roots)

    def run() -> object:
        return program.evaluate({k: json_to_cel(v) for k, v in data.items()})

    def compile_once() -> object:
        return env.program(env.compile(source))

    return run, compile_once


def _cpp(source: str, roots: tuple[str, ...]) -> tuple[Runner, Runner]:
    from cel_expr_python import cel

    env = cel.NewEnv()
    program = env.compile(source, disable_check=True)
    data = _data(roots)

    def run() -> object:
        return program.eval(env.Activation(data)).plain_value()

    def compile_once() -> object:
        return env.compile(source, disable_check=True)

    return run, compile_once


def _rust(source: str, roots: tuple[str, ...]) -> tuple[Runner, Runner]:
    import cel

    program = cel.compile(source)
    data = _data(roots)

    def run() -> object:
        return program.execute(data)

    def compile_once() -> object:
        return cel.compile(source)

    return run, compile_once


def _stigmer(source: str, roots: tuple[str, ...]) -> tuple[Runner, Runner]:
    text = "${" + source + "}"
    context = {root: DATA[root] for root in roots}
    compile_cache = getattr(expressions, "_compile")  # noqa: B009 - the compiler's cache, to time a compile

    def run() -> object:
        return expressions.evaluate(text, context, where="bench")

    def compile_once() -> object:
        compile_cache.cache_clear()
        expressions.check(text, where="bench")
        return None

    return run, compile_once


LIBRARIES: dict[str, tuple[str, Callable[[str, tuple[str, ...]], tuple[Runner, Runner]]]] = {
    "celpy": ("celpy", _celpy),
    "cel-expr-python": ("cel_expr_python", _cpp),
    "common-expression-language": ("cel", _rust),
    "Stigmer (cel-expr-python)": ("cel_expr_python", _stigmer),
}
BASELINE = "celpy"
STARTS = {
    "python -c pass": "pass",
    "celpy": "import celpy; celpy.Environment()",
    "cel-expr-python": "from cel_expr_python import cel; cel.NewEnv()",
    "common-expression-language": "import cel; cel.compile('1')",
}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _per_call_us(fn: Runner, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def _summary(samples: list[float]) -> dict[str, float]:
    return {"min_us": min(samples), "median_us": statistics.median(samples)}


def measure(rounds: int, calls: int, compiles: int) -> dict[str, Any]:
    libraries = {name: make for name, (module, make) in LIBRARIES.items() if _installed(module)}
    missing = sorted(set(LIBRARIES) - set(libraries))
    if BASELINE not in libraries:
        raise SystemExit("celpy (the baseline) is not installed: pip install -e '.[bench]'")
    runners: dict[tuple[str, str], Runner] = {}
    compilers: dict[tuple[str, str], Runner] = {}
    for name, make in libraries.items():
        for expr_name, source, roots in EXPRESSIONS:
            run, compile_once = make(source, roots)
            run()  # warm: first-use costs, and a check that it evaluates
            runners[(name, expr_name)] = run
            compilers[(name, expr_name)] = compile_once
    settle()
    evaluate: dict[tuple[str, str], list[float]] = {key: [] for key in runners}
    for round_no in range(rounds):
        log(f"cel: round {round_no + 1}/{rounds}")
        for key, run in runners.items():
            n = max(calls // 10, 10) if key[0] == BASELINE else calls
            evaluate[key].append(_per_call_us(run, n))
    compile_us = {
        key: _summary([_per_call_us(fn, 1) for _ in range(compiles)]) for key, fn in compilers.items()
    }
    return {
        "libraries": list(libraries),
        "not_installed": missing,
        "evaluate": {
            f"{lib} | {expr}": _summary(s) | {"samples_us": s} for (lib, expr), s in evaluate.items()
        },
        "compile": {f"{lib} | {expr}": s for (lib, expr), s in compile_us.items()},
    }


def measure_starts(runs: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, code in STARTS.items():
        module = {"celpy": "celpy", "cel-expr-python": "cel_expr_python", "common-expression-language": "cel"}
        if name in module and not _installed(module[name]):
            continue
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            samples.append((time.perf_counter() - start) * 1000)
        out[name] = {"min_ms": min(samples), "median_ms": statistics.median(samples)}
    return out


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    libs: list[str] = result["libraries"]
    evaluate = result["evaluate"]
    rows = []
    for expr_name, source, _ in EXPRESSIONS:
        base = evaluate[f"{BASELINE} | {expr_name}"]["median_us"]
        row: list[object] = [f"{expr_name}: `{source}`"]
        for lib in libs:
            cell = evaluate[f"{lib} | {expr_name}"]
            ratio = "" if lib == BASELINE else f" ({base / cell['median_us']:.0f}x)"
            row.append(f"{cell['min_us']:.1f} / {cell['median_us']:.1f}{ratio}")
        rows.append(row)
    compile_rows = [
        [expr_name, *(f"{result['compile'][f'{lib} | {expr_name}']['median_us']:.0f}" for lib in libs)]
        for expr_name, _, _ in EXPRESSIONS
    ]
    starts = result["starts"]
    floor = starts["python -c pass"]["median_ms"]
    start_rows = [
        [name, f"{s['min_ms']:.0f}", f"{s['median_ms']:.0f}", f"+{s['median_ms'] - floor:.0f}"]
        for name, s in starts.items()
    ]
    missing = result["not_installed"]
    lines = [
        "# CEL for Python: one expression, each implementation",
        "",
        f"Per evaluation, µs, **min / median** of {args.rounds} rounds of {args.calls:,} evaluations "
        f"(celpy {max(args.calls // 10, 10):,}), the data converted for each as an evaluation in a "
        "workflow has it; in parentheses how many times faster than celpy (medians, same run). "
        "The last column is `expressions.evaluate` of `${…}`: Stigmer's whole path.",
        "",
        md_table(["expression", *libs], rows),
        "",
        f"Compile, µs per expression (median of {args.compiles}; Stigmer's includes reading the names "
        "and rewriting its additions; paid once per expression and process):",
        "",
        md_table(["expression", *libs], compile_rows),
        "",
        f"Start-up of a process that imports the library and makes its environment, ms ({args.starts} runs):",
        "",
        md_table(["process", "min", "median", "over `python -c pass`"], start_rows),
    ]
    if missing:
        lines += ["", f"Not installed, so not measured: {', '.join(missing)} (`pip install -e '.[bench]'`)."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--compiles", type=int, default=50)
    parser.add_argument("--starts", type=int, default=7)
    args = parser.parse_args()
    result = measure(args.rounds, args.calls, args.compiles)
    log("cel: start-up")
    result["starts"] = measure_starts(args.starts)
    result["settings"] = vars(args)
    markdown = report(result, args)
    write_results("cel", result, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
