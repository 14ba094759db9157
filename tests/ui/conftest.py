"""Fixtures for the dashboard's tests: homes, `stigmer ui` processes, and a real Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.cli.helpers import Stigmer
from tests.ui.harness import CHROMIUM_FLAGS, DashboardProcess, chromium_path, dashboard_home

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Request, Route

PAGE_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Stigmer:
    """A home with examples/, release-gate, refund-bot and the `vault` environment, for one module."""
    return dashboard_home(tmp_path_factory.mktemp("ui"))


@pytest.fixture(scope="module")
def dashboard(home: Stigmer) -> Iterator[DashboardProcess]:
    """`stigmer ui` over the module's home (no key required), with its worker."""
    with DashboardProcess(home) as running:
        yield running


# Package scope, not session: Playwright's sync API keeps an event loop running in this
# thread until it stops, and the tests after these ones call asyncio.run.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the dashboard's tests need Playwright: pip install -e '.[dev]'", pytrace=False)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless, with no network of its own."""
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile (no cookies) and page; the test fails on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    outside: list[str] = []

    def only_local(route: Route, request: Request) -> None:
        if request.url.startswith(("http://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    context.route("**/*", only_local)
    yield opened
    context.close()
    assert errors == [], f"the page's scripts failed: {errors}"
    assert outside == [], f"the page asked for something beyond 127.0.0.1: {outside}"


@pytest.fixture
def own_home(tmp_path: Path) -> Stigmer:
    """A home of this test's own (to create keys in, or to stop its dashboard)."""
    return dashboard_home(tmp_path)
