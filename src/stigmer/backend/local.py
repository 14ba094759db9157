"""LocalBackend: the Backend protocol on one SQLite file."""

from __future__ import annotations

import builtins
import getpass
import os
import sqlite3
from collections.abc import Generator, Sequence
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, cast

from google.protobuf.timestamp_pb2 import Timestamp

from stigmer import faults
from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.apiresourceversion.v1.apiresourceversion_pb2 import ApiResourceVersion
from stigmer.api.backend.v1.backend_pb2 import (
    Artifact,
    BackendInfo,
    ExecutionEvent,
    ExecutionStep,
    PruneResult,
)
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.common.v1.metadata_pb2 import ResourceReference
from stigmer.api.executioncontext.v1.executioncontext_pb2 import ExecutionContext
from stigmer.api.mcpserver.v1.mcpserver_pb2 import McpServer
from stigmer.api.session.v1.session_pb2 import Session
from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.backend.codec import from_json, from_record, record_json, seal, timestamp, to_record
from stigmer.backend.protocol import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    ApplyOutcome,
    E,
    ExecutionQuery,
    Page,
    R,
)
from stigmer.backend.sign_ins import LocalMcpSignIns, reseal_sign_ins_txn
from stigmer.backend.vault import Vault, has_sealed_secrets, mask, mask_snapshot
from stigmer.clock import Clock, utcnow
from stigmer.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from stigmer.resources.codec import to_dict
from stigmer.resources.kinds import KINDS, Execution, KindInfo, Resource, kind_info, kind_of_id
from stigmer.resources.names import new_id, slugify, validate_label_key
from stigmer.resources.references import has_reference_status, references
from stigmer.resources.steps import APPROVAL, plain, transcript
from stigmer.secrets.keys import MasterKeys
from stigmer.store import artifacts as artifact_store
from stigmer.store import leases, records, retention, versions
from stigmer.store import steps as step_store
from stigmer.store.database import Database
from stigmer.store.migrations import current_version
from stigmer.store.records import PageRequest, Record
from stigmer.version import __version__

TERMINAL = frozenset({ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELLED})
_TERMINAL_NAMES = frozenset(ExecutionPhase.Name(p) for p in TERMINAL)
_EXECUTION_KINDS = [k for k in KINDS if k.execution]
# Definitions that get a default instance of the same name: kind -> (instance kind, spec field).
_DEFAULT_INSTANCE = {"Agent": ("AgentInstance", "agent"), "Workflow": ("WorkflowInstance", "workflow")}


class _DryRun(Exception):
    """Raised inside a write transaction to roll back a dry run."""


def _content(rec: Record) -> tuple[Any, ...]:
    return (rec.name, rec.labels, rec.annotations, rec.tags, rec.spec)


