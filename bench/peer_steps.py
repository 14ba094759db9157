"""The trivial Python step every engine of ``bench_peers.py`` runs: one more than its input.

A module of its own (importing only the SDK), so that Stigmer's engine imports it by name as
it imports any ``@task`` function.
"""

from __future__ import annotations

from stigmer import task


@task
def step(v: int) -> dict[str, int]:
    """The Stigmer ``@task``: ``{"v": v + 1}``."""
    return {"v": v + 1}


def plus_one(v: int) -> int:
    """The same step as a plain function, for the peers."""
    return v + 1


__all__ = ["plus_one", "step"]
