"""Pruning old executions on SQLite, in batches (part of the Executions concern)."""

from __future__ import annotations

from datetime import timedelta

from stigmer import faults
from stigmer.api.backend.v1.backend_pb2 import (
    PruneResult,
)
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.backend.codec import timestamp
from stigmer.backend.local.base import _EXECUTION_KINDS, _TERMINAL_NAMES, LocalStore
from stigmer.errors import InvalidArgument
from stigmer.resources.kinds import KindInfo, kind_info, kind_of_id
from stigmer.store import retention
from stigmer.store.connection import Connection

PRUNE_BATCH = 500


PRUNED_IDS_SHOWN = 1000


class LocalPrune(LocalStore):
    """Pruning old executions on SQLite, in batches (part of the Executions concern)."""

    def prune_executions(
        self, older_than_seconds: int, *, kind: str = "", dry_run: bool = False
    ) -> PruneResult:
        if older_than_seconds <= 0:
            raise InvalidArgument(
                f"the age of executions to prune must be positive, not {older_than_seconds} seconds",
                field="older_than_seconds",
                hint="e.g. 30 days: `stigmer execution prune --older-than 30d`",
            )
        tops = [kind_info(kind)] if kind else _EXECUTION_KINDS
        if any(not k.execution for k in tops):
            raise InvalidArgument(
                f"{kind} is not an execution kind",
                field="kind",
                hint="use AgentExecution or WorkflowExecution",
            )
        cutoff = self.clock() - timedelta(seconds=older_than_seconds)
        result = PruneResult(dry_run=dry_run)
        result.cutoff.FromDatetime(cutoff)
        for info in tops:
            after: tuple[str, str] | None = None
            while True:
                # One transaction per batch: the write lock is held briefly, and a crash between
                # batches leaves each batch deleted whole or not at all.
                with self.db.read() if dry_run else self.db.write() as conn:
                    after = _prune_batch_txn(conn, info, timestamp(cutoff), after, result)
                if after is None:
                    break
                faults.hit("prune.batch_committed")
        return result


def _prune_batch_txn(
    conn: Connection, info: KindInfo, cutoff: str, after: tuple[str, str] | None, result: PruneResult
) -> tuple[str, str] | None:
    """Prune (or, in a dry run, count) one page of old finished runs of ``info``, each with its
    child runs; returns the keyset position after the page, None after the last one."""
    page = retention.old_runs(
        conn, info.table, sorted(_TERMINAL_NAMES), cutoff, after=after, limit=PRUNE_BATCH
    )
    parents = _existing_executions(conn, [run.parent_id for run in page if run.parent_id])
    # A child run goes with its parent, never alone; one whose parent is gone is a top run.
    tops = [run.id for run in page if run.parent_id not in parents]
    doomed: dict[str, list[str]] = {}
    for tree in _finished_trees(conn, info, tops).values():
        if tree is None:
            result.kept += 1
            continue
        for member_info, member_id in tree:
            doomed.setdefault(member_info.kind, []).append(member_id)
            if len(result.execution_ids) < PRUNED_IDS_SHOWN:
                result.execution_ids.append(member_id)
            else:
                result.ids_truncated = True
    context_table = kind_info(ExecutionContext).table
    for kind, ids in doomed.items():
        if result.dry_run:
            removed = retention.count_owned(conn, ids)
        else:
            removed = retention.delete_txn(
                conn, kind_info(kind).table, kind, ids, context_table=context_table
            )
        result.deleted[kind] += len(ids)
        result.steps += removed.steps
        result.artifacts += removed.artifacts
    return (page[-1].updated_at, page[-1].id) if len(page) == PRUNE_BATCH else None


def _existing_executions(conn: Connection, ids: list[str]) -> set[str]:
    """Which of these execution ids exist (ids of no execution kind do not)."""
    found: set[str] = set()
    for info in _EXECUTION_KINDS:
        found |= retention.existing(conn, info.table, [i for i in ids if kind_of_id(i) is info])
    return found


def _finished_trees(
    conn: Connection, info: KindInfo, tops: list[str]
) -> dict[str, list[tuple[KindInfo, str]] | None]:
    """Each top run with all its descendants (any kind, any depth), or None when one of them
    has not finished: a run whose child still runs, waits or is queued stays."""
    trees: dict[str, list[tuple[KindInfo, str]] | None] = {top: [(info, top)] for top in tops}
    top_of = {top: top for top in tops}
    frontier = list(tops)
    while frontier:
        found = [
            (child_info, *row)
            for child_info in _EXECUTION_KINDS
            for row in retention.children(conn, child_info.table, frontier)
        ]
        frontier = []
        for child_info, child_id, phase, parent_id in found:
            if child_id in top_of:
                continue  # a cycle of parent ids, which Stigmer never writes
            top = top_of[child_id] = top_of[parent_id]
            tree = trees[top]
            if phase not in _TERMINAL_NAMES:
                trees[top] = None
            elif tree is not None:
                tree.append((child_info, child_id))
            frontier.append(child_id)
    return trees


__all__ = ["PRUNE_BATCH", "LocalPrune"]
