"""Hostile input: binary files, alias bombs, a damaged database, odd homes and settings.

Each gets a clear error with a hint and exit 2 (or 1 for a damaged database), never a
traceback; nothing is written; and no command grows past ~256 MB on 1 MB of input.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import EXECUTABLE, Stigmer

BINARY = bytes(range(256)) * 12  # not UTF-8: 0x80-0xff alone are invalid
MAX_RSS_KB = 256 * 1024

WORKFLOW = """
apiVersion: agentic.stigmer.ai/v1
kind: Workflow
metadata: {name: w}
spec:
  inputs: {n: integer}
  tasks: [{name: a, set: {x: "${workflow.inputs.n}"}}]
"""


def alias_bomb(levels: int = 9) -> str:
    """Nine levels of nine aliases: ~1 KB that expands to 9^9 values."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def resource_bomb() -> str:
    indented = "\n".join(f"    {line}" for line in alias_bomb().splitlines())
    return (
        "apiVersion: agentic.stigmer.ai/v1\nkind: Skill\nmetadata: {name: s}\n"
        f"spec:\n  description: x\n  labels:\n{indented}\n"
    )


def run(
    home: Stigmer, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> tuple[int, str, int]:
    """(exit code, stderr, peak memory in KB) of ``stigmer ARGS``."""
    proc = subprocess.Popen(
        [str(EXECUTABLE), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=home.env(env),
        cwd=home.cwd,
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, err, usage.ru_maxrss


@pytest.fixture
def home(stigmer: Stigmer) -> Stigmer:
    stigmer("apply", "-f", "-", input=WORKFLOW)
    return stigmer


def _file(home: Stigmer, name: str, data: bytes | str) -> str:
    path = home.cwd / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


def test_binary_files_are_refused_with_a_clear_error(home: Stigmer) -> None:
    before = home.counts()
    binary = _file(home, "blob.bin", BINARY)
    for args, stdin in (
        (("apply", "-f", "-"), BINARY),
        (("apply", "-f", binary), b""),
        (("import",), BINARY),
        (("workflow", "execute", "w", "--input-file", binary), b""),
        (("workflow", "execute", "w", "--input-file", "-"), BINARY),
        (("env", "create", "e", "--secret-file", f"K={binary}"), b""),
    ):
        code, err, _ = run(home, *args, stdin=stdin)
        assert code == 2, (args, err)
        assert "Traceback" not in err and "UTF-8" in err, (args, err)
    assert home.counts() == before


def test_a_yaml_alias_bomb_is_refused_fast_and_small(home: Stigmer) -> None:
    before = home.counts()
    bomb = _file(home, "bomb.yaml", resource_bomb())
    inputs = _file(home, "inputs.yaml", alias_bomb())
    for args, stdin in (
        (("apply", "-f", bomb), b""),
        (("apply", "-f", "-"), resource_bomb().encode()),
        (("import",), resource_bomb().encode()),
        (("workflow", "execute", "w", "--input-file", inputs), b""),
    ):
        code, err, peak_kb = run(home, *args, stdin=stdin)
        assert code == 2, (args, err)
        assert "aliases" in err and "Traceback" not in err, err
        assert peak_kb < MAX_RSS_KB, (args, peak_kb)
    assert home.counts() == before


def test_a_damaged_database_says_so_and_how_to_restore(stigmer: Stigmer) -> None:
    stigmer.home.mkdir(parents=True)
    (stigmer.home / "local.db").write_bytes(BINARY * 10)
    result = stigmer("get", "agent", check=False)
    assert result.code == 1
    assert "damaged" in result.err and "stigmer import" in result.err and "export" in result.err
    assert "Traceback" not in result.err


def test_a_home_that_is_a_file_or_lies_under_one(stigmer: Stigmer, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert stigmer("--home", str(a_file), "get", "agent", check=False).code == 2
    result = stigmer("get", "agent", env={"STIGMER_HOME": str(a_file / "sub")}, check=False)
    assert result.code == 2 and "Traceback" not in result.err
    assert "STIGMER_HOME" in result.err and "file" in result.err


def test_a_non_numeric_lease_setting_is_refused(home: Stigmer) -> None:
    result = home(
        "workflow", "execute", "w", "--input", "n=1", env={"STIGMER_LEASE_SECONDS": "abc"}, check=False
    )
    assert result.code == 2 and "STIGMER_LEASE_SECONDS" in result.err and "Traceback" not in result.err


def test_the_home_and_its_database_are_private(home: Stigmer) -> None:
    assert stat.S_IMODE(home.home.stat().st_mode) == 0o700
    for path in home.home.glob("local.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_config_is_private_and_a_wide_home_is_warned_about(stigmer: Stigmer) -> None:
    stigmer("backend", "switch", "local")
    assert stat.S_IMODE((stigmer.home / "config.yaml").stat().st_mode) == 0o600
    stigmer.home.chmod(0o755)
    shown = stigmer("get", "agent").err
    assert shown.count("readable by other users") == 1 and "chmod 700" in shown
    stigmer.home.chmod(0o700)
    assert "readable by other users" not in stigmer("get", "agent").err
