"""What the install script installs: the demo gets only what it needs, the tests get their tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _bootstrap(tmp_path: Path, *args: str) -> list[str]:
    """Run scripts/bootstrap with npm and apt-get that only record how they were called."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("npm", "apt-get"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n')
        script.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "STIGMER_NPM_CACHE": str(tmp_path / "npm"),
        "STIGMER_CHROMIUM": "",
    }
    subprocess.run([str(REPO / "scripts" / "bootstrap"), *args], env=env, check=True, timeout=600)
    return calls.read_text().splitlines() if calls.exists() else []


def test_the_demo_installs_neither_browsers_nor_test_servers(tmp_path: Path) -> None:
    demo = (REPO / "scripts" / "demo").read_text()
    assert "./scripts/bootstrap\n" in demo  # as the demo calls it: no --test-tools
    assert _bootstrap(tmp_path) == []


def test_the_test_tools_include_server_everything_from_npm(tmp_path: Path) -> None:
    calls = _bootstrap(tmp_path, "--test-tools")
    npm = [call for call in calls if call.startswith("npm install")]
    assert len(npm) == 1 and "@modelcontextprotocol/server-everything@" in npm[0]
    assert f"--prefix {tmp_path / 'npm'}" in npm[0]
