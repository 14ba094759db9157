"""The Executions part on SQLite: create, get, list, cancel, approve, watch, steps."""

from __future__ import annotations

import builtins
from collections.abc import Generator
from typing import Any, cast

from stigmer.api.agentexecution.v1.agentexecution_pb2 import AgentExecution
from stigmer.api.backend.v1.backend_pb2 import (
    ExecutionEvent,
    ExecutionStep,
)
from stigmer.api.common.v1.execution_pb2 import ExecutionPhase
from stigmer.api.workflow.v1.workflow_pb2 import Workflow
from stigmer.backend.codec import from_record, timestamp, to_record
from stigmer.backend.local.base import (
    _DEFAULT_INSTANCE,
    _EXECUTION_KINDS,
    _TERMINAL_NAMES,
    LocalStore,
    _definition_kind,
    _drop_context_txn,
    _execution_kind,
    _execution_view,
    _latest_txn,
    _page_size,
    _sealed,
    _step_message,
    _system_slug,
    _waits_for_sign_in,
    written,
)
from stigmer.backend.protocol import (
    MAX_PAGE_SIZE,
    E,
    ExecutionQuery,
    Page,
)
from stigmer.errors import AlreadyExists, Conflict, InvalidArgument
from stigmer.resources.bounds import check_limits, check_run_timeout
from stigmer.resources.elicitation import ACCEPT, check_answer
from stigmer.resources.kinds import Execution, KindInfo, kind_info
from stigmer.resources.names import new_id, validate_label_key
from stigmer.resources.provenance import stamp as stamp_trigger
from stigmer.resources.steps import APPROVAL, ELICITATION, SAMPLING, plain
from stigmer.store import fires, leases, records
from stigmer.store import steps as step_store
from stigmer.store.connection import Connection
from stigmer.store.records import PageRequest, Record

# Steps a person approves or rejects: an approval (a tool, a workflow task) and a sampling
# request of an MCP server.
DECISIONS = (APPROVAL, SAMPLING)


