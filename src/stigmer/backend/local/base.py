"""The shared store of the local parts: one SQLite database, the clock, the actor, the vault.

Every part of LocalBackend (resources, secrets, executions, pruning, the run journal) is a
mixin over :class:`LocalStore`; it holds what they share: finding a record by reference,
writing history snapshots, an execution as readers see it.

The seam between logic and SQL: a part opens a transaction (``self.db.read()`` or
``self.db.write()``) and calls the functions of :mod:`stigmer.store` (records, leases, steps,
versions, artifacts, retention) with that connection and plain :class:`~stigmer.store.Record`
values. The store knows SQLite and no models; the parts know no SQL. Another store implements
those functions (see docs/architecture.md, "How to add a store").
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self, cast

from google.protobuf.timestamp_pb2 import Timestamp

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import (
    BackendInfo,
    ExecutionStep,
)
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.common.v1.metadata_pb2 import ResourceReference
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.backend.codec import from_record, record_json, seal, set_time, timestamp
from stigmer.backend.local.sign_in_status import sign_in_status
from stigmer.backend.protocol import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    R,
)
from stigmer.backend.vault import Vault
from stigmer.clock import Clock, utcnow
from stigmer.config import home_dir
from stigmer.errors import Conflict, InvalidArgument, NotFound
from stigmer.resources.kinds import KINDS, Execution, KindInfo, Resource, kind_info, kind_of_id
from stigmer.resources.names import new_id, slugify
from stigmer.resources.references import has_reference_status, references
from stigmer.resources.steps import transcript
from stigmer.secrets.keys import MasterKeys
from stigmer.store import leases, records, versions
from stigmer.store import steps as step_store
from stigmer.store.connection import Connection, Transactions, is_url
from stigmer.store.database import open_database
from stigmer.store.locks import lock_names_txn, name_of
from stigmer.store.migrations import current_version
from stigmer.store.records import Record
from stigmer.version import __version__

TERMINAL = frozenset({ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED})


_TERMINAL_NAMES = frozenset(ExecutionPhase.Name(p) for p in TERMINAL)


_EXECUTION_KINDS = [k for k in KINDS if k.execution]


# Definitions that get a default instance of the same name: kind -> (instance kind, spec field).
_DEFAULT_INSTANCE = {"Agent": ("AgentInstance", "agent"), "Workflow": ("WorkflowInstance", "workflow")}


class LocalStore:
    """What every local part shares: the database, the clock, the actor and the vault.

    Args:
        db: An open database, SQLite or PostgreSQL (see :meth:`open`).
        clock: Where "now" comes from; tests inject their own.
        actor: Who writes, recorded in the audit columns and history.
        keys: The master keys that seal secrets; by default those of a SQLite file's
            directory, or of the Stigmer home (``$STIGMER_HOME``) for a PostgreSQL database.
    """

    def __init__(
        self, db: Transactions, *, clock: Clock = utcnow, actor: str = "", keys: MasterKeys | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.actor = actor or f"local:{getpass.getuser()}"
        self.keys = keys or MasterKeys(_keys_home(db))
        self.vault = Vault(self.keys)

    @classmethod
    def open(
        cls,
        location: str | Path,
        *,
        clock: Clock = utcnow,
        actor: str = "",
        keys: MasterKeys | None = None,
        durability: str = "full",
    ) -> Self:
        """Open (creating and migrating as needed) the database at ``location``, a SQLite file
        or a ``postgresql://`` URL; ``durability`` is ``full`` or ``normal`` (see
        :func:`~stigmer.store.database.open_database`)."""
        return cls(open_database(location, durability=durability), clock=clock, actor=actor, keys=keys)

    def _find(self, conn: Connection, info: KindInfo, ref: str, *, lock: bool = False) -> Record:
        """The record ``ref`` (an id or a name) names; NotFound saying how to list them.

        ``lock``: in a write transaction that writes it, the row stays locked until it ends.
        """
        rec = None
        owner = kind_of_id(ref)
        if owner is not None:
            rec = records.get(conn, info.table, id=ref, lock=lock) if owner is info else None
        if rec is None:
            rec = records.get(conn, info.table, slug=slugify(ref), lock=lock)
        if rec is None:
            raise NotFound(
                f"{info.kind} {ref!r} not found",
                hint=f"list what exists with `stigmer get {info.plural}`",
            )
        return rec

    def _snapshot_txn(
        self, conn: Connection, info: KindInfo, rec: Record, operation: str, *, replace: bool = False
    ) -> None:
        entry = versions.VersionRecord(
            id=new_id("ver"),
            resource_kind=info.kind,
            resource_id=rec.id,
            resource_slug=rec.slug,
            version=rec.version,
            operation=operation,
            snapshot=record_json(info.kind, rec),
            created_at=rec.updated_at or timestamp(self.clock()),
            created_by=self.actor,
        )
        versions.record_txn(conn, entry, replace=replace)

    def _environment_of_txn(self, conn: Connection, rec: Record, *, required: bool) -> Record | None:
        """The Environment an execution runs with (None without one, or when it is gone and
        not ``required``); NotFound naming it when it is gone and ``required``."""
        name = str(rec.spec.get("environment", ""))
        if not name:
            return None
        env_info = kind_info("Environment")
        env = records.get(conn, env_info.table, id=name) if kind_of_id(name) is env_info else None
        env = env or records.get(conn, env_info.table, slug=slugify(name))
        if env is None and required:
            raise NotFound(
                f"execution {rec.id} runs with environment {name!r}, which does not exist",
                hint=f"create it (`stigmer env create {name}`), or run with another --env",
            )
        return env

    def _with_status(self, resource: R, conn: Connection | None = None) -> R:
        """Fill status.references: each name the resource holds, resolved against the store now."""
        self._resolve_references([resource], conn)
        return resource

    def _resolve_references(self, resources: Sequence[Resource], conn: Connection | None = None) -> None:
        """Resolve the references of many resources with one query (and
        show whether each McpServer is signed in)."""
        if conn is None:
            with self.db.read() as conn:
                self._resolve_references(resources, conn)
            return
        sign_in_status([r for r in resources if isinstance(r, McpServer)], conn)
        found = [(res, references(res)) for res in resources if has_reference_status(kind_info(res).kind)]
        wanted: dict[str, set[str]] = {}
        for _, refs in found:
            for ref in refs:
                wanted.setdefault(ref.kind, set()).add(slugify(ref.name))
        by_table = records.ids_by_slug(
            conn, {kind_info(kind).table: sorted(slugs) for kind, slugs in wanted.items()}
        )
        ids = {kind: by_table[kind_info(kind).table] for kind in wanted}
        for res, refs in found:
            status = cast(Any, res.status)
            del status.references[:]
            for ref in refs:
                target = ids[ref.kind].get(slugify(ref.name), "")
                status.references.append(
                    ResourceReference(
                        kind=ref.kind, name=ref.name, field=ref.field, resolved=bool(target), id=target
                    )
                )

    def _lock_tree_txn(self, conn: Connection, rec: Record) -> None:
        """Lock the tree of runs ``rec`` belongs to (by its top run's id), before any row of it.

        What writes several runs of a tree (a cancel goes down to the children, a decision up
        to the parents) takes this first, so that two of them never lock the same rows in
        opposite orders; a writer of one run's row alone needs nothing more than that row.
        """
        top, seen = rec, {rec.id}
        while parent_id := str(top.spec.get("parentExecutionId", "")):
            parent = records.get(conn, _execution_kind(parent_id).table, id=parent_id)
            if parent is None or parent.id in seen:
                break
            top = parent
            seen.add(parent.id)
        lock_names_txn(conn, [name_of("run-tree", top.id)])

    def _requeue_txn(self, conn: Connection, info: KindInfo, rec: Record, now: str) -> None:
        """Queue a run that waited for a decision, and every parent that waited for it.

        A run held by an engine (see :mod:`stigmer.store.leases`) is queued again from RUNNING
        too, under its lease, so that the engine claims it back and learns of the change.
        """
        if not _latest_txn(conn, info, rec):
            return
        phase = rec.status.get("phase", "")
        owner, _ = leases.lease_of(conn, info.table, rec.id)
        held = leases.is_engine(owner)
        if phase != "WAITING_APPROVAL" and not (held and phase == "RUNNING"):
            return
        rec.status["phase"] = "PENDING"
        rec.status.pop("pendingApproval", None)
        rec.status.pop("pendingInput", None)
        rec.version += 1
        rec.updated_at, rec.updated_by = now, self.actor
        written(
            records.update_status_txn(conn, info.table, _sealed(info, rec), expected_version=rec.version - 1)
        )
        if not held:
            leases.set_lease_txn(conn, info.table, rec.id, "", "")
        parent_id = str(rec.spec.get("parentExecutionId", ""))
        if parent_id:
            parent_info = _execution_kind(parent_id)
            parent = records.get(conn, parent_info.table, id=parent_id, lock=True)
            if parent is not None:
                self._requeue_txn(conn, parent_info, parent, now)

    def info(self) -> BackendInfo:
        with self.db.read() as conn:
            counts = {k.kind: records.count(conn, k.table) for k in KINDS}
            schema = current_version(conn)
        return BackendInfo(
            type="local",
            store=self.db.dialect.name,
            version=__version__,
            database=self.db.path,
            schema_version=schema,
            counts=counts,
        )

    def close(self) -> None:
        self.db.close()


def _keys_home(db: Transactions) -> Path:
    if is_url(db.path):
        return home_dir()
    return Path(db.path).absolute().parent


def _latest_txn(conn: Connection, info: KindInfo, rec: Record) -> bool:
    """Lock ``rec``'s row and bring ``rec`` up to its latest version (read before the lock, it
    may be behind); False when the row is gone."""
    latest = records.get(conn, info.table, id=rec.id, lock=True)
    if latest is None:
        return False
    if latest.version != rec.version:
        rec.__dict__.update(latest.__dict__)
    return True


def written(done: bool) -> None:
    """Check a versioned write of a row the transaction holds locked: it cannot miss, and if it
    did (a writer that took no lock), the transaction is rolled back rather than half kept."""
    if not done:
        raise Conflict(
            "the execution changed while it was being written; nothing was written", hint="try again"
        )


def _sealed(info: KindInfo, rec: Record) -> Record:
    seal(info.message, rec)
    return rec


def _definition_kind(info: KindInfo) -> str:
    """The definition an execution kind runs: Agent or Workflow."""
    return "Agent" if info.kind == "AgentExecution" else "Workflow"


def _drop_context_txn(conn: Connection, execution_id: str) -> None:
    """An execution ended: its context (and the sealed secrets in it) goes."""
    records.delete_where_txn(conn, kind_info(ExecutionContext).table, "execution_id", execution_id)


def _stored_status(status: dict[str, Any]) -> dict[str, Any]:
    # References are resolved on every read, never stored: they would go stale.
    return {k: v for k, v in status.items() if k != "references"}


def _page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must not be negative", field="page_size")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _system_slug(name: str, resource_id: str) -> str:
    # Executions are named by their id unless given a name; an id stays its own slug, so an
    # import restores the slug that create_execution wrote.
    return slugify(name) if name and name != resource_id else resource_id


def _execution_view(conn: Connection, info: KindInfo, rec: Record) -> Execution:
    """An execution as readers see it: an agent run's conversation and tool calls, and a
    workflow run's task states, come from its steps, where each is stored once."""
    execution = cast(Execution, from_record(info.message, rec))
    steps = [_step_message(s) for s in step_store.list_steps(conn, rec.id)]
    if isinstance(execution, AgentExecution):
        messages, calls = transcript(execution.spec.message, steps)
        execution.status.messages.extend(messages)
        execution.status.tool_calls.extend(calls)
    else:
        from stigmer.resources.workflow_steps import task_states  # workflow runs only

        execution.status.tasks.extend(task_states(steps))
    return execution


