"""Functions that workflow ``python`` tasks in the tests call (``tests.runners.workflow_functions:NAME``).

They keep their state in files named by their arguments, so a test can count calls across
runs and processes.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

_barriers: dict[str, threading.Barrier] = {}
_lock = threading.Lock()
_active: dict[str, int] = {}


def add(a: int, b: int) -> dict[str, Any]:
    return {"sum": a + b}


def meet(name: str, parties: int, log: str) -> dict[str, Any]:
    """Wait until ``parties`` tasks have arrived: it only returns when they run at the same time."""
    with _lock:
        barrier = _barriers.setdefault(log, threading.Barrier(parties, timeout=20))
    barrier.wait()
    with Path(log).open("a") as f:
        f.write(name + "\n")
    return {"met": name}


def flaky(counter: str, fail_times: int) -> dict[str, Any]:
    """Fail the first ``fail_times`` calls (counted in a file), then succeed."""
    path = Path(counter)
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls <= fail_times:
        raise RuntimeError(f"call {calls} fails on purpose")
    return {"calls": calls}


def busy(key: str, log: str, seconds: float = 0.05) -> dict[str, Any]:
    """Record how many calls of the same ``log`` run at once (the peak goes to the log)."""
    with _lock:
        _active[log] = _active.get(log, 0) + 1
        peak = _active[log]
    time.sleep(seconds)
    with _lock:
        _active[log] -= 1
    with Path(log).open("a") as f:
        f.write(f"{key} {peak}\n")
    return {"key": key}


async def shout(text: str) -> str:
    return text.upper()