class LocalExecutions(LocalStore):
    """The Executions part on SQLite: create, get, list, cancel, approve, watch, steps."""

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
        fire = stamp_trigger(message, actor=self.actor)
        if isinstance(message, AgentExecution):
            check_limits(message.spec.limits, "spec.limits")
        else:
            check_run_timeout(message.spec.timeout, "spec.timeout")
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
            if fire and not fires.record_fire_txn(conn, *fire, execution_id, rec.created_at):
                raise AlreadyExists(
                    f"{fire[0].replace(':', ' ', 1)} already fired for {fire[1]} "
                    f"(execution {fires.fired_execution(conn, *fire)}); nothing was started",
                    hint="each fire time and each webhook delivery starts one run",
                )
            records.insert_txn(conn, info.table, _sealed(info, rec))
            self._snapshot_txn(conn, info, rec, "create")
        with self.db.read() as conn:
            return cast(E, _execution_view(conn, info, rec))

    def get_execution(self, execution_id: str) -> Execution:
        info = _execution_kind(execution_id)
        with self.db.read() as conn:
            return _execution_view(conn, info, self._find(conn, info, execution_id))

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
            rec = self._locked_run_txn(conn, info, execution_id)
            phase = rec.status.get("phase", "")
            if phase in _TERMINAL_NAMES:
                raise Conflict(f"execution {execution_id} is already {phase}; there is nothing to cancel")
            self._cancel_txn(conn, info, rec, timestamp(self.clock()))
            return _execution_view(conn, info, rec)

    def _cancel_txn(self, conn: Connection, info: KindInfo, rec: Record, now: str) -> None:
        """Cancel a run nobody is running (queued, or waiting for a person) now, with the child
        runs it waits for; ask a running one to stop (its runner stops its children). A run
        an engine holds is the engine's to stop: it is queued again, so that the engine learns
        of the cancel (and ends the run, its children with it)."""
        if not _latest_txn(conn, info, rec):
            return
        held = leases.is_engine(leases.lease_of(conn, info.table, rec.id)[0])
        idle = rec.status.get("phase", "") in ("PENDING", "WAITING_APPROVAL") and not held
        if idle:
            rec.status.update(phase="CANCELLED", endTime=now)
            rec.status.pop("pendingApproval", None)
            rec.status.pop("pendingInput", None)
            rec.status["error"] = {"code": "CANCELLED", "message": f"cancelled by {self.actor}"}
            _drop_context_txn(conn, rec.id)
            leases.set_lease_txn(conn, info.table, rec.id, "", "")
        rec.status["cancelRequested"] = True
        rec.version += 1
        rec.updated_at, rec.updated_by = now, self.actor
        written(
            records.update_status_txn(conn, info.table, _sealed(info, rec), expected_version=rec.version - 1)
        )
        if held:
            self._requeue_txn(conn, info, rec, now)
        if not idle:
            return
        for child_info in _EXECUTION_KINDS:
            req = PageRequest(order="newest", limit=MAX_PAGE_SIZE, where={"parent_execution_id": rec.id})
            for child in records.list_page(conn, child_info.table, req):
                if child.status.get("phase", "") not in _TERMINAL_NAMES:
                    self._cancel_txn(conn, child_info, child, now)

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

    def resolve_approval(self, execution_id: str, *, approved: bool, reason: str = "") -> Execution:
        info = _execution_kind(execution_id)
        now = timestamp(self.clock())
        decision = {"approved": approved, "reason": reason, "by": self.actor}
        with self.db.write() as conn:
            rec = self._locked_run_txn(conn, info, execution_id)
            found = self._waiting_step_txn(conn, info, rec, DECISIONS)
            self._decide_txn(conn, found, decision, now)
        return self.get_execution(execution_id)

    def respond(
        self, execution_id: str, *, action: str = ACCEPT, content: dict[str, Any] | None = None
    ) -> Execution:
        info = _execution_kind(execution_id)
        now = timestamp(self.clock())
        with self.db.write() as conn:
            rec = self._locked_run_txn(conn, info, execution_id)
            found = self._waiting_step_txn(conn, info, rec, (ELICITATION,))
            request = plain(found[2].input)
            # A URL-mode request takes no fields: the person accepts once done on its page.
            schema = request.get("requestedSchema") or {} if request.get("mode") != "url" else {}
            given = plain(content or {})
            answer: dict[str, Any] = {"action": action, "by": self.actor}
            checked = check_answer(schema, action, given, request.get("fields") or ())
            if checked:
                answer["content"] = checked
            self._decide_txn(conn, found, answer, now)
        return self.get_execution(execution_id)

    def _locked_run_txn(self, conn: Connection, info: KindInfo, execution_id: str) -> Record:
        """The run ``execution_id``, its tree and then its row locked, at its latest version."""
        self._lock_tree_txn(conn, self._find(conn, info, execution_id))
        return self._find(conn, info, execution_id, lock=True)

    def _waiting_step_txn(
        self, conn: Connection, info: KindInfo, rec: Record, names: tuple[str, ...]
    ) -> tuple[KindInfo, Record, step_store.StepRecord]:
        """The oldest step waiting for a person's decision (``names``: its prefixes) in ``rec``,
        else in the child runs it waits for (any depth), with the run that holds it.

        A run parks WAITING_APPROVAL; a workflow may be RUNNING while one of its branches
        waits, and an agent is RUNNING while its tool call is held open for an answer.

        Raises:
            Conflict: Nothing of that kind waits (what does, if anything, is named).
        """
        found = self._find_waiting_txn(conn, info, rec, names)
        if found is not None:
            return found
        signing_in = rec.status.get("pendingInput") or {}
        if signing_in.get("kind") == "sign-in":
            raise _waits_for_sign_in(rec.id, str(signing_in.get("server", "")))
        phase = rec.status.get("phase", "") or "PENDING"
        other = self._find_waiting_txn(conn, info, rec, (*DECISIONS, ELICITATION))
        if other is not None and other[2].name.startswith(ELICITATION):
            raise Conflict(
                f"execution {rec.id} waits for an answer to what an MCP server asked, not for an approval",
                hint=f"answer it: stigmer execution respond {other[1].id} --set FIELD=VALUE (or --decline)",
            )
        if other is not None:
            raise Conflict(
                f"execution {rec.id} waits for an approval, not for an answer",
                hint=f"decide it: stigmer execution approve {other[1].id}  (or reject)",
            )
        what = "an approval" if names == DECISIONS else "an answer"
        raise Conflict(
            f"execution {rec.id} is {phase}, not waiting for {what}",
            hint=f"see what it is doing: stigmer execution get {rec.id}",
        )

    def _find_waiting_txn(
        self, conn: Connection, info: KindInfo, rec: Record, names: tuple[str, ...]
    ) -> tuple[KindInfo, Record, step_store.StepRecord] | None:
        if rec.status.get("phase", "") not in ("WAITING_APPROVAL", "RUNNING"):
            return None
        for step in step_store.list_steps(conn, rec.id):
            if step.status == "waiting" and step.name.startswith(names):
                return info, rec, step
        for child_info in _EXECUTION_KINDS:
            for phase in ("WAITING_APPROVAL", "RUNNING"):
                req = PageRequest(
                    order="newest", limit=100, where={"parent_execution_id": rec.id, "phase": phase}
                )
                for child in reversed(records.list_page(conn, child_info.table, req)):
                    found = self._find_waiting_txn(conn, child_info, child, names)
                    if found is not None:
                        return found
        return None

    def _decide_txn(
        self,
        conn: Connection,
        found: tuple[KindInfo, Record, step_store.StepRecord],
        decision: dict[str, Any],
        now: str,
    ) -> None:
        """Record the decision in the waiting step; a parked run is queued to continue (a run
        that holds the call open reads it there)."""
        info, rec, step = found
        # The run's row locked, the step read again: its runner may have ended the wait meanwhile.
        _latest_txn(conn, info, rec)
        again = step_store.get(conn, rec.id, step.step)
        if again is None or again.status != "waiting":
            raise Conflict(
                f"execution {rec.id} stopped waiting at step {step.step} ({step.name}) meanwhile",
                hint=f"see what it is doing: stigmer execution get {rec.id}",
            )
        step.status, step.ended_at = "completed", now
        step.output = dict(decision)
        step_store.upsert_txn(conn, step)
        self._requeue_txn(conn, info, rec, now)

    def _instance_environment_txn(
        self, conn: Connection, info: KindInfo, rec: Record, definition: Record
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


def _pin_workflow(rec: Record, workflow: Record) -> None:
    """A new run of ``workflow``: its inputs checked and completed (defaults, types), and its
    version pinned, so a later apply never changes it."""
    declared = from_record(Workflow, workflow).spec.inputs
    from stigmer.resources.inputs import resolve_inputs  # writes only: a read needs none of it

    rec.spec["inputs"] = resolve_inputs(declared, plain(rec.spec.get("inputs") or {}))
    if not rec.spec.get("inputs"):
        rec.spec.pop("inputs")
    if not rec.spec.get("workflowVersion"):
        rec.spec["workflowVersion"] = workflow.version


__all__ = ["LocalExecutions"]