def _ts(value: Timestamp) -> str:
    """``timestamp`` of a proto time, or "" when unset; straight from its fields (every step
    writes two, and a datetime on the way costs three times as much)."""
    if not (value.seconds or value.nanos):
        return ""
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(value.seconds))}.{value.nanos // 1000:06d}Z"


def _step_message(rec: step_store.StepRecord) -> ExecutionStep:
    step = ExecutionStep(
        execution_id=rec.execution_id, step=rec.step, name=rec.name, status=rec.status, error=rec.error
    )
    step.input.update(rec.input)
    step.output.update(rec.output)
    set_time(step.start_time, rec.started_at)
    if rec.ended_at:
        set_time(step.end_time, rec.ended_at)
    return step


def _waits_for_sign_in(execution_id: str, server: str) -> Conflict:
    """The error for deciding (or resuming) a run that waits for a person to sign in."""
    return Conflict(
        f"execution {execution_id} waits for a sign-in to MCP server {server!r}",
        hint=f"sign in with `stigmer mcpserver login {server}`; the run continues then",
    )


def _execution_kind(execution_id: str) -> KindInfo:
    info = kind_of_id(execution_id)
    if info is None or not info.execution:
        raise NotFound(
            f"execution {execution_id!r} not found",
            hint="execution ids start with aex_ or wex_; list them with `stigmer execution list`",
        )
    return info


__all__ = ["TERMINAL", "LocalStore", "written"]
