"""`stigmer env`: variables and secrets; values never shown except by `env reveal`."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest
import yaml

from .helpers import EXECUTABLE, Stigmer, headers, table, write

TOKEN = "ghp_cli-0123456789abcdef"
TYPED = "typed-hidden-s3cret"
FILED = "-----BEGIN KEY-----\nMIIBfile\n-----END KEY-----"


@pytest.fixture
def prod(stigmer: Stigmer) -> Stigmer:
    write(stigmer.cwd / "tls.key", FILED + "\n")
    created = stigmer(
        "env",
        "create",
        "prod",
        "--var",
        "REGION=eu-west-1",
        "--secret",
        f"TOKEN={TOKEN}",
        "--secret",
        "TYPED",
        "--secret-file",
        "TLS_KEY=tls.key",
        input=TYPED + "\n",
    )
    assert created.out == "environment/prod created\n"
    return stigmer


def _no_values(*texts: str) -> None:
    for text in texts:
        for value in (TOKEN, TYPED, "MIIBfile"):
            assert value not in text


def test_reads_show_names_and_masks_in_every_format(prod: Stigmer) -> None:
    listed = prod("env", "list")
    assert headers(listed.out) == ["NAME", "VARIABLES", "SECRETS", "VERSION", "AGE"]
    assert [(r["NAME"], r["VARIABLES"], r["SECRETS"]) for r in table(listed.out)] == [
        ("prod", "REGION", "TLS_KEY,TOKEN,TYPED")
    ]
    shown_yaml = prod("env", "get", "prod", "-o", "yaml").out
    shown_json = prod("env", "get", "prod", "-o", "json").json()
    listed_json = prod("env", "list", "-o", "json").json()
    generic = prod("get", "environment", "prod", "-o", "yaml").out

    masked = {"TLS_KEY": "****", "TOKEN": "****", "TYPED": "****"}
    assert yaml.safe_load(shown_yaml)["spec"] == {"variables": {"REGION": "eu-west-1"}, "secrets": masked}
    assert shown_json["spec"]["secrets"] == masked == listed_json[0]["spec"]["secrets"]
    assert generic == shown_yaml
    _no_values(
        listed.out, shown_yaml, generic, prod("env", "get", "prod").out, prod("history", "env", "prod").out
    )


def test_reveal_prints_exactly_one_value(prod: Stigmer) -> None:
    assert prod("env", "reveal", "prod", "TOKEN").out == TOKEN + "\n"
    assert prod("env", "reveal", "prod", "TYPED").out == TYPED + "\n"
    assert prod("env", "reveal", "prod", "TLS_KEY").out == FILED + "\n"

    missing = prod("env", "reveal", "prod", "NOPE", check=False)
    assert missing.code == 1
    assert missing.err == (
        "Error: environment 'prod' has no secret 'NOPE'\n"
        "Hint: its secrets: TLS_KEY, TOKEN, TYPED; set one with `stigmer env set prod --secret NOPE`\n"
    )


def test_set_changes_only_what_it_names_and_unset_removes(prod: Stigmer) -> None:
    changed = prod("env", "set", "prod", "--secret", "TOKEN=ghp_rotated-value", "--var", "TIER=gold")
    assert changed.out == "environment/prod updated: variable TIER, secret TOKEN\n"
    assert prod("env", "reveal", "prod", "TOKEN").out == "ghp_rotated-value\n"
    assert prod("env", "reveal", "prod", "TYPED").out == TYPED + "\n"

    assert (
        prod("env", "unset", "prod", "TYPED", "TIER").out == "environment/prod updated: removed TYPED, TIER\n"
    )
    spec = prod("env", "get", "prod", "-o", "json").json()["spec"]
    assert spec == {"variables": {"REGION": "eu-west-1"}, "secrets": {"TLS_KEY": "****", "TOKEN": "****"}}

    unknown = prod("env", "unset", "prod", "NOPE", check=False)
    assert (unknown.code, unknown.err.splitlines()[0]) == (
        1,
        "Error: environment 'prod' has no variable or secret 'NOPE'",
    )
    nothing = prod("env", "set", "prod", check=False)
    assert nothing.code == 2
    assert "nothing to set" in nothing.err


def test_get_edit_apply_round_trips_without_the_values(prod: Stigmer) -> None:
    document = yaml.safe_load(prod("env", "get", "prod", "-o", "yaml").out)
    document["spec"]["variables"]["TIER"] = "gold"

    applied = prod("apply", "-f", "-", input=yaml.safe_dump(document))

    assert applied.out == "environment/prod configured\n"
    assert prod("env", "reveal", "prod", "TOKEN").out == TOKEN + "\n"
    assert prod("apply", "-f", "-", input=yaml.safe_dump(document)).out == "environment/prod unchanged\n"


def test_delete(prod: Stigmer) -> None:
    assert prod("env", "delete", "prod").out == "environment/prod deleted\n"
    assert prod("env", "list", "-o", "json").json() == []


def test_a_bare_secret_asks_with_hidden_input_on_a_terminal(stigmer: Stigmer) -> None:
    """Run in a real pseudo-terminal: the prompt shows, the typed value is not echoed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [str(EXECUTABLE), "env", "create", "prod", "--secret", "TOKEN"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=stigmer.env(),
        cwd=stigmer.cwd,
        start_new_session=True,  # no controlling terminal: the prompt uses this one
    )
    os.close(slave)
    screen = b""
    typed = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 1024)
            except OSError:
                break  # the command exited and closed the terminal
            if not chunk:
                break
            screen += chunk
        if not typed and b"Value of secret TOKEN:" in screen:
            os.write(master, TYPED.encode() + b"\n")
            typed = True
    os.close(master)
    assert proc.wait(timeout=30) == 0, screen
    assert typed, screen
    assert b"environment/prod created" in screen
    assert TYPED.encode() not in screen
    assert stigmer("env", "reveal", "prod", "TOKEN").out == TYPED + "\n"


def test_bad_values_are_usage_errors(stigmer: Stigmer) -> None:
    no_stdin = stigmer("env", "create", "prod", "--secret", "TOKEN", check=False)
    assert no_stdin.code == 2
    assert "--secret TOKEN: no value" in no_stdin.err
    no_file = stigmer("env", "create", "prod", "--secret-file", "K=missing.txt", check=False)
    assert no_file.code == 2
    assert "cannot read missing.txt" in no_file.err
    bad_name = stigmer("env", "create", "prod", "--secret", "MY-TOKEN=hunter2-value", check=False)
    assert bad_name.code == 2
    assert "spec.secrets.MY-TOKEN: invalid name 'MY-TOKEN'" in bad_name.err
    assert "hunter2-value" not in bad_name.err
    assert stigmer("env", "list", "-o", "json").json() == []


@pytest.mark.parametrize("argv", [["version"], ["get", "agents"], ["env", "list"]], ids=" ".join)
def test_commands_that_open_no_secret_import_no_crypto(stigmer: Stigmer, argv: list[str]) -> None:
    code = (
        "import sys; from stigmer.cli.main import main; main(sys.argv[1:]);"
        "print(sorted(m for m in ('cryptography', 'keyring') if m in sys.modules), file=sys.stderr)"
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
