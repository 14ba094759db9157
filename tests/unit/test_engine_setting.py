"""The `engine` and `temporal` settings: config.yaml, the variables that override them, and the
engine they open."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stigmer.config import (
    CONFIG_FILE,
    TemporalSettings,
    engine_of,
    load_config,
    save_config,
    temporal_settings,
)
from stigmer.engine.engines import LocalEngine, open_engine
from stigmer.errors import InvalidArgument


@pytest.fixture(autouse=True)
def _no_engine_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STIGMER_ENGINE", raising=False)
    monkeypatch.delenv("STIGMER_TEMPORAL_ADDRESS", raising=False)


def _home(tmp_path: Path, settings: dict[str, object]) -> Path:
    (tmp_path / CONFIG_FILE).write_text(yaml.safe_dump(settings))
    return tmp_path


def test_the_local_engine_is_the_default(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert engine_of(config) == "local"
    assert temporal_settings(config) == TemporalSettings("127.0.0.1:7233", "default", "stigmer")
    assert isinstance(open_engine(config), LocalEngine)


def test_one_setting_selects_temporal_and_the_variables_override_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(
        tmp_path, {"engine": "temporal", "temporal": {"address": "t.internal:7233", "taskQueue": "q"}}
    )
    config = load_config(home)
    assert engine_of(config) == "temporal"
    assert temporal_settings(config) == TemporalSettings("t.internal:7233", "default", "q")
    engine = open_engine(config)
    assert (engine.name, engine.runs_here) == ("temporal", False)
    assert engine.describe() == "Temporal at t.internal:7233 (namespace default, task queue q)"
    monkeypatch.setenv("STIGMER_ENGINE", "local")
    monkeypatch.setenv("STIGMER_TEMPORAL_ADDRESS", "10.0.0.5:7233")
    assert engine_of(config) == "local"
    assert temporal_settings(config).address == "10.0.0.5:7233"
    # Saved back as it was read, with the other settings.
    save_config(config)
    saved = yaml.safe_load((home / CONFIG_FILE).read_text())
    assert saved["engine"] == "temporal"
    assert saved["temporal"] == {"address": "t.internal:7233", "namespace": "default", "taskQueue": "q"}


def test_bad_settings_say_what_to_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidArgument, match="invalid engine 'temporl'") as bad:
        load_config(_home(tmp_path, {"engine": "temporl"}))
    assert bad.value.hint == "use one of: local, temporal"
    with pytest.raises(InvalidArgument, match=r"unknown setting temporal\.adress"):
        load_config(_home(tmp_path, {"temporal": {"adress": "x:1"}}))
    monkeypatch.setenv("STIGMER_ENGINE", "celery")
    with pytest.raises(InvalidArgument, match="unknown engine 'celery'"):
        engine_of(load_config(_home(tmp_path, {})))