class LocalBackend(LocalMcpSignIns):
    """Every resource in one SQLite database (see DESIGN.md, Storage).

    Args:
        db: An open database (see :meth:`open`).
        clock: Where "now" comes from; tests inject their own.
        actor: Who writes, recorded in the audit columns and history.
        keys: The master keys that seal secrets; by default those of the database's directory.
    """

    def __init__(
        self, db: Database, *, clock: Clock = utcnow, actor: str = "", keys: MasterKeys | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.actor = actor or f"local:{getpass.getuser()}"
        self.keys = keys or MasterKeys(Path(db.path).absolute().parent)
        self.vault = Vault(self.keys)

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        clock: Clock = utcnow,
        actor: str = "",
        keys: MasterKeys | None = None,
        durability: str = "full",
    ) -> LocalBackend:
        """Open (creating and migrating as needed) the database at ``path``; ``durability`` is
        ``full`` or ``normal`` (see :meth:`Database.open`)."""
        return cls(Database.open(path, durability=durability), clock=clock, actor=actor, keys=keys)

    # -- resources ---------------------------------------------------------------------

    def create(self, resource: R) -> R:
        info, slug = self._writable(resource)
        with self.db.write() as conn:
            if records.get(conn, info.table, slug=slug):
                raise AlreadyExists(
                    f"{info.kind} {resource.metadata.name!r} already exists",
                    hint=f"use `stigmer apply` to update it, or delete it first: "
                    f"`stigmer delete {info.kind.lower()} {slug}`",
                )
            rec = self._create_txn(conn, info, resource, slug)
        return mask(self._with_status(from_record(type(resource), rec)))

    def get(self, kind: type[R], ref: str) -> R:
        info = kind_info(kind)
        with self.db.read() as conn:
            rec = self._find(conn, info, ref)
            resource = self._with_status(from_record(kind, rec), conn)
            if isinstance(resource, Session):
                _add_conversation(conn, resource)
            return mask(resource)

    def update(self, resource: R) -> R:
        info, slug = self._writable(resource)
        expected = resource.metadata.version
        if expected <= 0:
            raise InvalidArgument(
                "metadata.version is required to update: it must be the version you read",
                field="metadata.version",
                hint="get the resource, change it and update it; or use apply to overwrite",
            )
        with self.db.write() as conn:
            ref = resource.metadata.id or resource.metadata.name
            current = self._find(conn, info, ref)
            if current.version != expected:
                raise Conflict(
                    f"{info.kind} {current.name!r} changed since version {expected} (it is now "
                    f"version {current.version}); nothing was written",
                    hint="get it again, reapply your change and update",
                )
            if slug != current.slug and records.get(conn, info.table, slug=slug):
                raise AlreadyExists(f"{info.kind} {resource.metadata.name!r} already exists")
            new = to_record(resource)
            self._seal_secrets_txn(conn, info, new, current)
            rec = self._update_txn(conn, info, current, new, slug, "update")
        return mask(self._with_status(from_record(type(resource), rec)))

    def apply(self, resources: Sequence[Resource], *, dry_run: bool = False) -> builtins.list[ApplyOutcome]:
        checked = [(*self._writable(r), r) for r in resources]
        seen: dict[tuple[str, str], int] = {}
        for i, (info, slug, res) in enumerate(checked):
            if (info.kind, slug) in seen:
                raise InvalidArgument(
                    f"{info.kind} {res.metadata.name!r} appears twice (resources {seen[info.kind, slug] + 1} "
                    f"and {i + 1}) in one apply",
                    resource=f"{info.kind}/{res.metadata.name}",
                    field="metadata.name",
                )
            seen[info.kind, slug] = i
        outcomes: list[ApplyOutcome] = []
        try:
            with self.db.write() as conn:
                for info, slug, res in checked:
                    outcomes.append(self._apply_txn(conn, info, slug, res))
                    faults.hit("apply.resource_written")
                self._resolve_references([o.resource for o in outcomes], conn)
                for outcome in outcomes:
                    outcome.warnings = _missing_reference_warnings(outcome.resource)
                    mask(outcome.resource)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        return outcomes

    def delete(self, kind: type[R], ref: str) -> R:
        info = kind_info(kind)
        with self.db.write() as conn:
            rec = self._find(conn, info, ref)
            self._delete_txn(conn, info, rec)
            default = _DEFAULT_INSTANCE.get(info.kind)
            instance_id = str(rec.status.get("defaultInstanceId", ""))
            if default and instance_id:
                inst_info = kind_info(default[0])
                instance = records.get(conn, inst_info.table, id=instance_id)
                if instance and instance.spec.get(default[1]) == rec.name:
                    self._delete_txn(conn, inst_info, instance)
        return mask(from_record(kind, rec))

    def list(
        self,
        kind: type[R],
        *,
        labels: dict[str, str] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str = "",
    ) -> Page[R]:
        info = kind_info(kind)
        labels = dict(labels or {})
        for key in labels:
            validate_label_key(key, field=f"labels.{key}")
        scope = f"{info.kind}|{sorted(labels.items())}"
        size = _page_size(page_size)
        req = PageRequest(
            order="slug", limit=size + 1, labels=labels, after=records.decode_token(page_token, scope)
        )
        with self.db.read() as conn:
            rows = records.list_page(conn, info.table, req, documents=False)
            items = [mask(from_record(kind, r)) for r in rows[:size]]
            self._resolve_references(items, conn)
        token = (
            records.encode_token(scope, records.cursor_of(rows[size - 1], "slug")) if len(rows) > size else ""
        )
        return Page(items, token)

    def history(self, kind: type[Resource], ref: str) -> builtins.list[ApiResourceVersion]:
        info = kind_info(kind)
        with self.db.read() as conn:
            try:
                rec = self._find(conn, info, ref)
                entries = versions.history(conn, info.kind, resource_id=rec.id)
            except NotFound:
                entries = versions.history(conn, info.kind, slug=slugify(ref))
                if not entries:
                    raise
        return [_version_message(e) for e in entries]

    def rollback(self, kind: type[R], ref: str, version: int) -> R:
        info = kind_info(kind)
        with self.db.write() as conn:
            current = self._find(conn, info, ref)
            entries = {e.version: e for e in versions.history(conn, info.kind, resource_id=current.id)}
            entry = entries.get(version)
            if entry is None or entry.operation == "delete":
                known = ", ".join(str(v) for v, e in sorted(entries.items()) if e.operation != "delete")
                raise NotFound(
                    f"{info.kind} {current.name!r} has no version {version}",
                    hint=f"versions: {known}; see `stigmer history {info.kind.lower()} {current.slug}`",
                )
            old = to_record(from_json(info.message, entry.snapshot))
            old.name = current.name
            rec = self._update_txn(conn, info, current, old, current.slug, "rollback")
        return mask(self._with_status(from_record(kind, rec)))

    def import_resources(self, resources: Sequence[Resource]) -> int:
        prepared = []
        for res in resources:
            info = kind_info(res)
            if info.kind == "ApiResourceVersion":
                raise InvalidArgument("history entries are not imported", resource=info.kind)
            from stigmer.resources.validate import validate  # writes only: a read needs none of it

            slug = validate(res) if info.declarative else _system_slug(res.metadata.name, res.metadata.id)
            rec = to_record(res)
            if not rec.id or rec.version <= 0:
                raise InvalidArgument(
                    "imported resources need metadata.id and metadata.version",
                    resource=f"{info.kind}/{res.metadata.name}",
                    hint="import what `stigmer export` wrote; use `stigmer apply` for hand-written files",
                )
            now = timestamp(self.clock())
            rec.slug, rec.created_at, rec.updated_at = slug, rec.created_at or now, rec.updated_at or now
            rec.status = _stored_status(rec.status)
            prepared.append((info, rec))
        with self.db.write() as conn:
            for info, rec in prepared:
                other = records.get(conn, info.table, slug=rec.slug)
                if other and other.id != rec.id:
                    raise AlreadyExists(
                        f"{info.kind} {rec.name!r} already exists here with another id ({other.id})",
                        hint="import into an empty home, or delete the existing resource first",
                    )
                self._seal_secrets_txn(
                    conn, info, rec, records.get(conn, info.table, id=rec.id), importing=True
                )
                records.replace_txn(conn, info.table, _sealed(info, rec))
                self._snapshot_txn(conn, info, rec, "import", replace=True)
                faults.hit("import.resource_written")
        return len(prepared)

    # -- executions --------------------------------------------------------------------

    def create_execution(self, execution: E) -> E:
        info = kind_info(execution)
        spec = execution.spec
        target = spec.agent if info.kind == "AgentExecution" else spec.workflow  # type: ignore[union-attr]
        if not target:
            field = "spec.agent" if info.kind == "AgentExecution" else "spec.workflow"
            raise InvalidArgument(f"an {info.kind} names what it runs", field=field)
        now = self.clock()
        execution_id = new_id(info.id_prefix)
        message = type(execution).FromString(execution.SerializeToString())
        md = message.metadata
        md.id = execution_id
        md.name = md.name or execution_id
        md.slug = _system_slug(md.name, execution_id)
        for key in md.labels:
            validate_label_key(key, field=f"metadata.labels.{key}")
        message.api_version, message.kind = "agentic.stigmer.ai/v1", info.kind
        message.status.Clear()
        message.status.phase = ExecutionPhase.PENDING
        md.version = 1
        md.create_time.FromDatetime(now)
        md.update_time.FromDatetime(now)
        rec = to_record(message)
        rec.created_by = rec.updated_by = self.actor
        with self.db.write() as conn:
            definition = kind_info("Agent" if info.kind == "AgentExecution" else "Workflow")
            found = self._find(conn, definition, target)
            if info.kind == "WorkflowExecution":
                _pin_workflow(rec, found)
            if not rec.spec.get("environment"):
                self._instance_environment_txn(conn, info, rec, found)
            records.insert_txn(conn, info.table, _sealed(info, rec))
            self._snapshot_txn(conn, info, rec, "create")
        return cast(E, _execution_view(self.db.conn, info, rec))

    def get_execution(self, execution_id: str) -> Execution:
        info = _execution_kind(execution_id)
        with self.db.read() as conn:
            return _execution_view(conn, info, self._find(conn, info, execution_id))

    def update_execution_status(self, execution: E, *, expected_version: int = 0, worker_id: str = "") -> E:
        info = kind_info(execution)
        execution_id = execution.metadata.id
        with self.db.write() as conn:
            current = self._find(conn, info, execution_id)
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
            records.update_txn(conn, info.table, current, expected_version=current.version - 1)
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

    def list_executions(self, query: ExecutionQuery) -> Page[Execution]:
        kinds = [kind_info(query.kind)] if query.kind else _EXECUTION_KINDS
        if any(not k.execution for k in kinds):
            raise InvalidArgument(f"{query.kind} is not an execution kind", field="kind")
        where: dict[str, str] = {}
        if query.phase:
            where["phase"] = ExecutionPhase.Name(query.phase)
        if query.parent_execution_id:
            where["parent_execution_id"] = query.parent_execution_id
        if query.session:
            where["session_ref"] = query.session
        if query.definition:
            where["definition_ref"] = query.definition
        for key in query.labels:
            validate_label_key(key, field=f"labels.{key}")
        scope = f"executions|{[k.kind for k in kinds]}|{sorted(where.items())}|{sorted(query.labels.items())}"
        size = _page_size(query.page_size)
        req = PageRequest(
            order="newest",
            limit=size + 1,
            where=where,
            labels=query.labels,
            after=records.decode_token(query.page_token, scope),
        )
        rows: list[tuple[KindInfo, Record]] = []
        with self.db.read() as conn:
            for info in kinds:
                rows += [(info, r) for r in records.list_page(conn, info.table, req)]
        rows.sort(key=lambda item: (item[1].created_at, item[1].id), reverse=True)
        items = [cast(Execution, from_record(info.message, rec)) for info, rec in rows[:size]]
        token = ""
        if len(rows) > size:
            token = records.encode_token(scope, records.cursor_of(rows[size - 1][1], "newest"))
        return Page(items, token)

    def cancel_execution(self, execution_id: str) -> Execution:
        info = _execution_kind(execution_id)
        with self.db.write() as conn:
            rec = self._find(conn, info, execution_id)
            phase = rec.status.get("phase", "")
            if phase in _TERMINAL_NAMES:
                raise Conflict(f"execution {execution_id} is already {phase}; there is nothing to cancel")
            self._cancel_txn(conn, info, rec, timestamp(self.clock()))
            return _execution_view(conn, info, rec)

    def _cancel_txn(self, conn: sqlite3.Connection, info: KindInfo, rec: Record, now: str) -> None:
        """Cancel a run nobody is running (queued, or waiting for a person) now, with the child
        runs it waits for; ask a running one to stop (its runner stops its children). A run
        an engine holds is the engine's to stop: it is queued again, so that the engine learns
        of the cancel (and ends the run, its children with it)."""
        held = leases.is_engine(leases.lease_of(conn, info.table, rec.id)[0])
        idle = rec.status.get("phase", "") in ("PENDING", "WAITING_APPROVAL") and not held
        if idle:
            rec.status.update(phase="CANCELLED", endTime=now)
            rec.status.pop("pendingApproval", None)
            rec.status["error"] = {"code": "CANCELLED", "message": f"cancelled by {self.actor}"}
            _drop_context_txn(conn, rec.id)
            leases.set_lease_txn(conn, info.table, rec.id, "", "")
        rec.status["cancelRequested"] = True
        rec.version += 1
        rec.updated_at, rec.updated_by = now, self.actor
        records.update_txn(conn, info.table, _sealed(info, rec), expected_version=rec.version - 1)
        if held:
            self._requeue_txn(conn, info, rec, now)
        if not idle:
            return
        for child_info in _EXECUTION_KINDS:
            req = PageRequest(order="newest", limit=MAX_PAGE_SIZE, where={"parent_execution_id": rec.id})
            for child in records.list_page(conn, child_info.table, req):
                if child.status.get("phase", "") not in _TERMINAL_NAMES:
                    self._cancel_txn(conn, child_info, child, now)

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

    def reveal_secret(self, environment: str, key: str) -> str:
        with self.db.read() as conn:
            rec = self._find(conn, kind_info("Environment"), environment)
        return self.vault.reveal(rec, key)

    def rotate_master_key(self) -> int:
        self.ensure_master_key()
        new, previous = self.keys.begin_rotation()
        faults.hit("secrets.rotation_key_added")
        try:
            with self.db.write() as conn:
                count = self.vault.rotate_txn(conn, new)
                count += reseal_sign_ins_txn(conn, self.keys, new)
        except BaseException:
            # Nothing was re-sealed: the old key seals again; the new one stays to open anything
            # another process sealed with it meanwhile.
            self.keys.abort_rotation(previous, keep=new)
            raise
        faults.hit("secrets.rotation_committed")
        self.keys.finish_rotation(new)
        return count

    def ensure_master_key(self) -> tuple[str, bool]:
        """Make sure this home has a master key: (where it is, whether it was created now).

        Raises:
            SecretError: The key is missing while secrets sealed with it are stored; a new
                key would not open them, so none is made.
        """
        if self.keys.load() is None:
            with self.db.read() as conn:
                if has_sealed_secrets(conn):
                    raise self.keys.missing("")
        _, created = self.keys.ensure()
        return self.keys.location, created

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
        art = artifact_store.get(self.db.conn, artifact_id)
        if art is None:
            raise NotFound(f"artifact {artifact_id!r} not found")
        return _artifact_message(art)

    def info(self) -> BackendInfo:
        with self.db.read() as conn:
            counts = {k.kind: records.count(conn, k.table) for k in KINDS}
            schema = current_version(conn)
        return BackendInfo(
            type="local", version=__version__, database=self.db.path, schema_version=schema, counts=counts
        )

    def close(self) -> None:
        self.db.close()

    # -- durable steps and leases ------------------------------------------------------

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
            state = leases.phase_and_owner(conn, info.table, step.execution_id)
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
            written.start_time.FromJsonString(rec.started_at)
        return written

    def list_steps(self, execution_id: str, *, after: int = 0) -> builtins.list[ExecutionStep]:
        _execution_kind(execution_id)
        with self.db.read() as conn:
            return [_step_message(s) for s in step_store.list_steps(conn, execution_id, after=after)]

    def watch_execution(
        self, execution_id: str, *, after_sequence: int = 0
    ) -> Generator[ExecutionEvent, None, None]:
        from stigmer.backend.watch import poll_events

        self.get_execution(execution_id)  # NotFound now, not at the first next()
        return poll_events(self, execution_id, after_sequence=after_sequence)

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
                rec = self._find(conn, info, candidate)
                rec.status["phase"] = "RUNNING"
                rec.status.setdefault("startTime", now_s)
                rec.version += 1
                rec.updated_at, rec.updated_by = now_s, self.actor
                records.update_txn(conn, info.table, _sealed(info, rec), expected_version=rec.version - 1)
                leases.set_lease_txn(conn, info.table, candidate, worker_id, expires)
                self._open_context_txn(conn, rec, now_s)
                return _execution_view(conn, info, rec)
        if execution_id and _execution_kind(execution_id) not in infos:
            raise InvalidArgument(f"execution {execution_id} is not of the kinds {', '.join(kinds)}")
        return None

    def renew_lease(self, execution_id: str, worker_id: str, *, lease_seconds: int = 30) -> bool:
        info = _execution_kind(execution_id)
        expires = timestamp(self.clock() + timedelta(seconds=lease_seconds))
        with self.db.write() as conn:
            return leases.renew_txn(conn, info.table, execution_id, worker_id, expires)

    def release_execution(self, execution_id: str, worker_id: str) -> None:
        info = _execution_kind(execution_id)
        with self.db.write() as conn:
            owner, _ = leases.lease_of(conn, info.table, execution_id)
            if owner == worker_id:
                leases.set_lease_txn(conn, info.table, execution_id, "", "")

    def resolve_approval(self, execution_id: str, *, approved: bool, reason: str = "") -> Execution:
        info = _execution_kind(execution_id)
        now = timestamp(self.clock())
        decision = {"approved": approved, "reason": reason, "by": self.actor}
        with self.db.write() as conn:
            rec = self._find(conn, info, execution_id)
            self._resolve_approval_txn(conn, info, rec, decision, now)
        return self.get_execution(execution_id)

    def _resolve_approval_txn(
        self, conn: sqlite3.Connection, info: KindInfo, rec: Record, decision: dict[str, Any], now: str
    ) -> None:
        """Decide the oldest approval ``rec`` waits for: its own, else that of a child run.

        A workflow may be RUNNING while one of its branches waits; the runner sees the
        decision at its next look. A run parked WAITING_APPROVAL is queued again, and so are
        the parents that waited for it.
        """
        phase = rec.status.get("phase", "")
        waiting = [
            s
            for s in step_store.list_steps(conn, rec.id)
            if s.status == "waiting" and s.name.startswith(APPROVAL)
        ]
        runs_on = phase == "RUNNING" and info.kind == "WorkflowExecution"
        if phase != "WAITING_APPROVAL" and not (runs_on and waiting):
            raise Conflict(
                f"execution {rec.id} is {phase or 'PENDING'}, not waiting for an approval",
                hint=f"see what it is doing: stigmer execution get {rec.id}",
            )
        if not waiting:
            child = self._waiting_child_txn(conn, rec.id)
            if child is None:
                raise Conflict(f"execution {rec.id} has no approval waiting")
            self._resolve_approval_txn(conn, *child, decision, now)
            return
        step = waiting[0]
        step.status, step.ended_at = "completed", now
        step.output = dict(decision)
        step_store.upsert_txn(conn, step)
        self._requeue_txn(conn, info, rec, now)

    def _waiting_child_txn(self, conn: sqlite3.Connection, parent_id: str) -> tuple[KindInfo, Record] | None:
        """The oldest child run of ``parent_id`` that waits for an approval."""
        for child_info in _EXECUTION_KINDS:
            req = PageRequest(
                order="newest",
                limit=100,
                where={"parent_execution_id": parent_id, "phase": "WAITING_APPROVAL"},
            )
            found = records.list_page(conn, child_info.table, req)
            if found:
                return child_info, found[-1]
        return None

    def _requeue_txn(self, conn: sqlite3.Connection, info: KindInfo, rec: Record, now: str) -> None:
        """Queue a run that waited for a decision, and every parent that waited for it.

        A run held by an engine (see :mod:`stigmer.store.leases`) is queued again from RUNNING
        too, under its lease, so that the engine claims it back and learns of the change.
        """
        phase = rec.status.get("phase", "")
        owner, _ = leases.lease_of(conn, info.table, rec.id)
        held = leases.is_engine(owner)
        if phase != "WAITING_APPROVAL" and not (held and phase == "RUNNING"):
            return
        rec.status["phase"] = "PENDING"
        rec.status.pop("pendingApproval", None)
        rec.version += 1
        rec.updated_at, rec.updated_by = now, self.actor
        records.update_txn(conn, info.table, _sealed(info, rec), expected_version=rec.version - 1)
        if not held:
            leases.set_lease_txn(conn, info.table, rec.id, "", "")
        parent_id = str(rec.spec.get("parentExecutionId", ""))
        if parent_id:
            parent_info = _execution_kind(parent_id)
            parent = records.get(conn, parent_info.table, id=parent_id)
            if parent is not None:
                self._requeue_txn(conn, parent_info, parent, now)

    def _claimable_txn(
        self, conn: sqlite3.Connection, info: KindInfo, execution_id: str, worker_id: str, now: str
    ) -> str | None:
        rec = self._find(conn, info, execution_id)
        phase = rec.status.get("phase", "")
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

    def _check_lease_txn(
        self, conn: sqlite3.Connection, info: KindInfo, execution_id: str, worker_id: str
    ) -> None:
        owner, _ = leases.lease_of(conn, info.table, execution_id)
        if owner != worker_id:
            raise Conflict(
                f"worker {worker_id} no longer holds the lease of execution {execution_id}"
                + (f" ({owner} does)" if owner else ""),
                hint="another worker took it over after this one stalled; this worker stops",
            )

    def _environment_of_txn(self, conn: sqlite3.Connection, rec: Record, *, required: bool) -> Record | None:
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

    def _instance_environment_txn(
        self, conn: sqlite3.Connection, info: KindInfo, rec: Record, definition: Record
    ) -> None:
        """An execution that names no environment runs with its instance's (the one it names,
        else the definition's default instance), recorded in its spec."""
        instance_kind, field = _DEFAULT_INSTANCE[_definition_kind(info)]
        inst_info = kind_info(instance_kind)
        ref = str(rec.spec.get(f"{field}Instance", ""))
        if ref:
            instance: Record | None = self._find(conn, inst_info, ref)
        else:
            default_id = str(definition.status.get("defaultInstanceId", ""))
            instance = records.get(conn, inst_info.table, id=default_id) if default_id else None
        environment = str(instance.spec.get("environment", "")) if instance else ""
        if environment:
            rec.spec["environment"] = environment

    def _open_context_txn(self, conn: sqlite3.Connection, rec: Record, now: str) -> None:
        """Create the ExecutionContext of an execution that starts (secrets stay sealed in it)."""
        ctx_info = kind_info(ExecutionContext)
        if records.get_where(conn, ctx_info.table, "execution_id", rec.id) is not None:
            return
        env = self._environment_of_txn(conn, rec, required=False)
        if rec.spec.get("environment") and env is None:
            return  # reading the context names the missing environment, and fails the run
        records.insert_txn(conn, ctx_info.table, self.vault.context_record(rec.id, env, now, self.actor))

    # -- internals ---------------------------------------------------------------------

    def _writable(self, resource: Resource) -> tuple[KindInfo, str]:
        info = kind_info(resource)
        if not info.declarative:
            raise InvalidArgument(
                f"{info.kind} resources are written by Stigmer, not created directly",
                resource=info.kind,
                hint="use create_execution for executions",
            )
        from stigmer.resources.validate import validate

        return info, validate(resource)

    def _find(self, conn: sqlite3.Connection, info: KindInfo, ref: str) -> Record:
        rec = None
        owner = kind_of_id(ref)
        if owner is not None:
            rec = records.get(conn, info.table, id=ref) if owner is info else None
        if rec is None:
            rec = records.get(conn, info.table, slug=slugify(ref))
        if rec is None:
            raise NotFound(
                f"{info.kind} {ref!r} not found",
                hint=f"list what exists with `stigmer get {info.plural}`",
            )
        return rec

    def _new_record(self, info: KindInfo, resource: Resource, slug: str) -> Record:
        rec = to_record(resource)
        now = timestamp(self.clock())
        rec.id, rec.slug, rec.version = new_id(info.id_prefix), slug, 1
        rec.created_at = rec.updated_at = now
        rec.created_by = rec.updated_by = self.actor
        rec.status = _stored_status(rec.status) if info.execution else {}
        return rec

    def _create_txn(self, conn: sqlite3.Connection, info: KindInfo, resource: Resource, slug: str) -> Record:
        rec = self._new_record(info, resource, slug)
        self._seal_secrets_txn(conn, info, rec, None)
        default = _DEFAULT_INSTANCE.get(info.kind)
        if default:
            rec.status["defaultInstanceId"] = self._default_instance_txn(conn, rec, *default)
        records.insert_txn(conn, info.table, _sealed(info, rec))
        self._snapshot_txn(conn, info, rec, "create")
        return rec

    def _default_instance_txn(self, conn: sqlite3.Connection, owner: Record, kind: str, field: str) -> str:
        info = kind_info(kind)
        existing = records.get(conn, info.table, slug=owner.slug)
        if existing:
            return existing.id
        instance = Record(
            id=new_id(info.id_prefix),
            name=owner.name,
            slug=owner.slug,
            version=1,
            spec={field: owner.name, "description": f"default instance of {owner.name}"},
            created_at=owner.created_at,
            updated_at=owner.updated_at,
            created_by=self.actor,
            updated_by=self.actor,
        )
        records.insert_txn(conn, info.table, _sealed(info, instance))
        self._snapshot_txn(conn, info, instance, "create")
        return instance.id

    def _update_txn(
        self,
        conn: sqlite3.Connection,
        info: KindInfo,
        current: Record,
        new: Record,
        slug: str,
        operation: str,
    ) -> Record:
        rec = Record(
            id=current.id,
            name=new.name,
            slug=slug,
            version=current.version + 1,
            spec=new.spec,
            status=current.status,
            labels=new.labels,
            annotations=new.annotations,
            tags=new.tags,
            created_at=current.created_at,
            updated_at=timestamp(self.clock()),
            created_by=current.created_by,
            updated_by=self.actor,
        )
        if not records.update_txn(conn, info.table, _sealed(info, rec), expected_version=current.version):
            raise Conflict(f"{info.kind} {current.name!r} changed while it was being written; try again")
        self._snapshot_txn(conn, info, rec, operation)
        return rec

    def _apply_txn(
        self, conn: sqlite3.Connection, info: KindInfo, slug: str, resource: Resource
    ) -> ApplyOutcome:
        current = records.get(conn, info.table, slug=slug)
        if current is None:
            rec = self._create_txn(conn, info, resource, slug)
            return ApplyOutcome(from_record(type(resource), rec), "created")
        new = to_record(resource)
        self._seal_secrets_txn(conn, info, new, current)
        if _content(new) == _content(current):
            return ApplyOutcome(from_record(type(resource), current), "unchanged")
        rec = self._update_txn(conn, info, current, new, slug, "update")
        return ApplyOutcome(from_record(type(resource), rec), "configured")

    def _seal_secrets_txn(
        self,
        conn: sqlite3.Connection,
        info: KindInfo,
        rec: Record,
        current: Record | None,
        *,
        importing: bool = False,
    ) -> None:
        """Seal an Environment's plaintext secrets before the record is written (see Vault)."""
        if info.kind != "Environment":
            return
        rec.id = current.id if current else rec.id
        self.vault.seal_txn(conn, rec, current, importing=importing)

    def _delete_txn(self, conn: sqlite3.Connection, info: KindInfo, rec: Record) -> None:
        records.delete_txn(conn, info.table, rec.id)
        gone = Record(**{**rec.__dict__, "version": rec.version + 1, "updated_at": timestamp(self.clock())})
        self._snapshot_txn(conn, info, gone, "delete")

    def _snapshot_txn(
        self, conn: sqlite3.Connection, info: KindInfo, rec: Record, operation: str, *, replace: bool = False
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

    def _with_status(self, resource: R, conn: sqlite3.Connection | None = None) -> R:
        """Fill status.references: each name the resource holds, resolved against the store now."""
        self._resolve_references([resource], conn)
        return resource

    def _resolve_references(
        self, resources: Sequence[Resource], conn: sqlite3.Connection | None = None
    ) -> None:
        """Resolve the references of many resources with one query per referenced kind."""
        self._sign_in_status([r for r in resources if isinstance(r, McpServer)], conn)
        found = [(res, references(res)) for res in resources if has_reference_status(kind_info(res).kind)]
        wanted: dict[str, set[str]] = {}
        for _, refs in found:
            for ref in refs:
                wanted.setdefault(ref.kind, set()).add(slugify(ref.name))
        db = conn or self.db.conn
        ids = {
            kind: records.ids_by_slug(db, kind_info(kind).table, sorted(slugs))
            for kind, slugs in wanted.items()
        }
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


def _pin_workflow(rec: Record, workflow: Record) -> None:
    """A new run of ``workflow``: its inputs checked and completed (defaults, types), and its
    version pinned, so a later apply never changes it."""
    declared = from_record(Workflow, workflow).spec.inputs
    from stigmer.resources.inputs import resolve_inputs

    rec.spec["inputs"] = resolve_inputs(declared, plain(rec.spec.get("inputs") or {}))
    if not rec.spec.get("inputs"):
        rec.spec.pop("inputs")
    if not rec.spec.get("workflowVersion"):
        rec.spec["workflowVersion"] = workflow.version


def _sealed(info: KindInfo, rec: Record) -> Record:
    seal(info.message, rec)
    return rec


def _definition_kind(info: KindInfo) -> str:
    """The definition an execution kind runs: Agent or Workflow."""
    return "Agent" if info.kind == "AgentExecution" else "Workflow"


def _drop_context_txn(conn: sqlite3.Connection, execution_id: str) -> None:
    """An execution ended: its context (and the sealed secrets in it) goes."""
    records.delete_where_txn(conn, kind_info(ExecutionContext).table, "execution_id", execution_id)


PRUNE_BATCH = 500
PRUNED_IDS_SHOWN = 1000


def _prune_batch_txn(
    conn: sqlite3.Connection, info: KindInfo, cutoff: str, after: tuple[str, str] | None, result: PruneResult
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


def _existing_executions(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    """Which of these execution ids exist (ids of no execution kind do not)."""
    found: set[str] = set()
    for info in _EXECUTION_KINDS:
        found |= retention.existing(conn, info.table, [i for i in ids if kind_of_id(i) is info])
    return found


def _finished_trees(
    conn: sqlite3.Connection, info: KindInfo, tops: list[str]
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


def _stored_status(status: dict[str, Any]) -> dict[str, Any]:
    # References are resolved on every read, never stored: they would go stale.
    return {k: v for k, v in status.items() if k != "references"}


def _missing_reference_warnings(resource: Resource) -> list[str]:
    refs = getattr(resource.status, "references", [])
    return [
        f"{r.field} refers to {r.kind} {r.name!r}, which does not exist (yet)" for r in refs if not r.resolved
    ]


def _page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must not be negative", field="page_size")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _system_slug(name: str, resource_id: str) -> str:
    # Executions are named by their id unless given a name; an id stays its own slug, so an
    # import restores the slug that create_execution wrote.
    return slugify(name) if name and name != resource_id else resource_id


SESSION_RUNS_SHOWN = 200


def _add_conversation(conn: sqlite3.Connection, session: Session) -> None:
    """A session's conversation: each run's message and answer, oldest first."""
    info = kind_info(AgentExecution)
    req = PageRequest(order="newest", limit=SESSION_RUNS_SHOWN, where={"session_ref": session.metadata.name})
    for rec in reversed(records.list_page(conn, info.table, req)):
        run = from_record(AgentExecution, rec)
        session.status.execution_ids.append(run.metadata.id)
        session.status.messages.add(role="user", content=run.spec.message)
        if run.status.output:
            session.status.messages.add(role="assistant", content=run.status.output)


def _with_metadata_of(stored: E, given: E) -> E:
    """``given`` (a writer's copy) with the stored metadata and spec: only its status counts."""
    # The two are the same message type; mypy cannot see that through the union bound of E.
    merged: Any = type(given)()
    merged.CopyFrom(given)
    merged.metadata.CopyFrom(stored.metadata)
    merged.spec.CopyFrom(stored.spec)
    return cast(E, merged)


def _execution_view(conn: sqlite3.Connection, info: KindInfo, rec: Record) -> Execution:
    """An execution as readers see it: an agent run's conversation and tool calls, and a
    workflow run's task states, come from its steps, where each is stored once."""
    execution = cast(Execution, from_record(info.message, rec))
    steps = [_step_message(s) for s in step_store.list_steps(conn, rec.id)]
    if isinstance(execution, AgentExecution):
        messages, calls = transcript(execution.spec.message, steps)
        execution.status.messages.extend(messages)
        execution.status.tool_calls.extend(calls)
    else:
        from stigmer.resources.workflow_steps import task_states

        execution.status.tasks.extend(task_states(steps))
    return execution


def _ts(value: Timestamp) -> str:
    return timestamp(value.ToDatetime(UTC)) if value.seconds or value.nanos else ""


def _step_message(rec: step_store.StepRecord) -> ExecutionStep:
    step = ExecutionStep(
        execution_id=rec.execution_id, step=rec.step, name=rec.name, status=rec.status, error=rec.error
    )
    step.input.update(rec.input)
    step.output.update(rec.output)
    step.start_time.FromJsonString(rec.started_at)
    if rec.ended_at:
        step.end_time.FromJsonString(rec.ended_at)
    return step


def _orphaned(conn: sqlite3.Connection, info: KindInfo, now: str) -> str | None:
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


def _execution_kind(execution_id: str) -> KindInfo:
    info = kind_of_id(execution_id)
    if info is None or not info.execution:
        raise NotFound(
            f"execution {execution_id!r} not found",
            hint="execution ids start with aex_ or wex_; list them with `stigmer execution list`",
        )
    return info


def _version_message(entry: versions.VersionRecord) -> ApiResourceVersion:
    message = ApiResourceVersion(api_version="agentic.stigmer.ai/v1", kind="ApiResourceVersion")
    message.metadata.id = entry.id
    message.metadata.name = f"{entry.resource_slug}@{entry.version}"
    message.metadata.version = 1
    message.metadata.create_time.FromJsonString(entry.created_at)
    spec = message.spec
    spec.resource_kind, spec.resource_id = entry.resource_kind, entry.resource_id
    spec.resource_name = str(entry.snapshot.get("metadata", {}).get("name", entry.resource_slug))
    spec.version, spec.operation = entry.version, entry.operation
    spec.snapshot.update(mask_snapshot(entry.resource_kind, entry.snapshot))
    return message


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
    message.create_time.FromJsonString(art.created_at)
    return message


__all__ = ["LocalBackend"]
