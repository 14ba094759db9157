"""The `retention` setting: where it is read from, and how a worker applies it (beside it, in the host)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from stigmer.api.backend.v1.backend_pb2 import PruneResult
from stigmer.backend.local import LocalBackend
from stigmer.config import CONFIG_FILE, Config, retention_seconds
from stigmer.errors import InvalidArgument
from stigmer.host import Retention


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


def test_the_worker_prunes_at_start_and_then_every_period(tmp_path: Path) -> None:
    calls: list[int] = []
    three = threading.Event()

    class Counting(LocalBackend):
        def prune_executions(
            self, older_than_seconds: int, *, kind: str = "", dry_run: bool = False
        ) -> PruneResult:
            calls.append(older_than_seconds)
            if len(calls) >= 3:
                three.set()
            return super().prune_executions(older_than_seconds, kind=kind, dry_run=dry_run)

    retention = Retention(lambda: Counting.open(tmp_path / "local.db"), 86400, every=0, say=lambda _: None)
    retention.start()
    try:
        assert three.wait(30)
    finally:
        retention.stop()

    assert calls[:3] == [86400, 86400, 86400]
