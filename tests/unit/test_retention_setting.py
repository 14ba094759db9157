"""The `retention` setting: where it is read from, and how `stigmer worker` applies it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from stigmer.cli import worker
from stigmer.cli.context import App
from stigmer.config import CONFIG_FILE, Config, retention_seconds
from stigmer.errors import InvalidArgument


@pytest.fixture(autouse=True)
def _no_retention_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STIGMER_RETENTION", raising=False)


def test_without_a_setting_runs_are_kept(tmp_path: Path) -> None:
    assert retention_seconds(Config(home=tmp_path)) is None
    assert retention_seconds(Config(home=tmp_path, extra={"retention": ""})) is None


def test_the_config_sets_the_retention(tmp_path: Path) -> None:
    assert retention_seconds(Config(home=tmp_path, extra={"retention": "30d"})) == 30 * 86400


def test_stigmer_retention_wins_over_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STIGMER_RETENTION", "12h")

    assert retention_seconds(Config(home=tmp_path, extra={"retention": "30d"})) == 12 * 3600


def test_a_bad_setting_names_its_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as err:
        retention_seconds(Config(home=tmp_path, extra={"retention": 30}))

    assert str(err.value) == f"{tmp_path / CONFIG_FILE}: retention: invalid age '30'"


def test_the_worker_prunes_at_start_and_then_every_period(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(worker, "prune_once", lambda app, older_than: calls.append(older_than))
    app = App(home=None, debug=False, output=None)

    async def main() -> None:
        stop = asyncio.Event()
        pruning = asyncio.create_task(worker.prune_periodically(app, 86400, stop, every=0))
        while len(calls) < 3:
            await asyncio.sleep(0)
        stop.set()
        await pruning

    asyncio.run(main())

    assert calls[:3] == [86400, 86400, 86400]
