"""The SDK's docs cannot rot: every example script, every example test file and every
Python block of docs/sdk.md runs, offline, in a home of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "sdk"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("test_"))
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "sdk.md").read_text(), re.S)


def _run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STIGMER_", "ANTHROPIC_", "OPENAI_"))}
    env.update(STIGMER_HOME=str(home), STIGMER_KEYRING="0")
    return subprocess.run(
        args, cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_every_example_script_runs(script: Path, tmp_path: Path) -> None:
    result = _run([sys.executable, script.name], tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_the_example_tests_pass(tmp_path: Path) -> None:
    result = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "."], tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b4 passed\b", result.stdout), result.stdout


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_every_code_block_of_the_sdk_guide_runs(block: str, tmp_path: Path) -> None:
    result = _run([sys.executable, "-c", block], tmp_path / "home")
    assert result.returncode == 0, result.stderr


def test_the_guide_has_code_blocks() -> None:
    assert len(BLOCKS) >= 4
