"""The `durability` setting: config.yaml and $STIGMER_DURABILITY choose how SQLite commits."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
import yaml

from stigmer import Client
from stigmer.config import CONFIG_FILE, Config, durability_of, load_config
from stigmer.errors import InvalidArgument
from stigmer.server.app import ServerOptions, StigmerServer
from stigmer.store.database import Database

# PRAGMA synchronous reads back as a number.
FULL, NORMAL = 2, 1
STIGMER = Path(sys.executable).parent / "stigmer"


@pytest.fixture(autouse=True)
def _no_durability_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STIGMER_DURABILITY", raising=False)


def _home(tmp_path: Path, **settings: object) -> Path:
    home = tmp_path / "home"
    home.mkdir(parents=True)
    if settings:
        (home / CONFIG_FILE).write_text(yaml.safe_dump(settings))
    return home


def _synchronous(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA synchronous").fetchone()[0])


def _client_synchronous(home: Path) -> int:
    with Client(home=home) as client:
        return _synchronous(client.backend.db.conn)  # type: ignore[attr-defined]


def test_commits_survive_a_power_loss_by_default(tmp_path: Path) -> None:
    home = _home(tmp_path)

    assert durability_of(load_config(home)) == "full"
    assert _client_synchronous(home) == FULL


def test_the_config_chooses_normal(tmp_path: Path) -> None:
    assert _client_synchronous(_home(tmp_path, durability="normal")) == NORMAL


def test_the_variable_wins_over_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _home(tmp_path, durability="normal")
    monkeypatch.setenv("STIGMER_DURABILITY", "full")
    assert _client_synchronous(home) == FULL

    monkeypatch.setenv("STIGMER_DURABILITY", "normal")
    assert _client_synchronous(_home(tmp_path / "other", durability="full")) == NORMAL


def test_throwaway_homes_of_tests_skip_the_sync() -> None:
    from stigmer.testing import sandbox, temporary_backend

    with sandbox() as client:
        assert _synchronous(client.backend.db.conn) == NORMAL  # type: ignore[attr-defined]
    with temporary_backend() as backend:
        assert _synchronous(cast(Database, backend.db).conn) == NORMAL


def test_a_server_opens_its_store_at_the_durability_it_is_given(tmp_path: Path) -> None:
    for durability, expected in (("normal", NORMAL), ("full", FULL)):
        options = ServerOptions(database=tmp_path / "server.db", durability=durability)
        backend = StigmerServer(options, verify=lambda token: None).open_backend()
        try:
            assert _synchronous(backend.db.conn) == expected  # type: ignore[attr-defined]
        finally:
            backend.close()


def test_the_setting_is_saved_back_with_the_config(tmp_path: Path) -> None:
    config = load_config(_home(tmp_path, durability="normal", model="scripted"))

    assert config.to_dict()["durability"] == "normal"
    assert "durability" not in Config(home=tmp_path).to_dict()


def test_a_bad_value_in_the_config_names_the_setting(tmp_path: Path) -> None:
    home = _home(tmp_path, durability="paranoid")

    with pytest.raises(InvalidArgument) as err:
        load_config(home)
    assert str(err.value) == f"{home / CONFIG_FILE}: durability: invalid durability 'paranoid'"
    assert "full" in (err.value.hint or "") and "normal" in (err.value.hint or "")


def test_a_bad_value_of_the_store_is_refused_before_the_file_is_touched(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="invalid durability 'OFF'"):
        Database.open(tmp_path / "x.db", durability="OFF")
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("config", "variable", "named"),
    [({"durability": "sometimes"}, None, "durability"), ({}, "off", "STIGMER_DURABILITY")],
)
def test_the_cli_refuses_a_bad_value_with_exit_2(
    tmp_path: Path, config: dict[str, str], variable: str | None, named: str
) -> None:
    home = _home(tmp_path, **config)
    env = {"STIGMER_HOME": str(home), "PATH": str(STIGMER.parent)}
    if variable is not None:
        env["STIGMER_DURABILITY"] = variable

    result = subprocess.run([str(STIGMER), "get", "agents"], capture_output=True, text=True, env=env)

    assert result.returncode == 2, result.stderr
    assert f"{named}: invalid durability" in result.stderr
    assert not (home / "local.db").exists()


@pytest.mark.parametrize(
    "text",
    [
        "backend: local\noutput: table\n",
        "# written by stigmer init\nbackend: cloud\nserver: grpc://127.0.0.1:7878\nmodel: local/smollm2\n",
        "durability: normal\nengine: temporal\n",
        "retention: 30d\n",
        "model: ollama/qwen2.5-coder:7b\n\n",
        "output: yes\n",
        "port: 7878\n",
        "when: 2024-01-01\n",
        "time: 1:30\n",
        "model: 'quoted'\n",
        "temporal:\n  address: t:7233\n",
        "model: a # comment\n",
        "a: b\na: c\n",
        "---\nbackend: local\n",
        "  backend: local\n",
        "output: Null\n",
    ],
)
def test_a_flat_config_reads_as_yaml_reads_it(text: str) -> None:
    from stigmer.config import flat_settings

    fast = flat_settings(text)

    assert fast is None or fast == yaml.safe_load(text)
    if text.startswith(("backend", "# written", "durability", "model: ollama")):
        assert fast is not None  # the files Stigmer writes are read without YAML
