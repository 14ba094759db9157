"""`stigmer version`, `--help`, `init`, and choosing the home."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
import yaml

from stigmer.version import __version__

from .helpers import Stigmer, skill_yaml, write

# The commands of the CLI contract (docs/cli.md) that exist so far (groups, and some of their commands).
COMMANDS = [
    "init",
    "version",
    "apply",
    "get",
    "delete",
    "history",
    "rollback",
    "agent",
    "workflow",
    "execution",
    "execution prune",
    "worker",
    "env",
    "secrets",
    "export",
    "import",
    "backend",
    "login",
    "logout",
    "server",
    "models",
    "synth",
    "ui",
]


def test_version_prints_the_version(stigmer: Stigmer) -> None:
    assert stigmer("version").out == f"stigmer {__version__}\n"
    assert stigmer("--version").out == f"stigmer {__version__}\n"


def test_help_lists_every_command(stigmer: Stigmer) -> None:
    result = stigmer("--help")
    section = result.out.split("Commands:", 1)[1].split("\n\n", 1)[0]
    listed = [line.split()[0] for line in section.splitlines() if line.strip()]
    missing = [command for command in COMMANDS if command.split()[0] not in listed]
    assert missing == []
    assert "--home" in result.out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(stigmer: Stigmer, command: str) -> None:
    result = stigmer(*command.split(), "--help")
    assert result.out.startswith(f"Usage: stigmer {command} ")
    assert not stigmer.home.exists(), "--help must not create the home"


def test_unknown_command_is_a_usage_error(stigmer: Stigmer) -> None:
    result = stigmer("aply", "-f", "examples/", check=False)
    assert result.code == 2
    assert "No such command 'aply'" in result.err


def test_init_creates_config_and_database_and_is_idempotent(stigmer: Stigmer) -> None:
    first = stigmer("init")
    config = stigmer.home / "config.yaml"
    assert config.is_file()
    assert stigmer.database.is_file()
    assert f"config:     {config} (created)" in first.out
    assert f"master key: {stigmer.home / 'master.key'} (created)" in first.out
    assert (stigmer.home / "master.key").stat().st_mode & 0o777 == 0o600
    assert "schema version" in first.out
    assert yaml.safe_load(config.read_text()) == {"backend": "local", "output": "table"}

    write(stigmer.cwd / "tone.yaml", skill_yaml("tone"))
    stigmer("apply", "-f", "tone.yaml")
    config_bytes = config.read_bytes()

    again = stigmer("init")
    assert "(created)" not in again.out
    assert f"config:     {config}" in again.out
    assert f"master key: {stigmer.home / 'master.key'}\n" in again.out
    assert config.read_bytes() == config_bytes
    assert stigmer.names("skills") == ["tone"]


def test_home_option_overrides_stigmer_home_variable(
    stigmer: Stigmer, other_home: Callable[[str], Stigmer]
) -> None:
    chosen = other_home("chosen")
    write(stigmer.cwd / "tone.yaml", skill_yaml("tone"))
    # STIGMER_HOME points at `stigmer.home`; --home wins.
    stigmer("--home", chosen.home, "apply", "-f", "tone.yaml")
    assert chosen.names("skills") == ["tone"]
    assert stigmer.names("skills") == []
    status = stigmer("--home", chosen.home, "backend", "status", "-o", "json").json()
    assert status["database"] == str(chosen.database)


def test_config_output_sets_the_default_format(stigmer: Stigmer) -> None:
    stigmer("init")
    (stigmer.home / "config.yaml").write_text("backend: local\noutput: json\n")
    write(stigmer.cwd / "tone.yaml", skill_yaml("tone"))
    stigmer("apply", "-f", "tone.yaml", "-o", "table")
    assert [s["metadata"]["name"] for s in stigmer("get", "skills").json()] == ["tone"]
    # The command's own -o, then the global -o, win over the config.
    assert stigmer("get", "skills", "-o", "table").lines()[0].startswith("NAME")
    assert stigmer("-o", "yaml", "get", "skill", "tone").out.startswith("apiVersion: agentic.stigmer.ai/v1\n")


def test_invalid_config_is_reported_with_its_file(stigmer: Stigmer) -> None:
    write(stigmer.home / "config.yaml", "output: xml\n")
    result = stigmer("get", "agents", check=False)
    assert result.code == 2
    assert f"{stigmer.home / 'config.yaml'}: output: invalid output 'xml'" in result.err
    assert "Hint: use one of: table, yaml, json" in result.err


@pytest.mark.parametrize("argv", [["--help"], ["get", "agents"], ["execution", "list"]], ids=" ".join)
def test_commands_that_evaluate_no_expression_import_no_cel(stigmer: Stigmer, argv: list[str]) -> None:
    code = (
        "import sys; from stigmer.cli.main import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('cel_expr_python', 'stigmer.resources.cel_tree') if m in sys.modules),"
        " file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        env=stigmer.env(),
        cwd=stigmer.cwd,
        check=True,
        timeout=60,
    )
    assert result.stderr.splitlines()[-1] == "[]"
