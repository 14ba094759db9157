"""Fixtures for CLI tests: `stigmer` (the real executable) in a temporary home."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import Stigmer, workdir


@pytest.fixture
def stigmer(tmp_path: Path) -> Stigmer:
    """`stigmer` in a fresh, empty home; the working directory holds a copy of examples/."""
    return Stigmer(tmp_path / "home", workdir(tmp_path / "work"))


@pytest.fixture
def other_home(tmp_path: Path, stigmer: Stigmer) -> Callable[[str], Stigmer]:
    """Further homes (e.g. the target of an import), in the same working directory as `stigmer`."""

    def make(name: str) -> Stigmer:
        return Stigmer(tmp_path / name, stigmer.cwd)

    return make


@pytest.fixture(scope="module")
def examples_home(tmp_path_factory: pytest.TempPathFactory) -> Stigmer:
    """A home with examples/ applied, shared by the tests of one module that only read it."""
    root = tmp_path_factory.mktemp("examples-home")
    home = Stigmer(root / "home", workdir(root / "work"))
    home("apply", "-f", "examples/")
    return home
