"""The dashboard over a store of 100,000 executions: every request reads one page, and stays fast.

The store is bulk-loaded the way ``bench/bench_read.py`` loads it (80% agent runs, 20%
workflow runs, mixed phases, over 30 days) in about 15 seconds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from playwright.sync_api import Page, expect

from bench.bench_read import add_executions
from stigmer.backend.local import LocalBackend
from stigmer.backend.protocol import ExecutionQuery
from stigmer.backend.protocol import Page as BackendPage
from stigmer.resources.kinds import Execution
from stigmer.ui import Dashboard, DashboardOptions
from tests.ui.harness import http

COUNT = 100_000
MEDIAN_LIMIT_MS = 50.0


class CountingBackend(LocalBackend):
    """A LocalBackend that notes the page size of every list_executions call."""

    page_sizes: ClassVar[list[int]] = []

    def list_executions(self, query: ExecutionQuery) -> BackendPage[Execution]:
        CountingBackend.page_sizes.append(query.page_size)
        return super().list_executions(query)


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    path = Path(tmp_path_factory.mktemp("crowded")) / "local.db"
    LocalBackend.open(path).close()  # the schema
    add_executions(path, COUNT, agents=20)
    options = DashboardOptions(port=0, worker=False)
    with Dashboard(options, open_backend=lambda: CountingBackend.open(path)) as dashboard:
        yield dashboard


def timed(url: str, times: int = 15) -> tuple[float, Any]:
    """The median milliseconds of ``times`` GETs of ``url``, and the last answer."""
    took: list[float] = []
    body: Any = None
    for _ in range(times):
        started = time.perf_counter()
        status, _, body = http(url)
        took.append((time.perf_counter() - started) * 1000)
        assert status == 200, body
    return statistics.median(took), body


def test_every_list_reads_one_page_and_answers_fast(crowded: Dashboard) -> None:
    api = f"{crowded.url}api"
    medians: dict[str, float] = {}
    CountingBackend.page_sizes.clear()
    for name, path in {
        "first page": "/executions",
        "waiting only": "/executions?phase=WAITING_APPROVAL",
        "workflows only": "/executions?kind=workflow",
        "one agent's": "/executions?definition=agent-000003",
        "children of a run": "/executions?parent=wex_00000000000000000000000007",
        "created in the last hour": "/executions?since=1h",
        "dashboard info": "/info",
    }.items():
        medians[name], body = timed(api + path)
        if path.startswith("/executions"):
            assert len(body["items"]) <= 50
    assert CountingBackend.page_sizes and set(CountingBackend.page_sizes) == {50}

    # Deep in the list: 40 pages on, a page costs what the first one does.
    token, deep = "", []
    for _ in range(40):
        started = time.perf_counter()
        _, _, page = http(f"{api}/executions?pageToken={token}")
        deep.append((time.perf_counter() - started) * 1000)
        token = page["nextPageToken"]
    medians["page 40"] = statistics.median(deep[-10:])
    one = page["items"][0]["id"]
    medians["one execution"], view = timed(f"{api}/executions/{one}")
    assert view["summary"]["id"] == one

    slow = {name: round(ms, 1) for name, ms in medians.items() if ms > MEDIAN_LIMIT_MS}
    assert slow == {}, f"slower than {MEDIAN_LIMIT_MS} ms with {COUNT:,} executions: {medians}"


def test_the_list_page_pages_through_them_in_the_browser(page: Page, crowded: Dashboard) -> None:
    started = time.perf_counter()
    page.goto(crowded.url)
    rows = page.locator("#executions tbody tr")
    expect(rows).to_have_count(50)
    assert time.perf_counter() - started < 5
    first = rows.first.get_attribute("data-id")
    page.click("text=Older →")
    expect(page.locator(".pager")).to_contain_text("page 2")
    expect(rows).to_have_count(50)
    assert rows.first.get_attribute("data-id") != first
    page.click("text=← Newer")
    expect(rows.first).to_have_attribute("data-id", first or "")
