"""The dashboard over a store of 100,000 executions: every request reads one page.

How fast those pages answer is measured in ``bench/bench_ui.py``, not asserted here.

The store is bulk-loaded the way ``bench/bench_read.py`` loads it (80% agent runs, 20%
workflow runs, mixed phases, over 30 days) in about 15 seconds.
"""

from __future__ import annotations

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
    options = DashboardOptions(port=0)
    with Dashboard(options, open_backend=lambda: CountingBackend.open(path)) as dashboard:
        yield dashboard


def fetched(url: str) -> Any:
    status, _, body = http(url)
    assert status == 200, body
    return body


def test_every_list_reads_one_page(crowded: Dashboard) -> None:
    api = f"{crowded.url}api"
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
        body = fetched(api + path)
        if path.startswith("/executions"):
            assert len(body["items"]) <= 50, name
    assert CountingBackend.page_sizes and set(CountingBackend.page_sizes) == {50}

    # Deep in the list: 40 pages on, still one page of 50 per request.
    token = ""
    for _ in range(40):
        page = fetched(f"{api}/executions?pageToken={token}")
        assert len(page["items"]) == 50
        token = page["nextPageToken"]
    one = page["items"][0]["id"]
    assert fetched(f"{api}/executions/{one}")["summary"]["id"] == one
    assert set(CountingBackend.page_sizes) == {50}


def test_the_list_page_pages_through_them_in_the_browser(page: Page, crowded: Dashboard) -> None:
    page.goto(crowded.url)
    rows = page.locator("#executions tbody tr")
    expect(rows).to_have_count(50)
    first = rows.first.get_attribute("data-id")
    page.click("text=Older →")
    expect(page.locator(".pager")).to_contain_text("page 2")
    expect(rows).to_have_count(50)
    assert rows.first.get_attribute("data-id") != first
    page.click("text=← Newer")
    expect(rows.first).to_have_attribute("data-id", first or "")
