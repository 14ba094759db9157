"""The dashboard over 100,000 executions: HTTP latency of its list and detail endpoints.

The store is bulk-loaded like ``bench/bench_read.py`` (80% agent runs, 20% workflow runs,
mixed phases, over 30 days). Each endpoint is called ~50 times over HTTP on 127.0.0.1;
the baseline, measured in the same run on the same file, is the Backend call the
endpoint makes (``list_executions`` of one page, ``get_execution``), so the ratio is what
the dashboard's HTTP layer and views add. Goal: every page answers in a few milliseconds,
and a page deep in the list costs what the first one does (keyset pages, no scans).
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python bench/bench_ui.py): make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_read import add_executions
from bench.benchlib import fmt_ms, log, md_table, settle, stats, time_calls, write_results
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import ExecutionQuery
from stigmer.ui import Dashboard, DashboardOptions

COUNT = 100_000
RUNS = 50


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="stigmer-bench-ui-") as tmp:
        path = Path(tmp) / "local.db"
        LocalBackend.open(path).close()
        log(f"ui: loading {COUNT:,} executions")
        add_executions(path, COUNT, agents=20)
        backend = LocalBackend.open(path)
        options = DashboardOptions(port=0)
        with Dashboard(options, open_backend=lambda: LocalBackend.open(path)) as dashboard:
            api = f"{dashboard.url}api"
            token = ""
            for _ in range(40):  # the cursor of page 41
                token = _get(f"{api}/executions?pageToken={token}")["nextPageToken"]
            one = _get(f"{api}/executions")["items"][0]["id"]
            cases: list[tuple[str, str, Callable[[], object] | None]] = [
                ("first page", "/executions", lambda: backend.list_executions(ExecutionQuery(page_size=50))),
                (
                    "waiting only",
                    "/executions?phase=WAITING_APPROVAL",
                    lambda: backend.list_executions(
                        ExecutionQuery(phase=ExecutionPhase.WAITING_APPROVAL, page_size=50)
                    ),
                ),
                ("page 41", f"/executions?pageToken={token}", None),
                ("one execution", f"/executions/{one}", lambda: backend.get_execution(one)),
            ]
            rows, data = [], {}
            for name, route, baseline in cases:
                settle()
                ui = stats(time_calls(partial(_get, api + route), runs=RUNS, warmups=3))
                base = stats(time_calls(baseline, runs=RUNS, warmups=3)) if baseline else None
                ratio = ui.median_ms / base.median_ms if base else None
                rows.append(
                    [name, fmt_ms(ui.median_ms), fmt_ms(ui.p99_ms), fmt_ms(base.median_ms) if base else "-",
                     f"{ratio:.1f}x" if ratio else "-"]
                )  # fmt: skip
                data[name] = {"ui_median_ms": ui.median_ms, "ui_p99_ms": ui.p99_ms,
                              "backend_median_ms": base.median_ms if base else None}  # fmt: skip
        backend.close()
    md = "\n\n".join(
        [
            "# Dashboard over 100,000 executions",
            __doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
            md_table(["endpoint", "HTTP median", "HTTP p99", "Backend call median", "ratio"], rows),
        ]
    )
    print(md)
    json_path, md_path = write_results("ui", {"executions": COUNT, "endpoints": data}, md)
    log(f"ui: wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
