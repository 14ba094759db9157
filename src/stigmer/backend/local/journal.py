"""The RunJournal part on SQLite: claims, leases, status updates, steps, execution context, artifacts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import (
    Artifact,
    ExecutionStep,
)
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.backend.codec import from_record, set_time, timestamp
from stigmer.backend.local.base import (
    _EXECUTION_KINDS,
    _TERMINAL_NAMES,
    LocalStore,
    _drop_context_txn,
    _execution_kind,
    _execution_view,
    _sealed,
    _ts,
    _waits_for_sign_in,
    written,
)
from stigmer.backend.protocol import (
    E,
)
from stigmer.errors import Conflict, InvalidArgument, NotFound
from stigmer.resources.codec import to_dict
from stigmer.resources.kinds import Execution, KindInfo, kind_info, kind_of_id
from stigmer.resources.names import new_id
from stigmer.store import artifacts as artifact_store
from stigmer.store import leases, records
from stigmer.store import steps as step_store
from stigmer.store.connection import Connection
from stigmer.store.records import Record


class LocalRunJournal(LocalStore):
    """The RunJournal part on SQLite: claims, leases, status updates, steps, execution context, artifacts."""

    def update_execution_status(self, execution: E, *, expected_version: int = 0, worker_id: str = "") -> E:
        info = kind_info(execution)
        execution_id = execution.metadata.id
        with self.db.write() as conn:
            current = self._find(conn, info, execution_id, lock=True)
            phase = current.status.get("phase", "")
            if phase in _TERMINAL_NAMES:
                raise Conflict(f"execution {execution_id} is {phase}; a finished execution does not change")
            if worker_id:
                self._check_lease_txn(conn, info, execution_id, worker_id)
            if expected_version and current.version != expected_version:
                raise Conflict(
                    f"execution {execution_id} changed since version {expected_version} "
                    f"(now {current.version})"
                )
            # Built from the stored message, not re-parsed from JSON: this runs once per model turn.
            previous = from_record(type(execution), current)
            cancel_requested = previous.status.cancel_requested
            stored = _with_metadata_of(previous, execution)
            # Assembled from the steps when read; never stored twice.
            if isinstance(stored, AgentExecution):
                stored.status.ClearField("messages")
                stored.status.ClearField("tool_calls")
            else:
                stored.status.ClearField("tasks")
            # A cancel from another process wins over a writer that has not seen it yet.
            stored.status.cancel_requested = stored.status.cancel_requested or cancel_requested
            now = self.clock()
            stored.metadata.version = current.version + 1
            stored.metadata.update_time.FromDatetime(now)
            current.status = to_dict(stored.status)
            current.version += 1
            current.updated_at, current.updated_by = timestamp(now), self.actor
            current.message = stored.SerializeToString()
            written(
                records.update_status_txn(conn, info.table, current, expected_version=current.version - 1)
            )
            new_phase = current.status.get("phase", "")
            held = leases.is_engine(leases.lease_of(conn, info.table, execution_id)[0])
            if new_phase not in ("RUNNING", "") and (new_phase in _TERMINAL_NAMES or not held):
                # Waiting, queued again or finished: nobody runs it now (an engine holds its
                # runs until they end).
                leases.set_lease_txn(conn, info.table, execution_id, "", "")
            if current.status.get("phase", "") in _TERMINAL_NAMES:
                _drop_context_txn(conn, execution_id)
        # The writer knows its own transcript; returning it again would cost O(steps) per write.
        return stored

    def claim_execution(
        self, worker_id: str, *, kinds: Sequence[str] = (), lease_seconds: int = 30, execution_id: str = ""
    ) -> Execution | None:
        if not worker_id:
            raise InvalidArgument("a worker id is required to claim an execution", field="worker_id")
        infos = [kind_info(k) for k in kinds] if kinds else _EXECUTION_KINDS
        now = self.clock()
        now_s, expires = timestamp(now), timestamp(now + timedelta(seconds=lease_seconds))
        with self.db.write() as conn:
            for info in infos:
                if execution_id:
                    if kind_of_id(execution_id) is not info:
                        continue
                    candidate = self._claimable_txn(conn, info, execution_id, worker_id, now_s)
                else:
                    candidate = leases.next_claimable(conn, info.table, now_s, worker_id) or _orphaned(
                        conn, info, now_s
                    )
                if candidate is None:
                    continue
                rec = self._find(conn, info, candidate, lock=True)  # locked already, but for orphans
                previous, expiry = leases.lease_of(conn, info.table, candidate)
                if not execution_id and not _still_claimable(rec, previous, expiry, worker_id, now_s):
                    continue  # another claimer took it between the look and the lock
                if rec.status.get("phase") == "RUNNING" and previous not in ("", worker_id):
                    rec.status["takenOverFrom"] = previous  # it died, or its lease ran out
                elif previous != worker_id:  # its holder claiming it back (an engine) keeps it
                    rec.status.pop("takenOverFrom", None)
                rec.status["phase"] = "RUNNING"
                rec.status.setdefault("startTime", now_s)
                rec.version += 1
                rec.updated_at, rec.updated_by = now_s, self.actor
                written(
                    records.update_status_txn(
                        conn, info.table, _sealed(info, rec), expected_version=rec.version - 1
                    )
                )
                leases.set_lease_txn(conn, info.table, candidate, worker_id, expires)
                self._open_context_txn(conn, rec, now_s)
                return _execution_view(conn, info, rec)
        if execution_id and _execution_kind(execution_id) not in infos:
            raise InvalidArgument(f"execution {execution_id} is not of the kinds {', '.join(kinds)}")
        return None

    def count_queued(self) -> dict[str, int]:
        now = timestamp(self.clock())
        with self.db.read() as conn:
            return {
                info.kind.removesuffix("Execution").lower(): leases.count_queued(conn, info.table, now)
                for info in _EXECUTION_KINDS
            }

    def renew_lease(self, execution_id: str, worker_id: str, *, lease_seconds: int = 30) -> bool:
        info = _execution_kind(execution_id)
        expires = timestamp(self.clock() + timedelta(seconds=lease_seconds))
        with self.db.write() as conn:
            return leases.renew_txn(conn, info.table, execution_id, worker_id, expires)

    def release_execution(self, execution_id: str, worker_id: str) -> None:
        info = _execution_kind(execution_id)
        with self.db.write() as conn:
            leases.release_txn(conn, info.table, execution_id, worker_id)

    def record_step(self, step: ExecutionStep, *, worker_id: str = "") -> ExecutionStep:
        info = _execution_kind(step.execution_id)
        if step.step < 0 or not step.name:
            raise InvalidArgument(
                "a step needs a number (from 1, or 0 for the next one) and a name", field="step"
            )
        rec = step_store.StepRecord(
            execution_id=step.execution_id,
            step=step.step,
            name=step.name,
            status=step.status or "completed",
            input=to_dict(step.input) if step.HasField("input") else {},
            output=to_dict(step.output) if step.HasField("output") else {},
            error=step.error,
            started_at=_ts(step.start_time) or timestamp(self.clock()),
            ended_at=_ts(step.end_time),
        )
        with self.db.write() as conn:
            # The run's row stays locked: its steps are numbered one after another, and a step
            # of a run that another writer is finishing waits to see it finished.
            state = leases.phase_and_owner(conn, info.table, step.execution_id, lock=True)
            if state is None:
                raise NotFound(f"execution {step.execution_id!r} not found")
            phase, owner = state
            if phase in _TERMINAL_NAMES:
                raise Conflict(f"execution {step.execution_id} is {phase}; its steps are final")
            if worker_id and owner != worker_id:
                self._check_lease_txn(conn, info, step.execution_id, worker_id)
            if rec.step == 0:  # appended: the next number, whoever else writes steps of this run
                rec.step = step_store.append_txn(conn, rec)
            else:
                existing = step_store.get(conn, step.execution_id, rec.step)
                if existing and (existing.name != step.name or existing.status != "waiting"):
                    raise Conflict(
                        f"execution {step.execution_id} already has step {rec.step} ({existing.name}, "
                        f"{existing.status}); a recorded step is never written again"
                    )
                step_store.upsert_txn(conn, rec)
        written = ExecutionStep()
        written.CopyFrom(step)
        written.step, written.status = rec.step, rec.status
        if not written.HasField("start_time"):
            set_time(written.start_time, rec.started_at)
        return written

    def get_execution_context(self, execution_id: str, *, worker_id: str = "") -> ExecutionContext:
        info = _execution_kind(execution_id)
        with self.db.read() as conn:
            rec = self._find(conn, info, execution_id)
            phase = rec.status.get("phase", "")
            if phase != "RUNNING":
                raise Conflict(
                    f"execution {execution_id} is {phase or 'PENDING'}; "
                    "its context is only available while it runs"
                )
            if worker_id:
                self._check_lease_txn(conn, info, execution_id, worker_id)
            stored = records.get_where(conn, kind_info(ExecutionContext).table, "execution_id", execution_id)
            if stored is None:
                # Moved to RUNNING without a claim (tests, other engines): built now, not stored.
                env = self._environment_of_txn(conn, rec, required=True)
                stored = self.vault.context_record(execution_id, env, timestamp(self.clock()), self.actor)
        return self.vault.open_context(stored)

    def store_artifact(
        self, data: bytes, *, name: str, content_type: str = "", execution_id: str = ""
    ) -> Artifact:
        from hashlib import sha256

        if not name:
            raise InvalidArgument("an artifact needs a name", field="name")
        art = artifact_store.ArtifactRecord(
            id=new_id("art"),
            execution_id=execution_id,
            name=name,
            content_type=content_type or "application/octet-stream",
            sha256=sha256(data).hexdigest(),
            size=len(data),
            data=data,
            created_at=timestamp(self.clock()),
        )
        with self.db.write() as conn:
            artifact_store.insert_txn(conn, art)
        return _artifact_message(art)

    def get_artifact(self, artifact_id: str) -> Artifact:
        with self.db.read() as conn:
            art = artifact_store.get(conn, artifact_id)
        if art is None:
            raise NotFound(f"artifact {artifact_id!r} not found")
        return _artifact_message(art)

    def _claimable_txn(
        self, conn: Connection, info: KindInfo, execution_id: str, worker_id: str, now: str
    ) -> str | None:
        rec = self._find(conn, info, execution_id, lock=True)
        phase = rec.status.get("phase", "")
        signing_in = rec.status.get("pendingInput") or {}
        if phase == "WAITING_APPROVAL" and signing_in.get("kind") == "sign-in":
            raise _waits_for_sign_in(execution_id, str(signing_in.get("server", "")))
        if phase == "WAITING_APPROVAL":
            raise Conflict(
                f"execution {execution_id} is waiting for an approval",
                hint=f"stigmer execution approve {execution_id}  (or reject)",
            )
        if phase not in ("PENDING", "RUNNING"):
            raise Conflict(f"execution {execution_id} is {phase}; there is nothing left to run")
        owner, expires = leases.lease_of(conn, info.table, execution_id)
        if owner and owner != worker_id and expires >= now and not worker_is_gone(owner):
            return None
        return execution_id

    def _check_lease_txn(self, conn: Connection, info: KindInfo, execution_id: str, worker_id: str) -> None:
        owner, _ = leases.lease_of(conn, info.table, execution_id)
        if owner != worker_id:
            raise Conflict(
                f"worker {worker_id} no longer holds the lease of execution {execution_id}"
                + (f" ({owner} does)" if owner else ""),
                hint="another worker took it over after this one stalled; this worker stops",
            )

    def _open_context_txn(self, conn: Connection, rec: Record, now: str) -> None:
        """Create the ExecutionContext of an execution that starts (secrets stay sealed in it)."""
        ctx_info = kind_info(ExecutionContext)
        if records.get_where(conn, ctx_info.table, "execution_id", rec.id) is not None:
            return
        env = self._environment_of_txn(conn, rec, required=False)
        if rec.spec.get("environment") and env is None:
            return  # reading the context names the missing environment, and fails the run
        records.insert_txn(conn, ctx_info.table, self.vault.context_record(rec.id, env, now, self.actor))


def _with_metadata_of(stored: E, given: E) -> E:
    """``given`` (a writer's copy) with the stored metadata and spec: only its status counts."""
    # The two are the same message type; mypy cannot see that through the union bound of E.
    merged: Any = type(given)()
    merged.CopyFrom(given)
    merged.metadata.CopyFrom(stored.metadata)
    merged.spec.CopyFrom(stored.spec)
    return cast(E, merged)


def _still_claimable(rec: Record, owner: str, expires: str, worker_id: str, now: str) -> bool:
    """Whether a run found in the queue (or orphaned) is still there once its row is locked."""
    phase = rec.status.get("phase", "")
    if phase == "PENDING" and owner == worker_id and owner:
        return True
    if phase in ("PENDING", "RUNNING") and expires < now:
        return True
    return phase == "RUNNING" and bool(owner) and worker_is_gone(owner)


def _orphaned(conn: Connection, info: KindInfo, now: str) -> str | None:
    """A running execution whose lease has not expired but whose worker, on this machine, is
    dead: taken over at once rather than after its lease runs out."""
    for execution_id, owner in leases.live_leases(conn, info.table, now):
        if owner and worker_is_gone(owner):
            return execution_id
    return None


def worker_is_gone(owner: str) -> bool:
    """Whether a worker id (``host:pid:nonce``) names a process of this host that has exited.

    Lets `execution resume` take over at once from a worker that was killed, instead of
    waiting for its lease to expire; workers on other hosts are trusted until then.
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    import socket  # ~3 ms to import, for this check only

    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _artifact_message(art: artifact_store.ArtifactRecord) -> Artifact:
    message = Artifact(
        id=art.id,
        execution_id=art.execution_id,
        name=art.name,
        content_type=art.content_type,
        sha256=art.sha256,
        size=art.size,
        data=art.data,
    )
    set_time(message.create_time, art.created_at)
    return message


__all__ = ["LocalRunJournal", "worker_is_gone"]
