"""Every recorded HTTP exchange is replayed by some test; an unused recording fails."""

from __future__ import annotations

from pathlib import Path

from tests.models.cassettes import RECORDINGS, SCRUBBED


def test_every_recording_is_used_by_a_test() -> None:
    sources = "".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_*.py"))
    unused = [p.name for p in sorted(RECORDINGS.glob("*.yaml")) if f'"{p.stem}"' not in sources]
    assert not unused, f"recordings no test replays: {unused}"


def test_recordings_hold_no_credentials() -> None:
    for path in RECORDINGS.glob("*.yaml"):
        text = path.read_text(encoding="utf-8").lower()
        for line in text.splitlines():
            if line.strip().startswith(("authorization:", "x-api-key:")):
                assert SCRUBBED in line, f"{path.name}: {line.strip()}"
