"""A process killed mid-write leaves nothing half-written; a newer database is left alone."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Callable

from stigmer.store.migrations import LATEST

from .helpers import EXAMPLE_LABELS, Stigmer

KILLED = -signal.SIGKILL


def test_crash_in_the_middle_of_apply_writes_nothing(stigmer: Stigmer) -> None:
    crashed = stigmer(
        "apply", "-f", "examples/", env={"STIGMER_FAULTS": "apply.resource_written=3"}, check=False
    )
    assert crashed.code == KILLED
    assert crashed.out == ""

    assert stigmer("get", "agents", "-o", "json").json() == []
    assert set(stigmer.counts().values()) == {0}

    result = stigmer("apply", "-f", "examples/")
    assert result.lines() == [f"{label} created" for label in EXAMPLE_LABELS]
    assert [
        v["spec"]["operation"] for v in stigmer("history", "agent", "support-bot", "-o", "json").json()
    ] == ["create"]


def test_crash_in_the_middle_of_an_update_keeps_the_old_versions(stigmer: Stigmer) -> None:
    stigmer("apply", "-f", "examples/")
    before = stigmer("export", "--all").out
    for path in (stigmer.cwd / "examples").rglob("*.yaml"):
        path.write_text(path.read_text().replace("description: ", "description: Changed. "))

    crashed = stigmer(
        "apply", "-f", "examples/", env={"STIGMER_FAULTS": "apply.resource_written=4"}, check=False
    )
    assert crashed.code == KILLED
    assert stigmer("export", "--all").out == before

    result = stigmer("apply", "-f", "examples/")
    assert result.lines() == [f"{label} configured" for label in EXAMPLE_LABELS]


def test_crash_in_the_middle_of_import_writes_nothing(
    stigmer: Stigmer, other_home: Callable[[str], Stigmer]
) -> None:
    stigmer("apply", "-f", "examples/")
    backup = stigmer("export", "--all").out
    restored = other_home("restored")

    crashed = restored(
        "import", input=backup, env={"STIGMER_FAULTS": "import.resource_written=2"}, check=False
    )
    assert crashed.code == KILLED
    assert crashed.out == ""
    assert restored("get", "agents", "-o", "json").json() == []
    assert set(restored.counts().values()) == {0}

    assert restored("import", input=backup).out == "Imported 13 resources.\n"
    assert restored("export", "--all").out == backup


def test_a_database_from_a_newer_stigmer_is_left_untouched(stigmer: Stigmer) -> None:
    stigmer("init")
    stigmer("apply", "-f", "examples/")
    with sqlite3.connect(stigmer.database) as conn:
        conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 'later')")
    conn.close()
    files_before = {p.name: p.read_bytes() for p in stigmer.home.iterdir()}

    for command in (("get", "agents"), ("apply", "-f", "examples/"), ("init",)):
        result = stigmer(*command, check=False)
        assert result.code == 2, result
        assert result.out == ""
        error, hint = result.err.splitlines()
        assert error == (
            f"Error: database {stigmer.database} has schema version 999, newer than this Stigmer "
            f"knows ({LATEST}); it was left untouched"
        )
        assert hint.startswith("Hint: upgrade stigmer")

    # No byte of the database changed, and no journal or WAL file appeared beside it.
    assert {p.name: p.read_bytes() for p in stigmer.home.iterdir()} == files_before
    assert sorted(files_before) == ["config.yaml", "local.db", "master.key"]
