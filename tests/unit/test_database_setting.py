"""Where a home's store is: the home's local.db, `database:` in config.yaml (a SQLite file or a
PostgreSQL URL), and STIGMER_DATABASE_URL over both; the backend it opens."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stigmer.backend.factory import open_backend
from stigmer.config import CONFIG_FILE, database_of, load_config
from stigmer.errors import InvalidArgument


@pytest.fixture(autouse=True)
def _no_database_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STIGMER_DATABASE_URL", raising=False)


def _home(tmp_path: Path, settings: dict[str, object]) -> Path:
    (tmp_path / CONFIG_FILE).write_text(yaml.safe_dump(settings))
    return tmp_path


def test_the_home_s_sqlite_file_is_the_default(tmp_path: Path) -> None:
    assert database_of(load_config(tmp_path)) == str(tmp_path / "local.db")
    assert database_of(load_config(_home(tmp_path, {"database": "~/other.db"}))) == str(
        Path("~/other.db").expanduser()
    )


def test_a_url_in_config_yaml_opens_postgresql_and_the_variable_overrides_it(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _home(tmp_path, {"database": "postgresql://nobody@127.0.0.1:1/nowhere"})
    assert database_of(load_config(home)) == "postgresql://nobody@127.0.0.1:1/nowhere"
    monkeypatch.setenv("STIGMER_DATABASE_URL", postgres_url)

    backend = open_backend(load_config(home))
    try:
        info = backend.info()
    finally:
        backend.close()

    assert info.database == postgres_url
    assert not (tmp_path / "local.db").exists()


def test_a_variable_that_is_not_a_url_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STIGMER_DATABASE_URL", "/var/lib/stigmer.db")

    with pytest.raises(InvalidArgument) as err:
        database_of(load_config(tmp_path))

    assert "STIGMER_DATABASE_URL is not a PostgreSQL URL" in str(err.value)
    assert "postgresql://USER:PASSWORD@HOST:PORT/DATABASE" in err.value.hint
